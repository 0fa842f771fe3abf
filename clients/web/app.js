// The qubitz console: sign-in, tabs by key scope, and the shared context (user, project).

import { QubitzClient, keyScope } from "/js/qubitz.js";
import { $, setError, show } from "./dom.js";
import { state } from "./state.js";
import { initResearch, initChat } from "./research.js";
import { initSpec, initDeploy, initKeys } from "./controlhub.js";
import { initJobs } from "./jobs.js";

const TABS = ["research", "chat", "spec", "deploy", "keys", "jobs"];

/** What the tab modules share: clients per scope, user/project, tab switching. */
const ctx = {
  client(scope) {
    const key = state.keys[scope];
    if (!key) throw new Error(`sign in with a ${scope === "uct" ? "research" : "ControlHub"} key first`);
    return new QubitzClient(location.origin, key);
  },
  hasScope(scope) {
    return Boolean(state.keys[scope]);
  },
  get userId() {
    return $("ctx-user").value.trim() || "console-user";
  },
  get projectId() {
    return $("ctx-project").value.trim();
  },
  set projectId(value) {
    $("ctx-project").value = value;
    state.projectId = value;
  },
  requireProject(errorEl) {
    const project = ctx.projectId;
    if (!project) setError(errorEl, "Set a Project ID first (a research run sets one).");
    return project;
  },
  open(tab) {
    const button = document.querySelector(`.tabs [data-tab="${tab}"]`);
    if (!button || button.disabled) return;
    for (const name of TABS) {
      const selected = name === tab;
      show($(`tab-${name}`), selected);
      document.querySelector(`.tabs [data-tab="${name}"]`).setAttribute("aria-selected", String(selected));
    }
    sessionStorage.setItem("qubitz.tab", tab);
    ctx.emit("tab", tab);
  },
  /** tab name -> reopen(jobId): follow a job in its tab (set by the tab modules). */
  reopeners: {},
  listeners: {},
  emit(name, value) {
    for (const fn of ctx.listeners[name] ?? []) fn(value);
  },
  on(name, fn) {
    (ctx.listeners[name] ??= []).push(fn);
  },
};

function signIn(event) {
  event.preventDefault();
  const uct = $("key-uct").value.trim();
  const ch = $("key-ch").value.trim();
  const keys = {};
  for (const key of [uct, ch].filter(Boolean)) {
    const scope = keyScope(key);
    if (!scope) {
      setError($("signin-error"), "Keys start with qk_uct_ (research) or qk_ch_ (ControlHub).");
      return;
    }
    keys[scope] = key;
  }
  if (!keys.uct && !keys.ch) {
    setError($("signin-error"), "Enter at least one key.");
    return;
  }
  setError($("signin-error"), "");
  state.keys = keys;
  state.userId = $("signin-user").value.trim() || "console-user";
  $("key-uct").value = "";
  $("key-ch").value = "";
  render();
}

function signOut() {
  state.clear();
  sessionStorage.removeItem("qubitz.tab");
  location.reload();
}

function render() {
  const keys = state.keys;
  const signedIn = Boolean(keys.uct || keys.ch);
  show($("signin"), !signedIn);
  show($("workspace"), signedIn);
  show($("session"), signedIn);
  if (!signedIn) return;
  for (const badge of document.querySelectorAll(".badge[data-scope]")) {
    badge.dataset.active = String(Boolean(keys[badge.dataset.scope]));
    badge.title = keys[badge.dataset.scope] ? "key entered" : "no key: these tabs are disabled";
  }
  for (const button of document.querySelectorAll(".tabs [data-tab]")) {
    const allowed = button.dataset.scope === "any" || Boolean(keys[button.dataset.scope]);
    button.disabled = !allowed;
    button.title = allowed ? "" : `Needs a ${button.dataset.scope === "uct" ? "research (qk_uct_)" : "ControlHub (qk_ch_)"} key`;
  }
  $("ctx-user").value = state.userId;
  $("ctx-project").value = state.projectId;
  const saved = sessionStorage.getItem("qubitz.tab");
  const first = TABS.find((t) => !document.querySelector(`.tabs [data-tab="${t}"]`).disabled);
  const wanted = saved && !document.querySelector(`.tabs [data-tab="${saved}"]`)?.disabled ? saved : first;
  ctx.open(wanted);
}

function init() {
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("signin-user").value = state.userId;
  for (const button of document.querySelectorAll(".tabs [data-tab]")) {
    button.addEventListener("click", () => ctx.open(button.dataset.tab));
  }
  $("ctx-user").addEventListener("change", () => (state.userId = ctx.userId));
  $("ctx-project").addEventListener("change", () => (state.projectId = ctx.projectId));
  initResearch(ctx);
  initChat(ctx);
  initSpec(ctx);
  initDeploy(ctx);
  initKeys(ctx);
  initJobs(ctx);
  render();
  document.body.dataset.ready = "true";
}

init();
