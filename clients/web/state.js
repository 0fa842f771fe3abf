// Console state kept in sessionStorage (this tab only): keys, user and project, the last report;
// the jobs being followed in localStorage (below).

const PREFIX = "qubitz.";

function read(name, fallback = null) {
  try {
    const raw = sessionStorage.getItem(PREFIX + name);
    return raw === null ? fallback : JSON.parse(raw);
  } catch {
    return fallback;
  }
}

function write(name, value) {
  if (value === null || value === undefined || value === "") sessionStorage.removeItem(PREFIX + name);
  else sessionStorage.setItem(PREFIX + name, JSON.stringify(value));
}

export const state = {
  get keys() {
    return read("keys", {});
  },
  set keys(value) {
    write("keys", value);
  },
  get userId() {
    return read("user", "console-user");
  },
  set userId(value) {
    write("user", value);
  },
  get projectId() {
    return read("project", "");
  },
  set projectId(value) {
    write("project", value);
  },
  /** The last research run's report URLs (the `complete` event's fields). */
  get report() {
    return read("report", null);
  },
  set report(value) {
    write("report", value);
  },
  /** App keys created in this session: id, name, plan, endpoint (never the key value). */
  get appKeys() {
    return read("appkeys", []);
  },
  set appKeys(value) {
    write("appkeys", value);
  },
  get spec() {
    return read("spec", null);
  },
  set spec(value) {
    write("spec", value);
  },
  clear() {
    for (const name of Object.keys(sessionStorage)) {
      if (name.startsWith(PREFIX)) sessionStorage.removeItem(name);
    }
    followed.clearAll();
  },
};

// -- jobs the console follows, in localStorage (they survive a reload and a closed tab) ----------
// One record per view ("research", "deploy"): the job id, its route, the last seq shown, and the
// events the view is drawn from (so a reload redraws it without asking the server again, then
// resumes after `lastSeq`). Keys are never stored here.

const JOB_PREFIX = "qubitz.job.";
const MAX_KEPT_EVENTS = 500;

export const followed = {
  get(view) {
    try {
      const raw = localStorage.getItem(JOB_PREFIX + view);
      return raw === null ? null : JSON.parse(raw);
    } catch {
      return null;
    }
  },
  set(view, record) {
    localStorage.setItem(JOB_PREFIX + view, JSON.stringify(record));
  },
  clear(view) {
    localStorage.removeItem(JOB_PREFIX + view);
  },
  clearAll() {
    for (const name of Object.keys(localStorage)) {
      if (name.startsWith(JOB_PREFIX)) localStorage.removeItem(name);
    }
  },
  /** Record `job`'s id, last seq and the events of `keep` types while it runs. `saved` is the
   * record a resumed job continues. */
  track(view, job, keep, saved = null) {
    let record = saved && saved.jobId === job.jobId ? saved : null;
    job.on("*", (event) => {
      if (!job.jobId || typeof event.seq !== "number") return;
      if (!record || record.jobId !== job.jobId) record = { jobId: job.jobId, route: job.endpoint, lastSeq: 0, events: [] };
      record.lastSeq = event.seq;
      if (keep.has(event.type) && record.events.length < MAX_KEPT_EVENTS) record.events.push(event);
      followed.set(view, record);
    });
  },
};
