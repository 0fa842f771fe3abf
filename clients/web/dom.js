// Small DOM helpers. Text always goes in through textContent; only the Markdown renderer's
// escaped output is ever assigned to innerHTML.

export const $ = (id) => document.getElementById(id);

/** h("a", { href, class: "x", onclick }, "text", child) -> element */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function show(el, visible = true) {
  el.hidden = !visible;
}

export function setError(el, message) {
  el.textContent = message ?? "";
  el.hidden = !message;
}

export function setState(pill, state) {
  pill.textContent = state;
  pill.dataset.state = state;
}

/** Only http(s) URLs are turned into links. */
export function safeUrl(url) {
  try {
    const parsed = new URL(String(url), location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

export function link(url, text) {
  const href = safeUrl(url);
  return href ? h("a", { href, target: "_blank", rel: "noopener noreferrer" }, text ?? url) : h("span", {}, text ?? "");
}

export function randomId(prefix) {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return prefix + "-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A user-facing sentence for a client error (AuthError, JobFailed, ...). */
export function describeError(err) {
  const message = err?.message || String(err);
  switch (err?.name) {
    case "AuthError":
      return `Key rejected (1008): ${message}`;
    case "ValidationError":
      return `Request refused (1007): ${message}`;
    case "TokenLimitExceeded":
      return `Token limit reached: ${message}`;
    case "Cancelled":
      return "Cancelled.";
    case "ConnectionLost":
      return `Connection lost: ${message}`;
    case "Overloaded":
      return `Rate limited, try again shortly: ${message}`;
    default:
      return err?.code ? `${message} (${err.code})` : message;
  }
}
