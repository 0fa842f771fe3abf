// The JS client against a server that allows one connection per key per minute (burst 1) and
// one running job (started by tests/js/test_js_client.py). Env: QUBITZ_URL, QUBITZ_UCT_KEY.

import assert from "node:assert/strict";
import { test } from "node:test";

import { Overloaded, QubitzClient } from "../../clients/js/qubitz.js";

test("a rate-limited connection (1013 rate_limited) is Overloaded, not retried forever", async () => {
  const client = new QubitzClient(process.env.QUBITZ_URL, process.env.QUBITZ_UCT_KEY, {
    backoff: { initial: 0.01, attempts: 3 },
  });
  const payload = (prompt) => ({ prompt, company_name: "C", company_url: "https://c.example/", user_id: "u", session_id: "s" });
  const first = client.research(payload("many:2"));
  const events = [];
  for await (const event of first) events.push(event);
  assert.equal(events.length, 2);
  const second = client.research(payload("many:2"));
  await assert.rejects(second.result(), (err) => {
    assert.ok(err instanceof Overloaded, String(err));
    assert.equal(err.closeCode, 1013);
    assert.equal(err.code.toLowerCase(), "rate_limited"); // RATE_LIMITED on flat endpoints
    return true;
  });
  assert.equal(second.reconnects, 0);
});
