// The Jobs tab: running and recent jobs of every key signed in (the read API, /v1/jobs), with
// their route, state and progress; open one to follow it, see its events, or cancel it.

import { $, h, setError, setState, show } from "./dom.js";
import { state } from "./state.js";

const REFRESH_MS = 2000;
const OPENABLE = { research: "research", deploy: "deploy" }; // route -> tab that follows it

async function api(scope, path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${state.keys[scope]}` },
    credentials: "omit",
  });
  const body = response.headers.get("content-type")?.startsWith("application/json") ? await response.json() : await response.text();
  if (!response.ok) throw new Error(`${response.status}: ${body?.detail ?? body}`);
  return body;
}

function scopeOf(route) {
  return route === "research" || route === "chat" ? "uct" : "ch";
}

export function initJobs(ctx) {
  let timer = null;
  let visible = false;

  async function refresh() {
    const params = new URLSearchParams({ limit: "50" });
    if ($("jobs-route").value) params.set("route", $("jobs-route").value);
    if ($("jobs-state").value) params.set("state", $("jobs-state").value);
    try {
      const lists = await Promise.all(
        ["uct", "ch"].filter((scope) => ctx.hasScope(scope)).map((scope) => api(scope, `/v1/jobs?${params}`)),
      );
      const jobs = lists.flatMap((body) => body.jobs).sort((a, b) => b.created_at.localeCompare(a.created_at));
      render(jobs);
      if (ctx.hasScope("uct")) renderProjects((await api("uct", "/v1/projects?limit=20")).projects);
      setError($("jobs-error"), "");
    } catch (err) {
      setError($("jobs-error"), `Could not list jobs (${err.message}).`);
    }
    $("jobs-table").dataset.loaded = "true";
  }

  function schedule() {
    clearTimeout(timer);
    if (visible) timer = setTimeout(async () => {
      await refresh();
      schedule();
    }, REFRESH_MS);
  }

  function render(jobs) {
    show($("jobs-empty"), jobs.length === 0);
    $("jobs-table").tBodies[0].replaceChildren(...jobs.map(row));
  }

  function row(job) {
    const percent = job.progress_percent;
    const actions = [];
    const tab = OPENABLE[job.route];
    if (tab && ctx.hasScope(scopeOf(job.route))) {
      actions.push(h("button", { type: "button", class: "ghost small job-open", onclick: () => open(job) }, "Open"));
    }
    actions.push(h("button", { type: "button", class: "ghost small job-events", onclick: () => events(job) }, "Events"));
    if (job.state === "running") {
      actions.push(h("button", { type: "button", class: "danger small job-cancel", onclick: (e) => cancel(job, e.currentTarget) }, "Cancel"));
    }
    const pill = h("span", { class: "pill" });
    setState(pill, job.state);
    const bar = h("div", { class: "bar" });
    bar.style.width = `${percent ?? 0}%`; // CSSOM, not a style attribute (the CSP forbids those)
    return h(
      "tr",
      { dataset: { jobId: job.job_id, route: job.route, state: job.state, lastSeq: job.last_seq } },
      h("td", { class: "mono small" }, job.job_id),
      h("td", {}, job.route),
      h("td", {}, pill),
      h(
        "td",
        { class: "job-progress" },
        h("div", { class: "progress small" }, bar),
        h("span", { class: "small muted" }, percent === null ? "–" : `${percent}%`),
      ),
      h("td", { class: "small" }, String(job.last_seq)),
      h("td", { class: "small" }, job.message ?? ""),
      h("td", { class: "small muted" }, new Date(job.created_at).toLocaleString()),
      h("td", { class: "row" }, ...actions),
    );
  }

  function renderProjects(projects) {
    show($("projects"));
    show($("projects-empty"), projects.length === 0);
    $("projects-table").tBodies[0].replaceChildren(
      ...projects.map((project) => {
        const pill = h("span", { class: "pill" });
        setState(pill, project.status);
        return h(
          "tr",
          { dataset: { projectId: project.project_id, status: project.status } },
          h("td", { class: "mono small" }, project.project_id),
          h("td", {}, project.title),
          h("td", {}, pill),
          h("td", { class: "small muted" }, new Date(project.created_at).toLocaleString()),
          h("td", {}, h("button", { type: "button", class: "ghost small project-show", onclick: () => showProject(project.project_id) }, "Show")),
        );
      }),
    );
  }

  async function showProject(projectId) {
    try {
      const detail = await api("uct", `/v1/projects/${encodeURIComponent(projectId)}`);
      ctx.open("research");
      ctx.showProject?.(detail);
    } catch (err) {
      setError($("jobs-error"), `Could not load project ${projectId} (${err.message}).`);
    }
  }

  function open(job) {
    const tab = OPENABLE[job.route];
    ctx.open(tab);
    ctx.reopeners[tab]?.(job.job_id);
  }

  async function events(job) {
    show($("jobs-detail"));
    $("jobs-detail-title").textContent = `${job.route} · ${job.job_id}`;
    const list = $("jobs-events");
    list.replaceChildren();
    try {
      const text = await api(scopeOf(job.route), `/v1/jobs/${encodeURIComponent(job.job_id)}/events?since=0`);
      for (const line of String(text).split("\n").filter(Boolean)) {
        const e = JSON.parse(line);
        const message = e.message ?? e.data?.message ?? e.error ?? "";
        list.append(h("li", { dataset: { seq: e.seq } }, h("span", { class: "muted" }, `${e.seq} ${e.type}`), " ", message));
      }
    } catch (err) {
      list.append(h("li", { class: "error" }, err.message));
    }
  }

  async function cancel(job, button) {
    button.disabled = true;
    try {
      await api(scopeOf(job.route), `/v1/jobs/${encodeURIComponent(job.job_id)}/cancel`, { method: "POST" });
    } catch (err) {
      setError($("jobs-error"), `Could not cancel ${job.job_id} (${err.message}).`);
    }
    await refresh();
  }

  $("jobs-refresh").addEventListener("click", refresh);
  $("jobs-route").addEventListener("change", refresh);
  $("jobs-state").addEventListener("change", refresh);
  ctx.on("tab", (tab) => {
    visible = tab === "jobs";
    if (visible) refresh();
    schedule();
  });
}
