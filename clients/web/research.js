// Research (live steps, progress, files, use cases), the report reader, and chat.

import { eventMessage, eventText, progressPercent } from "/js/qubitz.js";
import { $, describeError, h, link, randomId, setError, setState, show, safeUrl } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { followed, state } from "./state.js";

const STEP_LABELS = {
  planning: "Planning",
  research: "Research",
  writing: "Writing the report",
  analysis: "AI discovery",
  use_cases: "Use cases",
  render: "Rendering and storing",
};

// Stored file types -> the `complete` event's URL fields.
const REPORT_FIELDS = {
  deep_research_markdown: "s3_deep_research_report_url",
  deep_research_pdf: "s3_deep_research_pdf_url",
  AI_discovery_markdown: "s3_AI_discovery_report_url",
  AI_discovery_pdf: "s3_AI_discovery_pdf_url",
  use_cases_md: "s3_use_cases_md_url",
  use_cases_pdf: "s3_use_cases_pdf_url",
};

const DOCUMENTS = [
  ["Deep research report", "s3_deep_research_report_url", "s3_deep_research_pdf_url"],
  ["AI discovery", "s3_AI_discovery_report_url", "s3_AI_discovery_pdf_url"],
  ["Use cases", "s3_use_cases_md_url", "s3_use_cases_pdf_url"],
];

// -- research ------------------------------------------------------------------------------------

// Events the research view is drawn from (kept to redraw it after a reload).
const RESEARCH_KEEP = new Set(["status", "multiagent_step", "multiagent_progress", "s3_upload_complete", "use_cases_complete", "error"]);

export function initResearch(ctx) {
  const form = $("research-form");
  let job = null;

  /** Show `stream` (new, or resumed after `saved.lastSeq` with `saved.events` redrawn). */
  async function follow(stream, saved = null) {
    job = stream;
    resetLive();
    $("research-run").disabled = true;
    $("research-cancel").disabled = false;
    for (const event of saved?.events ?? []) onResearchEvent(event);
    followed.track("research", job, RESEARCH_KEEP, saved);
    job.on("*", onResearchEvent);
    try {
      const done = await job.result();
      setState($("research-state"), "complete");
      setProgress(100);
      finishSteps();
      if (done.project_id) ctx.projectId = done.project_id;
      state.report = pickReport(done);
      ctx.emit("report", state.report);
      await showReport(state.report);
    } catch (err) {
      setState($("research-state"), err?.name === "Cancelled" ? "cancelled" : "failed");
      setError($("research-error"), describeError(err));
    } finally {
      if (followed.get("research")?.jobId === stream.jobId) followed.clear("research");
      $("research-run").disabled = false;
      $("research-cancel").disabled = true;
      if (job === stream) job = null;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const payload = {
      prompt: data.get("prompt").trim(),
      company_name: data.get("company_name").trim(),
      company_url: data.get("company_url").trim(),
      depth: data.get("depth"),
      user_id: ctx.userId,
      session_id: randomId("research"),
    };
    follow(ctx.client("uct").research(payload));
  });

  $("research-cancel").addEventListener("click", () => {
    $("research-cancel").disabled = true;
    job?.cancel();
  });

  $("report-doc").addEventListener("change", () => showReport(state.report, Number($("report-doc").value)));

  // Reopen a job (from the Jobs tab): continue after the last seq this console showed, or
  // replay it from the start when this console never showed it.
  ctx.reopeners.research = (jobId) => {
    if (job?.jobId === jobId) return;
    const saved = followed.get("research");
    const mine = saved?.jobId === jobId ? saved : null;
    follow(ctx.client("uct").resume("research", jobId, mine?.lastSeq ?? 0), mine);
  };
  // A stored research project (the read API's /v1/projects/{id}): its files, use cases, report.
  ctx.showProject = (detail) => {
    if (job) return; // a run is on screen; the Jobs tab can open it instead
    const research = detail.research;
    resetLive();
    setState($("research-state"), research.status === "complete" ? "complete" : research.status);
    setProgress(research.status === "complete" ? 100 : 0);
    $("research-status").textContent = `${research.company_name}: ${research.prompt}`;
    if (research.error) setError($("research-error"), research.error);
    for (const file of research.reports) onResearchEvent({ type: "s3_upload_complete", file_type: file.file_type, s3_url: file.url });
    showUseCases(research.use_cases ?? []);
    ctx.projectId = detail.project_id;
    const byType = Object.fromEntries(research.reports.map((file) => [file.file_type, file.url]));
    const report = { project_id: detail.project_id };
    for (const [fileType, field] of Object.entries(REPORT_FIELDS)) report[field] = byType[fileType] ?? null;
    state.report = report; // a sessionStorage-backed property: assign the whole object
    ctx.emit("report", state.report);
    showReport(state.report);
  };

  const saved = followed.get("research");
  if (saved && ctx.hasScope("uct")) {
    follow(ctx.client("uct").resume("research", saved.jobId, saved.lastSeq), saved);
  } else if (state.report) {
    showReport(state.report);
  }
}

function resetLive() {
  show($("research-live"));
  show($("research-usecases"), false);
  show($("report"), false);
  setState($("research-state"), "running");
  setError($("research-error"), "");
  setProgress(0);
  $("research-steps").replaceChildren();
  $("research-files").replaceChildren();
  $("research-status").textContent = "";
}

function setProgress(percent) {
  const bar = $("research-bar");
  bar.style.width = `${Math.max(0, Math.min(100, percent))}%`;
  bar.parentElement.setAttribute("aria-valuenow", String(percent));
}

function stepItem(step) {
  let item = document.querySelector(`#research-steps li[data-step="${CSS.escape(step)}"]`);
  if (!item) {
    item = h(
      "li",
      { dataset: { step, status: "active" } },
      h("span", { class: "step-name" }, STEP_LABELS[step] ?? step),
      h("span", { class: "step-message" }),
    );
    for (const previous of document.querySelectorAll("#research-steps li[data-status=active]")) {
      previous.dataset.status = "done";
    }
    $("research-steps").append(item);
  }
  return item;
}

function finishSteps() {
  for (const item of document.querySelectorAll("#research-steps li")) item.dataset.status = "done";
}

function onResearchEvent(event) {
  switch (event.type) {
    case "status":
      $("research-status").textContent = eventMessage(event);
      break;
    case "multiagent_step":
    case "multiagent_progress": {
      const item = stepItem(event.step);
      const message = eventMessage(event);
      if (message) item.querySelector(".step-message").textContent = message;
      const percent = progressPercent(event);
      if (percent !== null) setProgress(percent);
      break;
    }
    case "s3_upload_complete":
      $("research-files").append(h("li", {}, h("span", { class: "muted" }, event.file_type), " ", link(event.s3_url, fileName(event.s3_url))));
      break;
    case "use_cases_complete":
      showUseCases(event.use_cases ?? []);
      break;
    case "error":
      stepItem(event.step ?? "error").dataset.status = "failed";
      break;
    default:
      break;
  }
}

function fileName(url) {
  try {
    return decodeURIComponent(new URL(url).pathname.split("/").pop() || url);
  } catch {
    return url;
  }
}

function showUseCases(useCases) {
  show($("research-usecases"), useCases.length > 0);
  $("usecase-list").replaceChildren(
    ...useCases.map((uc) =>
      h(
        "article",
        { class: "usecase" },
        h("h3", {}, uc.title),
        h("p", {}, uc.description),
        h("p", { class: "small" }, h("strong", {}, "Value: "), uc.business_value),
        h("p", { class: "small" }, h("strong", {}, "ROI: "), uc.estimated_roi),
        h("div", { class: "row" }, h("span", { class: "pill", dataset: { level: uc.impact_score } }, `Impact ${uc.impact_score}`), h("span", { class: "pill", dataset: { level: uc.alignment_score } }, `Alignment ${uc.alignment_score}`)),
        h("button", { type: "button", class: "ghost small use-case-spec", onclick: () => useForSpec(uc) }, "Design a spec"),
      ),
    ),
  );
}

function useForSpec(useCase) {
  const form = $("spec-form");
  form.elements.use_case_name.value = useCase.title;
  form.elements.use_case_description.value = useCase.description;
  const report = state.report;
  if (report?.s3_deep_research_report_url) form.elements.s3_uri.value = report.s3_deep_research_report_url;
  document.querySelector('.tabs [data-tab="spec"]').click();
}

function pickReport(done) {
  const report = { project_id: done.project_id };
  for (const [, md, pdf] of DOCUMENTS) {
    report[md] = done[md] ?? null;
    report[pdf] = done[pdf] ?? null;
  }
  return report;
}

/** Fetch the chosen Markdown document and render it (escaped; see markdown.js). */
async function showReport(report, index = 0) {
  if (!report) return;
  const select = $("report-doc");
  select.replaceChildren(...DOCUMENTS.flatMap(([label, md], i) => (report[md] ? [h("option", { value: i }, label)] : [])));
  select.value = String(index);
  const [, mdKey, pdfKey] = DOCUMENTS[index];
  const url = safeUrl(report[mdKey]);
  const pdf = safeUrl(report[pdfKey]);
  show($("report"));
  const pdfLink = $("report-pdf");
  show(pdfLink, Boolean(pdf));
  if (pdf) pdfLink.href = pdf;
  const body = $("report-body");
  if (!url) {
    body.textContent = "No report URL.";
    return;
  }
  $("report-source").replaceChildren("Source: ", link(url, fileName(url)));
  body.textContent = "Loading…";
  try {
    const response = await fetch(url, { credentials: "omit" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    body.innerHTML = renderMarkdown(await response.text());
    body.dataset.loaded = "true";
  } catch (err) {
    body.textContent = `Could not load the report (${err.message}). Stored reports on S3 need CORS to be read here; use the links above.`;
  }
}

// -- chat ----------------------------------------------------------------------------------------

export function initChat(ctx) {
  const form = $("chat-form");
  const history = [];
  const sessionId = randomId("chat");
  const reportInput = $("chat-report");
  reportInput.value = state.report?.s3_deep_research_report_url ?? "";
  ctx.on("report", (report) => {
    reportInput.value = report?.s3_deep_research_report_url ?? reportInput.value;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("chat-message");
    const text = input.value.trim();
    const reportUrl = reportInput.value.trim();
    setError($("chat-error"), "");
    if (!text) return;
    if (!reportUrl) {
      setError($("chat-error"), "Run research first, or paste a report URL.");
      return;
    }
    input.value = "";
    history.push({ role: "user", content: text });
    $("chat-log").append(h("div", { class: "bubble user" }, text));
    const answer = h("div", { class: "bubble assistant markdown streaming" });
    $("chat-log").append(answer);
    $("chat-send").disabled = true;
    let reply = "";
    let pending = false;
    const paint = () => {
      pending = false;
      answer.innerHTML = renderMarkdown(reply);
      answer.scrollIntoView({ block: "end" });
    };
    try {
      const job = ctx.client("uct").chat({
        messages: history.slice(-50),
        s3_report_url: reportUrl,
        user_id: ctx.userId,
        session_id: sessionId,
        project_id: ctx.projectId || undefined,
      });
      job.on("chat_chunk", (e) => {
        reply += eventText(e);
        if (!pending) {
          pending = true;
          requestAnimationFrame(paint);
        }
      });
      const done = await job.result();
      paint();
      history.push({ role: "assistant", content: reply || "(no answer)" });
      const usage = done.session_info?.token_usage;
      if (usage) {
        $("chat-usage").textContent = `${usage.total_tokens.toLocaleString()} of ${usage.limit.toLocaleString()} tokens used in this session`;
      }
    } catch (err) {
      history.pop();
      answer.remove();
      setError($("chat-error"), describeError(err));
    } finally {
      answer.classList.remove("streaming");
      $("chat-send").disabled = false;
    }
  });
}
