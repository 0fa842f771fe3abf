// Type declarations for qubitz.js (the qubitz WebSocket API client). The message types are in
// protocol.d.ts, generated from the service's /asyncapi.json (scripts/generate-types.mjs).

import type { AnyEvent, Endpoint, Events, Requests } from "./protocol.js";

export * from "./protocol.js";

/** Any server event, also one of a type this version does not know: the reference's fields plus
 * `job_id` and `seq` (absent on keepalives). The typed events are in `Events` per endpoint. */
export interface QubitzEvent {
  type: string;
  job_id?: string;
  seq?: number;
  session_id?: string | null;
  message?: string | null;
  data?: Record<string, any>;
  [key: string]: any;
}

export declare const TERMINAL_SUCCESS: Readonly<Record<Endpoint, readonly string[]>>;

export interface ErrorOptions {
  event?: QubitzEvent | null;
  closeCode?: number | null;
  code?: string | null;
}

export declare class QubitzClientError extends Error {
  constructor(message: string, options?: ErrorOptions);
  /** The error event that came with the failure, if any. */
  event: QubitzEvent | null;
  /** The WebSocket close code, for connection-level failures. */
  closeCode: number | null;
  /** The error event's `error` code (e.g. "TOKEN_LIMIT_EXCEEDED", "no_architecture"). */
  code: string | null;
}
/** Close 1008: the key is missing, invalid, revoked, or has the wrong scope. */
export declare class AuthError extends QubitzClientError {}
/** Close 1007: the payload is invalid, or the job to resume is unknown. */
export declare class ValidationError extends QubitzClientError {}
/** Close 1009. */
export declare class MessageTooLarge extends QubitzClientError {}
/** Close 1013 (rate limited) before a job started. */
export declare class Overloaded extends QubitzClientError {}
/** The connection failed and could not be resumed within the backoff budget. */
export declare class ConnectionLost extends QubitzClientError {}
/** The job ended with an error event. */
export declare class JobFailed extends QubitzClientError {}
export declare class TokenLimitExceeded extends JobFailed {}
export declare class Cancelled extends JobFailed {}

export interface BackoffOptions {
  /** First delay in seconds (default 0.5). */
  initial?: number;
  factor?: number;
  /** Largest delay in seconds (default 10). */
  maximum?: number;
  /** Reconnection attempts without progress before ConnectionLost (default 8). */
  attempts?: number;
}

export declare class Backoff implements Required<BackoffOptions> {
  constructor(options?: BackoffOptions);
  initial: number;
  factor: number;
  maximum: number;
  attempts: number;
  delays(): Generator<number, void, void>;
}

/** A WebSocket constructor (the browser's, Node 22's global, or the `ws` package's). */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: { data: any }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface ClientOptions {
  WebSocket?: WebSocketConstructor;
  backoff?: Backoff | BackoffOptions;
  /** Seconds to wait for a connection to open (default 10). */
  openTimeout?: number;
}

/** A job's events; `E` is the union of its endpoint's event types (e.g. `research.Event`). */
export declare class JobStream<E extends { type: string } = QubitzEvent> implements AsyncIterable<E> {
  readonly client: QubitzClient;
  readonly endpoint: Endpoint | string;
  /** Known after the first event. */
  jobId: string | null;
  /** The highest `seq` delivered. */
  lastSeq: number;
  /** The terminal success event, once received. */
  final: E | null;
  /** The error event, once received. */
  error: E | null;
  /** How many times the connection was re-established. */
  reconnects: number;
  done: boolean;
  /** Call `handler` for each event of `type`, narrowed to that type. */
  on<T extends E["type"]>(type: T, handler: (event: Extract<E, { type: T }>) => void): this;
  /** Call `handler` for every event. */
  on(type: "*", handler: (event: E) => void): this;
  /** The final event; rejects with JobFailed/TokenLimitExceeded/Cancelled or a connection error. */
  result(): Promise<E>;
  /** Ask the server to cancel the job (idempotent). */
  cancel(): Promise<void>;
  [Symbol.asyncIterator](): AsyncIterator<E>;
}

export declare class QubitzClient {
  constructor(baseUrl: string, apiKey: string, options?: ClientOptions);
  readonly wsBase: string;
  apiKey: string;
  backoff: Backoff;
  openTimeout: number;
  /** The WebSocket constructor in use (given, global, or the `ws` package's once loaded). */
  WebSocket: WebSocketConstructor | undefined;
  /** Resolves once a WebSocket constructor is known (loads `ws` if there is no global one). */
  webSocketReady(): Promise<void>;
  /** A job on any endpoint: typed for the endpoints of this version, loose for others. */
  stream<N extends Endpoint>(endpoint: N, payload: Requests[N]): JobStream<Events[N]>;
  stream(endpoint: string, payload: Record<string, any>): JobStream;
  resume<N extends Endpoint>(endpoint: N, jobId: string, since?: number): JobStream<Events[N]>;
  resume(endpoint: string, jobId: string, since?: number): JobStream;
  research(payload: Requests["research"]): JobStream<Events["research"]>;
  chat(payload: Requests["chat"]): JobStream<Events["chat"]>;
  getSpec(payload: Requests["getspec"]): JobStream<Events["getspec"]>;
  updateSpec(payload: Requests["updatespec"]): JobStream<Events["updatespec"]>;
  deploy(payload: Requests["deploy"]): JobStream<Events["deploy"]>;
  createApiKey(payload: Requests["createapikey"]): JobStream<Events["createapikey"]>;
  deleteApiKey(payload: Requests["deleteapikey"]): JobStream<Events["deleteapikey"]>;
}

export declare function errorCode(event: QubitzEvent | AnyEvent): string;
export declare function eventMessage(event: QubitzEvent | AnyEvent): string;
export declare function eventText(event: QubitzEvent | AnyEvent): string;
export declare function progressPercent(event: QubitzEvent | AnyEvent): number | null;
export declare function isErrorEvent(event: QubitzEvent | AnyEvent): boolean;
/** "uct" for qk_uct_ keys, "ch" for qk_ch_ keys, else null. */
export declare function keyScope(apiKey: string): "uct" | "ch" | null;
