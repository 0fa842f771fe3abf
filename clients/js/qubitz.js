// qubitz JavaScript client: an ES module for browsers and Node >= 20, no build step.
//
//   import { QubitzClient } from "./qubitz.js";
//   const client = new QubitzClient("http://127.0.0.1:8008", "qk_uct_...");
//   const job = client.research({ prompt, company_name, company_url, user_id, session_id });
//   job.on("multiagent_step", (e) => console.log(e.step, e.message));
//   for await (const event of job) { ... }      // or: const done = await job.result();
//
// Every job is a JobStream. A dropped connection is resumed on the same route with the job id and
// the last `seq` seen (exponential backoff with jitter between tries); events already delivered
// (seq <= last seen) are dropped, so none is lost or duplicated. `job.cancel()` sends
// {"type": "cancel"}. The stream starts on the next microtask after it is created, so handlers
// registered synchronously with `.on()` see every event.
//
// Node 22 and browsers have a global WebSocket. Without one (Node 20), the `ws` package is used
// if it is installed (`npm install qubitz-client ws`); or run Node 20 with --experimental-websocket,
// or pass a constructor: new QubitzClient(url, key, { WebSocket }).

/** Event types that end a job successfully, per endpoint. */
export const TERMINAL_SUCCESS = Object.freeze({
  research: ["complete"],
  chat: ["chat_complete"],
  getspec: ["architecture"],
  updatespec: ["architecture"],
  deploy: ["complete"],
  createapikey: ["api_key_created"],
  deleteapikey: ["api_key_deleted"],
});

const ERROR_TYPES = new Set(["error", "chat_error"]);
// Close codes after which the job may still be running: resume it.
const RESUMABLE = new Set([1001, 1006, 1011, 1012, 1013]);

// ------------------------------------------------------------------------------------------------
// Errors
//
// QubitzClientError
// ├── AuthError            close 1008: key missing, invalid, revoked, or wrong scope
// ├── ValidationError      close 1007: invalid payload, or unknown job on resume
// ├── MessageTooLarge      close 1009
// ├── Overloaded           close 1013 (rate limited) before a job started
// ├── ConnectionLost       the connection failed and could not be resumed
// └── JobFailed            the job ended with an error event (`.code`, `.event`)
//     ├── TokenLimitExceeded   TOKEN_LIMIT_EXCEEDED
//     └── Cancelled            the job was cancelled

export class QubitzClientError extends Error {
  constructor(message, { event = null, closeCode = null, code = null } = {}) {
    super(message);
    this.name = new.target.name;
    this.event = event;
    this.closeCode = closeCode;
    this.code = code;
  }
}
export class AuthError extends QubitzClientError {}
export class ValidationError extends QubitzClientError {}
export class MessageTooLarge extends QubitzClientError {}
export class Overloaded extends QubitzClientError {}
export class ConnectionLost extends QubitzClientError {}
export class JobFailed extends QubitzClientError {}
export class TokenLimitExceeded extends JobFailed {}
export class Cancelled extends JobFailed {}

// ------------------------------------------------------------------------------------------------
// Event helpers (events are plain JSON objects as received)

/** The error code of an error event ("" for other events). */
export function errorCode(event) {
  return String(event?.error ?? event?.data?.error ?? "");
}

/** The human-readable message of any event ("" when it has none). */
export function eventMessage(event) {
  return String(event?.message ?? event?.data?.message ?? "");
}

/** Streamed text carried by chunk events ("" for others). */
export function eventText(event) {
  if (event?.type === "chat_chunk") return String(event.chunk ?? "");
  if (event?.type === "stream_chunk") return String(event.data?.chunk ?? "");
  return "";
}

/** progress_percent of deploy `status` or research `multiagent_progress` events, else null. */
export function progressPercent(event) {
  const value = event?.data?.progress_percent ?? event?.progress_percent;
  return typeof value === "number" ? value : null;
}

export function isErrorEvent(event) {
  return ERROR_TYPES.has(event?.type);
}

function errorFor(event) {
  const code = errorCode(event);
  const message = eventMessage(event) || code || "the job failed";
  const upper = code.toUpperCase();
  const cls =
    upper === "TOKEN_LIMIT_EXCEEDED" ? TokenLimitExceeded : upper === "CANCELLED" ? Cancelled : JobFailed;
  return new cls(message, { event, code });
}

// ------------------------------------------------------------------------------------------------
// Backoff

/** Reconnection delays: exponential with jitter, bounded in count. */
export class Backoff {
  constructor({ initial = 0.5, factor = 2, maximum = 10, attempts = 8 } = {}) {
    Object.assign(this, { initial, factor, maximum, attempts });
  }

  /** Delays in seconds. */
  *delays() {
    let delay = this.initial;
    for (let i = 0; i < this.attempts; i++) {
      yield delay * (0.5 + Math.random() / 2);
      delay = Math.min(this.maximum, delay * this.factor);
    }
  }
}

function wsBase(baseUrl) {
  const base = String(baseUrl).replace(/\/+$/, "");
  if (base.startsWith("http://")) return "ws://" + base.slice(7);
  if (base.startsWith("https://")) return "wss://" + base.slice(8);
  return base;
}

// The optional `ws` package, for runtimes without a global WebSocket (Node 20). The specifier is
// a variable so that bundlers for the browser leave it alone.
const WS_PACKAGE = "ws";
async function loadWs() {
  try {
    const mod = await import(WS_PACKAGE);
    return mod.WebSocket ?? mod.default ?? null;
  } catch {
    return null; // _open() reports the missing implementation
  }
}

const sleep = (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000));

function decode(data) {
  if (typeof data === "string") return data;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return new TextDecoder().decode(data);
  return String(data);
}

// ------------------------------------------------------------------------------------------------
// JobStream

export class JobStream {
  /**
   * @param {QubitzClient} client
   * @param {string} endpoint
   * @param {object|null} payload   the request; null to resume `jobId`
   */
  constructor(client, endpoint, payload, { jobId = null, since = 0 } = {}) {
    this.client = client;
    this.endpoint = endpoint;
    this.jobId = jobId;
    this.lastSeq = since;
    this.final = null;
    this.error = null;
    this.reconnects = 0;
    this.done = false;
    this._payload = payload;
    this._ws = null;
    this._handlers = new Map();
    this._buffer = [];
    this._wakeup = null;
    this._iterated = false;
    this._failure = null;
    this._cancelRequested = false;
    this._result = new Promise((resolve, reject) => {
      this._resolve = resolve;
      this._reject = reject;
    });
    this._result.catch(() => {}); // surfaced through result() / iteration, never unhandled
    queueMicrotask(() => this._run());
  }

  /** Call `handler(event)` for each event of `type` ("*" for every event). Returns this. */
  on(type, handler) {
    if (!this._handlers.has(type)) this._handlers.set(type, []);
    this._handlers.get(type).push(handler);
    return this;
  }

  /** Resolves with the job's final event; rejects with JobFailed (or a subclass) or a
   * connection error (AuthError, ValidationError, ConnectionLost, ...). */
  result() {
    return this._result;
  }

  /** Ask the server to cancel this job (idempotent). */
  async cancel() {
    this._cancelRequested = true;
    const message = JSON.stringify({ type: "cancel" });
    if (this._ws && this._ws.readyState === 1) {
      this._ws.send(message);
      return;
    }
    if (this.done) return;
    if (this.jobId === null) {
      // Not connected yet: the cancel is sent as soon as the job id is known.
      return;
    }
    await this.client.webSocketReady();
    const ws = this._open(this._url());
    await new Promise((resolve, reject) => {
      ws.onopen = () => {
        ws.send(message);
        ws.close(1000);
        resolve();
      };
      ws.onerror = () => reject(new ConnectionLost("could not connect to cancel the job"));
    });
  }

  async *[Symbol.asyncIterator]() {
    if (this._iterated) throw new Error("a JobStream can be iterated once");
    this._iterated = true;
    while (true) {
      if (this._buffer.length) {
        yield this._buffer.shift();
        continue;
      }
      if (this.done) {
        if (this._failure) throw this._failure;
        return;
      }
      await new Promise((resolve) => (this._wakeup = resolve));
    }
  }

  // -- internals ---------------------------------------------------------------------------------

  _url() {
    const query = new URLSearchParams({ api_key: this.client.apiKey });
    if (this.jobId !== null) {
      query.set("job_id", this.jobId);
      query.set("since", String(this.lastSeq));
    }
    return `${this.client.wsBase}/${this.endpoint}?${query}`;
  }

  _open(url) {
    const Ctor = this.client.WebSocket;
    if (!Ctor) {
      throw new QubitzClientError(
        "no WebSocket implementation: install the 'ws' package, run Node 20 with --experimental-websocket, or pass { WebSocket } to QubitzClient",
      );
    }
    return new Ctor(url);
  }

  _wake() {
    const wake = this._wakeup;
    this._wakeup = null;
    if (wake) wake();
  }

  _emit(event) {
    this._buffer.push(event);
    this._wake();
    for (const key of [event.type, "*"]) {
      for (const handler of this._handlers.get(key) ?? []) {
        try {
          handler(event);
        } catch (err) {
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    }
  }

  _finish(failure) {
    this.done = true;
    this._failure = failure;
    if (failure) this._reject(failure);
    else if (this.error) this._reject(errorFor(this.error));
    else if (this.final) this._resolve(this.final);
    else this._reject(new JobFailed("the job ended without its final event", { code: "incomplete" }));
    this._wake();
  }

  /** One connection: resolves with { code, lastError } when it closes. */
  _connectOnce() {
    return new Promise((resolve) => {
      let ws;
      try {
        ws = this._open(this._url());
      } catch (err) {
        resolve({ code: null, lastError: null, fatal: err });
        return;
      }
      let lastError = null;
      let settled = false;
      let fallback = null;
      const settle = (code, reason) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(fallback);
        if (this._ws === ws) this._ws = null;
        resolve({ code, reason, lastError });
      };
      const timer = setTimeout(() => {
        if (ws.readyState !== 0) return;
        try {
          ws.close();
        } catch {
          // already failing
        }
        settle(1006, "timed out opening the connection");
      }, this.client.openTimeout * 1000);
      ws.onopen = () => {
        clearTimeout(timer);
        this._ws = ws;
        if (this.jobId === null && this._payload !== null) ws.send(JSON.stringify(this._payload));
      };
      ws.onmessage = (message) => {
        let event;
        try {
          event = JSON.parse(decode(message.data));
        } catch {
          return; // not ours to interpret
        }
        if (event === null || typeof event !== "object") return;
        if (event.job_id && this.jobId === null) {
          this.jobId = event.job_id;
          if (this._cancelRequested) ws.send(JSON.stringify({ type: "cancel" }));
        }
        if (typeof event.seq === "number") {
          if (event.seq <= this.lastSeq) return; // delivered before a reconnect
          this.lastSeq = event.seq;
          this._delays = null; // progress: the next failure starts the backoff again
          if (isErrorEvent(event)) this.error = event;
          else if ((TERMINAL_SUCCESS[this.endpoint] ?? []).includes(event.type)) this.final = event;
        } else if (isErrorEvent(event)) {
          lastError = event; // a connection-level error, followed by its close code
        }
        this._emit(event);
      };
      ws.onclose = (close) => settle(close.code ?? 1006, close.reason ?? "");
      ws.onerror = () => {
        // A close event should follow (1006 when the connection failed); some implementations
        // (Node 20's experimental WebSocket) skip it when the connection is refused.
        fallback = setTimeout(() => settle(1006, "connection failed"), 250);
      };
    });
  }

  _raiseFor(code, lastError, reason) {
    const message = lastError ? eventMessage(lastError) : reason || `connection closed with ${code}`;
    const opts = { event: lastError, closeCode: code, code: lastError ? errorCode(lastError) : null };
    if (code === 1008) return new AuthError(message, opts);
    if (code === 1007) return new ValidationError(message, opts);
    if (code === 1009) return new MessageTooLarge(message, opts);
    if (code === 1013 && lastError && this.jobId === null && errorCode(lastError).toLowerCase() === "rate_limited") {
      return new Overloaded(message, opts);
    }
    if (code === 1011 && lastError && this.jobId === null) return new QubitzClientError(message, opts);
    if (code !== null && !RESUMABLE.has(code)) return new QubitzClientError(message, opts);
    return null;
  }

  async _run() {
    this._delays = null;
    await this.client.webSocketReady();
    while (true) {
      const { code, lastError, reason, fatal } = await this._connectOnce();
      if (fatal) return this._finish(fatal);
      // The job's own terminal event ends the stream whatever the close code.
      if (code === 1000 || this.error || this.final) return this._finish(null);
      const failure = this._raiseFor(code, lastError, reason);
      if (failure) return this._finish(failure);
      if (!this._delays) this._delays = this.client.backoff.delays();
      const next = this._delays.next();
      if (next.done) {
        return this._finish(
          new ConnectionLost(`connection to /${this.endpoint} lost and could not be resumed`, {
            closeCode: code,
          }),
        );
      }
      this.reconnects += 1;
      await sleep(next.value);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// QubitzClient

const dropUndefined = (payload) =>
  Object.fromEntries(Object.entries(payload ?? {}).filter(([, v]) => v !== undefined && v !== null));

export class QubitzClient {
  /**
   * @param {string} baseUrl   http(s):// or ws(s):// base of the service
   * @param {string} apiKey    qk_uct_... (research, chat) or qk_ch_... (the others)
   * @param {{WebSocket?: any, backoff?: Backoff|object, openTimeout?: number}} options
   */
  constructor(baseUrl, apiKey, { WebSocket: Ctor, backoff, openTimeout = 10 } = {}) {
    this.wsBase = wsBase(baseUrl);
    this.apiKey = apiKey;
    this.WebSocket = Ctor ?? globalThis.WebSocket;
    this.backoff = backoff instanceof Backoff ? backoff : new Backoff(backoff ?? {});
    this.openTimeout = openTimeout;
    this._wsLoading = null;
  }

  /** Resolves once a WebSocket constructor is known: the given or global one, else `ws`'s. */
  webSocketReady() {
    if (this.WebSocket) return Promise.resolve();
    this._wsLoading ??= loadWs().then((Ctor) => {
      this.WebSocket ??= Ctor;
    });
    return this._wsLoading;
  }

  /** A job on any endpoint. */
  stream(endpoint, payload) {
    return new JobStream(this, endpoint, dropUndefined(payload));
  }

  /** Re-attach to a job (events after `since`, then live). */
  resume(endpoint, jobId, since = 0) {
    return new JobStream(this, endpoint, null, { jobId, since });
  }

  research(payload) {
    return this.stream("research", payload);
  }
  chat(payload) {
    return this.stream("chat", payload);
  }
  getSpec(payload) {
    return this.stream("getspec", payload);
  }
  updateSpec(payload) {
    return this.stream("updatespec", payload);
  }
  deploy(payload) {
    return this.stream("deploy", payload);
  }
  createApiKey(payload) {
    return this.stream("createapikey", payload);
  }
  deleteApiKey(payload) {
    return this.stream("deleteapikey", payload);
  }
}

/** The scope a key is for, from its prefix: "uct", "ch", or null. */
export function keyScope(apiKey) {
  if (typeof apiKey !== "string") return null;
  if (apiKey.startsWith("qk_uct_")) return "uct";
  if (apiKey.startsWith("qk_ch_")) return "ch";
  return null;
}
