// ControlHub tabs: generate and update a spec, deploy it, manage the deployed app's API keys.

import { eventMessage, eventText, progressPercent } from "/js/qubitz.js";
import { $, describeError, h, link, setError, setState, show } from "./dom.js";
import { jsonDiff, renderAgents, renderDiff, renderGraph } from "./spec-view.js";
import { followed, state } from "./state.js";

// -- spec ----------------------------------------------------------------------------------------

export function initSpec(ctx) {
  const form = $("spec-form");
  const update = $("update-form");
  if (state.spec) showSpec(state.spec, null);

  async function run(kind, payload) {
    const project = ctx.requireProject($("spec-error"));
    show($("spec-live"));
    if (!project) return;
    setError($("spec-error"), "");
    setState($("spec-state"), "running");
    $("spec-stream").textContent = "";
    $("spec-generate").disabled = $("spec-update").disabled = true;
    const before = state.spec?.architecture ?? null;
    try {
      const client = ctx.client("ch");
      const base = { user_id: ctx.userId, project_id: project };
      const job = kind === "update" ? client.updateSpec({ ...base, ...payload }) : client.getSpec({ ...base, ...payload });
      job.on("stream_chunk", (e) => ($("spec-stream").textContent += eventText(e)));
      job.on("stream_start", (e) => ($("spec-stream").textContent = `${eventMessage(e)} (${e.data?.model ?? ""})\n`));
      const done = await job.result();
      setState($("spec-state"), "complete");
      const data = done.data;
      const diff = kind === "update" ? data.diff ?? (before ? jsonDiff(before, data.architecture) : null) : null;
      state.spec = data;
      showSpec(data, diff);
      if (kind === "update") update.reset();
    } catch (err) {
      setState($("spec-state"), "failed");
      setError($("spec-error"), describeError(err));
    } finally {
      $("spec-generate").disabled = $("spec-update").disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    run("generate", {
      use_case_name: data.get("use_case_name").trim(),
      use_case_description: data.get("use_case_description").trim(),
      s3_uri: data.get("s3_uri").trim() || undefined,
    });
  });
  update.addEventListener("submit", (event) => {
    event.preventDefault();
    run("update", { user_input: new FormData(update).get("user_input").trim() });
  });
}

function showSpec(data, diff) {
  show($("spec-view"));
  $("spec-version").textContent = data.version ? `v${data.version}` : "";
  setState($("spec-status"), data.status ?? "pending");
  renderDiff($("spec-diff"), diff);
  renderAgents($("spec-agents").tBodies[0], data.architecture, diff);
  renderGraph($("spec-graph"), data.architecture);
  $("spec-json").textContent = JSON.stringify(data.architecture, null, 2);
}

// -- deploy --------------------------------------------------------------------------------------

const DEPLOY_KEEP = new Set(["ack", "status", "deployment_started", "deployment_complete", "error"]);

export function initDeploy(ctx) {
  const form = $("deploy-form");
  let current = null;

  /** Show `job` (new, or resumed after `saved.lastSeq` with `saved.events` redrawn). */
  async function follow(job, saved = null) {
    current = job;
    show($("deploy-live"));
    setError($("deploy-error"), "");
    setState($("deploy-state"), "running");
    setProgress(0, "Starting…");
    $("deploy-log").replaceChildren();
    $("deploy-facts").replaceChildren();
    $("deploy-run").disabled = true;
    for (const event of saved?.events ?? []) onDeployEvent(event);
    followed.track("deploy", job, DEPLOY_KEEP, saved);
    job.on("*", onDeployEvent);
    try {
      await job.result();
      setState($("deploy-state"), "deployed");
    } catch (err) {
      setState($("deploy-state"), "failed");
      setError($("deploy-error"), describeError(err));
    } finally {
      if (followed.get("deploy")?.jobId === job.jobId) followed.clear("deploy");
      $("deploy-run").disabled = false;
      if (current === job) current = null;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    show($("deploy-live"));
    setError($("deploy-error"), "");
    const project = ctx.requireProject($("deploy-error"));
    if (!project) return;
    follow(
      ctx.client("ch").deploy({
        user_id: ctx.userId,
        project_id: project,
        github_username: new FormData(form).get("github_username").trim() || undefined,
      }),
    );
  });

  ctx.reopeners.deploy = (jobId) => {
    if (current?.jobId === jobId) return;
    const saved = followed.get("deploy");
    const mine = saved?.jobId === jobId ? saved : null;
    follow(ctx.client("ch").resume("deploy", jobId, mine?.lastSeq ?? 0), mine);
  };
  const saved = followed.get("deploy");
  if (saved && ctx.hasScope("ch")) follow(ctx.client("ch").resume("deploy", saved.jobId, saved.lastSeq), saved);
}

function onDeployEvent(e) {
  if (e.type === "keepalive") return;
  const message = eventMessage(e);
  if (message) $("deploy-log").append(h("li", {}, h("span", { class: "muted" }, e.type), " ", message));
  const percent = progressPercent(e);
  if (percent !== null) setProgress(percent, message);
  if (e.type === "deployment_complete") {
    fact("Repository", e.data?.github_repo);
    if (e.data?.deployment_status === "deployed") {
      fact("Endpoint", e.data?.agent_endpoint);
      setProgress(100, message);
    }
  }
}

function setProgress(percent, message) {
  const value = Math.max(0, Math.min(100, percent));
  $("deploy-bar").style.width = `${value}%`;
  $("deploy-percent").textContent = `${value}%`;
  if (message) $("deploy-message").textContent = message;
}

function fact(name, value) {
  if (!value) return;
  const list = $("deploy-facts");
  for (const dt of list.querySelectorAll("dt")) if (dt.textContent === name) dt.nextElementSibling.remove(), dt.remove();
  list.append(h("dt", {}, name), h("dd", { dataset: { fact: name.toLowerCase() } }, link(value)));
}

// -- app keys ------------------------------------------------------------------------------------

export function initKeys(ctx) {
  const form = $("keys-form");
  renderKeys(ctx);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setError($("keys-error"), "");
    const project = ctx.requireProject($("keys-error"));
    if (!project) return;
    const name = new FormData(form).get("key_name").trim();
    $("keys-create").disabled = true;
    try {
      const done = await ctx.client("ch").createApiKey({ user_id: ctx.userId, project_id: project, key_name: name || undefined }).result();
      const d = done.data;
      $("key-value").textContent = d.api_key_value;
      $("key-endpoint").textContent = `Endpoint: ${d.api_endpoint} (send it as the x-api-key header)`;
      show($("key-once"));
      state.appKeys = [...state.appKeys, { id: d.api_key_id, name: name || "(unnamed)", plan: d.usage_plan_id, endpoint: d.api_endpoint, project }];
      renderKeys(ctx);
      form.reset();
    } catch (err) {
      setError($("keys-error"), describeError(err));
    } finally {
      $("keys-create").disabled = false;
    }
  });
  $("key-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText($("key-value").textContent);
      $("key-copy").textContent = "Copied";
    } catch {
      $("key-copy").textContent = "Select and copy";
    }
  });
  $("key-dismiss").addEventListener("click", () => {
    $("key-value").textContent = "";
    $("key-copy").textContent = "Copy";
    show($("key-once"), false);
  });
}

function renderKeys(ctx) {
  const keys = state.appKeys;
  show($("keys-empty"), keys.length === 0);
  $("keys-table").tBodies[0].replaceChildren(
    ...keys.map((key) =>
      h(
        "tr",
        { dataset: { keyId: key.id } },
        h("td", {}, key.name),
        h("td", { class: "mono small" }, key.id),
        h("td", { class: "mono small" }, key.plan),
        h("td", { class: "small" }, link(key.endpoint)),
        h("td", {}, h("button", { type: "button", class: "danger small", onclick: (e) => deleteKey(ctx, key, e.currentTarget) }, "Delete")),
      ),
    ),
  );
}

async function deleteKey(ctx, key, button) {
  if (!confirm(`Delete API key ${key.name} (${key.id})? Callers using it lose access.`)) return;
  button.disabled = true;
  setError($("keys-error"), "");
  try {
    await ctx
      .client("ch")
      .deleteApiKey({ user_id: ctx.userId, project_id: key.project || ctx.projectId, api_key_id: key.id, usage_plan_id: key.plan })
      .result();
    state.appKeys = state.appKeys.filter((k) => k.id !== key.id);
    renderKeys(ctx);
  } catch (err) {
    button.disabled = false;
    setError($("keys-error"), describeError(err));
  }
}
