// The JS client against a running qubitz server (started by tests/js/test_js_client.py).
// Env: QUBITZ_URL, QUBITZ_UCT_KEY, QUBITZ_CH_KEY.

import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";

import {
  AuthError,
  Backoff,
  Cancelled,
  ConnectionLost,
  JobFailed,
  QubitzClient,
  TokenLimitExceeded,
  ValidationError,
  eventText,
  progressPercent,
} from "../../clients/js/qubitz.js";

const URL_ = process.env.QUBITZ_URL;
const UCT = process.env.QUBITZ_UCT_KEY;
const CH = process.env.QUBITZ_CH_KEY;
const fast = new Backoff({ initial: 0.02, maximum: 0.1, attempts: 6 });

const research = (prompt, extra = {}) => ({
  prompt,
  company_name: "TestCompany",
  company_url: "https://example.com/",
  user_id: "user123",
  session_id: "s1",
  ...extra,
});

async function collect(stream) {
  const events = [];
  for await (const event of stream) events.push(event);
  return events;
}

function assertSeqs(events, count) {
  const seqs = events.filter((e) => typeof e.seq === "number").map((e) => e.seq);
  assert.deepEqual(seqs, Array.from({ length: count ?? seqs.length }, (_, i) => i + 1));
}

/** A TCP proxy to the server that cuts its first connection after `cutAfter` bytes from the
 * server (a network drop: the client sees close 1006). Later connections pass through. */
async function cuttingProxy(cutAfter) {
  const target = new URL(URL_);
  let connections = 0;
  const server = net.createServer((client) => {
    const index = connections++;
    const upstream = net.connect(Number(target.port), target.hostname);
    let seen = 0;
    upstream.on("data", (chunk) => {
      seen += chunk.length;
      if (index === 0 && seen > cutAfter) {
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on("data", (chunk) => upstream.write(chunk));
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    get connections() {
      return connections;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

test("research streams every event once, in seq order, and result() resolves to complete", async () => {
  const client = new QubitzClient(URL_, UCT);
  const steps = [];
  const job = client.research(research("AI in logistics")).on("multiagent_step", (e) => steps.push(e.step));
  const events = await collect(job);
  const final = await job.result();
  assert.equal(final.type, "complete");
  assert.equal(events.at(-1), final);
  assertSeqs(events);
  assert.ok(events.every((e) => e.job_id === job.jobId));
  assert.deepEqual(steps, ["planning", "research", "writing", "analysis", "use_cases", "render"]);
  assert.match(final.s3_deep_research_report_url, /^http:\/\/127\.0\.0\.1:\d+\/artifacts\/.+deep_research\.md\?expires=\d+&sig=[0-9a-f]{64}$/);
  const progress = events.map(progressPercent).filter((p) => p !== null);
  assert.equal(progress.at(-1), 100);
  const useCases = events.find((e) => e.type === "use_cases_complete");
  assert.equal(useCases.total_use_cases, useCases.use_cases.length);
});

test("chat streams chunks that concatenate to the answer", async () => {
  const client = new QubitzClient(URL_, UCT);
  const job = client.chat({
    messages: [{ role: "user", content: "Summarise" }],
    report: "# Report\n\nText.",
    user_id: "u",
    session_id: "chat1",
  });
  let text = "";
  job.on("chat_chunk", (e) => (text += eventText(e)));
  const final = await job.result();
  assert.equal(final.type, "chat_complete");
  assert.equal(text, "The **report** highlights three areas (from inline report).");
  assert.equal(final.session_info.token_usage.limit, 250000);
});

test("a wrong-scope key and an unknown key are AuthError with close code 1008", async () => {
  const wrongScope = new QubitzClient(URL_, UCT).getSpec({ user_id: "u", project_id: "p", use_case_name: "n", use_case_description: "d" });
  await assert.rejects(wrongScope.result(), (err) => err instanceof AuthError && err.closeCode === 1008);
  const unknown = new QubitzClient(URL_, "qk_uct_notarealkey").research(research("x"));
  await assert.rejects(collect(unknown), (err) => err instanceof AuthError && err.closeCode === 1008);
});

test("an invalid payload is a ValidationError (1007) naming the field", async () => {
  const job = new QubitzClient(URL_, UCT).research({ prompt: "x", user_id: "u", session_id: "s", company_url: "https://e.com" });
  await assert.rejects(job.result(), (err) => {
    assert.ok(err instanceof ValidationError);
    assert.equal(err.closeCode, 1007);
    assert.match(err.message, /company_name/);
    return true;
  });
});

test("an error event rejects result() with JobFailed carrying its code; iteration ends normally", async () => {
  const job = new QubitzClient(URL_, UCT).research(research("please fail"));
  const events = await collect(job);
  assert.equal(events.at(-1).type, "error");
  await assert.rejects(job.result(), (err) => err instanceof JobFailed && err.code === "PIPELINE_FAILED" && /research/.test(err.message));
  const chat = new QubitzClient(URL_, UCT).chat({ messages: [{ role: "user", content: "over the limit" }], report: "r", user_id: "u", session_id: "c" });
  await assert.rejects(chat.result(), (err) => err instanceof TokenLimitExceeded && err.code === "TOKEN_LIMIT_EXCEEDED");
  const deploy = new QubitzClient(URL_, CH).deploy({ user_id: "u", project_id: "never-specced" });
  await assert.rejects(deploy.result(), (err) => err instanceof JobFailed && err.code === "no_architecture");
});

test("cancel() ends a running job with Cancelled", async () => {
  const job = new QubitzClient(URL_, UCT).research(research("slow job"));
  job.on("multiagent_step", () => job.cancel());
  await assert.rejects(job.result(), (err) => err instanceof Cancelled && err.code.toUpperCase() === "CANCELLED");
  assert.equal(job.error.type, "error");
});

test("a dropped connection is resumed from the last seq: no event lost or duplicated", async () => {
  const proxy = await cuttingProxy(700);
  try {
    const job = new QubitzClient(proxy.url, UCT, { backoff: fast }).research(research("many:25"));
    const events = await collect(job);
    assert.ok(job.reconnects >= 1, "the connection was cut and re-established");
    assert.ok(proxy.connections >= 2);
    const ticks = events.filter((e) => e.type === "status").map((e) => e.message);
    assert.deepEqual(ticks, Array.from({ length: 25 }, (_, i) => `tick ${i + 1}`));
    assertSeqs(events, 25);
  } finally {
    await proxy.close();
  }
});

test("events replayed again by the server (seq <= last seen) are dropped", async () => {
  const proxy = await cuttingProxy(700);
  const opened = [];
  // A WebSocket that asks for everything again on resume (since=0), as a lagging replica might.
  class Replaying extends WebSocket {
    constructor(url) {
      const u = new URL(url);
      if (u.searchParams.has("since")) u.searchParams.set("since", "0");
      opened.push(u.href);
      super(u.href);
    }
  }
  try {
    const job = new QubitzClient(proxy.url, UCT, { backoff: fast, WebSocket: Replaying }).research(research("many:20"));
    const events = await collect(job);
    assert.ok(opened.length >= 2 && opened.slice(1).every((u) => u.includes("since=0")));
    assertSeqs(events, 20);
  } finally {
    await proxy.close();
  }
});

test("resume() replays the events after `since` and ends with the final event", async () => {
  const client = new QubitzClient(URL_, UCT);
  const first = client.research(research("AI in retail"));
  const all = await collect(first);
  const resumed = await collect(client.resume("research", first.jobId, 3));
  assert.deepEqual(resumed.map((e) => e.seq), all.slice(3).map((e) => e.seq));
  assert.equal(resumed.at(-1).type, "complete");
  await assert.rejects(client.resume("research", "job_unknown").result(), ValidationError);
});

test("an unreachable server gives ConnectionLost after the backoff budget", async () => {
  const closed = net.createServer();
  await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = closed.address().port;
  await new Promise((resolve) => closed.close(resolve));
  const job = new QubitzClient(`http://127.0.0.1:${port}`, UCT, { backoff: { initial: 0.01, attempts: 2 } }).research(research("x"));
  await assert.rejects(job.result(), ConnectionLost);
  assert.equal(job.reconnects, 2);
});

test("spec, update with diff, deploy with progress, and app keys end to end", async () => {
  const client = new QubitzClient(URL_, CH);
  const base = { user_id: "u", project_id: "js-project" };
  const spec = await client.getSpec({ ...base, use_case_name: "Support", use_case_description: "Triage tickets" }).result();
  assert.deepEqual(Object.keys(spec.data.architecture.agents_config), ["research_agent", "analysis_agent", "writer_agent"]);
  const updated = await client.updateSpec({ ...base, user_input: "add a security agent" }).result();
  assert.deepEqual(updated.data.diff.added, ["/agents_config/security_agent"]);
  assert.equal(updated.data.version, spec.data.version + 1);
  const percents = [];
  const deploy = client.deploy(base).on("status", (e) => percents.push(progressPercent(e)));
  const done = await deploy.result();
  assert.equal(done.type, "complete");
  assert.deepEqual(percents, [10, 40, 65, 90]);
  const created = await client.createApiKey({ ...base, key_name: "k" }).result();
  assert.ok(created.data.api_key_value.length > 10);
  const deleted = await client.deleteApiKey({ ...base, api_key_id: created.data.api_key_id, usage_plan_id: created.data.usage_plan_id }).result();
  assert.equal(deleted.data.api_key_id, created.data.api_key_id);
  await assert.rejects(
    client.deleteApiKey({ ...base, api_key_id: created.data.api_key_id }).result(),
    (err) => err instanceof JobFailed && err.code === "not_found",
  );
});

test("a JobStream can be iterated only once; handlers for '*' see every event", async () => {
  const job = new QubitzClient(URL_, UCT).research(research("many:3"));
  const seen = [];
  job.on("*", (e) => seen.push(e.seq));
  const events = await collect(job);
  assert.deepEqual(seen, events.map((e) => e.seq));
  await assert.rejects(async () => {
    for await (const _ of job) break;
  }, /iterated once/);
});
