// The npm package as a user gets it: installed from the `npm pack` tarball into a fresh folder
// (by tests/js/test_js_package.py) and imported by its name, against a running qubitz server.
// Env: QUBITZ_URL, QUBITZ_UCT_KEY, QUBITZ_CH_KEY, QUBITZ_EXPECT_VERSION.

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";

import { AuthError, JobFailed, QubitzClient, TERMINAL_SUCCESS } from "qubitz-client";

const URL_ = process.env.QUBITZ_URL;
const research = (prompt) => ({
  prompt,
  company_name: "TestCompany",
  company_url: "https://example.com/",
  user_id: "user123",
  session_id: "s1",
});

test("the installed package has the service's version and its own metadata", () => {
  const pkg = createRequire(import.meta.url)("qubitz-client/package.json");
  assert.equal(pkg.version, process.env.QUBITZ_EXPECT_VERSION);
  assert.equal(pkg.types, "./qubitz.d.ts");
  assert.deepEqual(Object.keys(TERMINAL_SUCCESS).sort(), [
    "chat", "createapikey", "deleteapikey", "deploy", "getspec", "research", "updatespec",
  ]);
});

test("a research job streams to its complete event (WebSocket found without any flag)", async () => {
  const client = new QubitzClient(URL_, process.env.QUBITZ_UCT_KEY);
  const job = client.research(research("Latest AI trends"));
  const types = [];
  for await (const event of job) types.push(event.type);
  const done = await job.result();
  assert.equal(done.type, "complete");
  assert.ok(done.s3_deep_research_report_url.includes("/artifacts/"));
  assert.ok(types.includes("multiagent_step") && types.at(-1) === "complete", types.join(","));
  assert.ok(client.WebSocket, "a WebSocket implementation was picked up");
});

test("a failing job rejects with JobFailed, a bad key with AuthError", async () => {
  const client = new QubitzClient(URL_, process.env.QUBITZ_UCT_KEY);
  await assert.rejects(client.research(research("please fail")).result(), JobFailed);
  const wrong = new QubitzClient(URL_, process.env.QUBITZ_CH_KEY);
  await assert.rejects(wrong.research(research("x")).result(), AuthError);
});

test("a spec job ends with its architecture", async () => {
  const client = new QubitzClient(URL_, process.env.QUBITZ_CH_KEY);
  const spec = await client
    .getSpec({ user_id: "u", project_id: "pkg1", use_case_name: "Triage", use_case_description: "Route tickets" })
    .result();
  assert.equal(spec.type, "architecture");
  assert.ok(Object.keys(spec.data.architecture.agents_config).length > 0);
});
