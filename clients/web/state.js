// Console state kept in sessionStorage (this tab only): keys, user and project, the last report.

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
  },
};
