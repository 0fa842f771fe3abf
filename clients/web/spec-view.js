// Architecture views: the agents table, an SVG graph of the orchestration, and the diff.

import { h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Agent ids touched by JSON-pointer paths like /agents_config/<id>/model. */
export function touchedAgents(diff) {
  const out = new Map();
  for (const kind of ["added", "removed", "changed"]) {
    for (const path of diff?.[kind] ?? []) {
      const m = /^\/agents_config\/([^/]+)(\/.*)?$/.exec(path);
      if (m) out.set(m[1], m[2] ? "changed" : kind);
    }
  }
  return out;
}

/** JSON-pointer diff of two specs (same rules as the server's): added/removed/changed paths. */
export function jsonDiff(before, after, path = "", out = { added: [], removed: [], changed: [] }) {
  const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    const esc = (k) => String(k).replace(/~/g, "~0").replace(/\//g, "~1");
    for (const key of Object.keys(before)) {
      if (!(key in after)) out.removed.push(`${path}/${esc(key)}`);
      else jsonDiff(before[key], after[key], `${path}/${esc(key)}`, out);
    }
    for (const key of Object.keys(after)) if (!(key in before)) out.added.push(`${path}/${esc(key)}`);
  } else if (JSON.stringify(before) !== JSON.stringify(after)) {
    out.changed.push(path || "/");
  }
  return out;
}

export function renderAgents(tbody, architecture, diff) {
  const touched = touchedAgents(diff);
  const agents = architecture?.agents_config ?? {};
  const entry = architecture?.orchestration?.entry_agent;
  const rows = Object.entries(agents).map(([id, agent]) => {
    const memory = agent.memory?.enabled ? (agent.memory.strategies ?? []).join(", ") || "on" : "off";
    return h(
      "tr",
      { dataset: { agent: id, change: touched.get(id) ?? "" } },
      h("td", {}, h("strong", {}, agent.name), h("div", { class: "muted small mono" }, id, id === entry ? " · entry" : "")),
      h("td", { class: "mono small" }, agent.model),
      h("td", {}, ...(agent.tools ?? []).map((t) => h("span", { class: "tag" }, t))),
      h("td", { class: "small" }, memory),
      h("td", { class: "small" }, agent.description),
    );
  });
  for (const [id, kind] of touched) {
    if (kind === "removed") {
      rows.push(h("tr", { dataset: { agent: id, change: "removed" } }, h("td", { colspan: 5 }, h("del", {}, id), " removed")));
    }
  }
  tbody.replaceChildren(...rows);
}

export function renderDiff(container, diff) {
  const kinds = ["added", "removed", "changed"].filter((k) => diff?.[k]?.length);
  container.hidden = kinds.length === 0;
  container.replaceChildren(
    h("h3", {}, "Changes in this version"),
    ...kinds.map((kind) =>
      h("div", { class: `diff-group ${kind}` }, h("span", { class: "diff-kind" }, kind), h("ul", {}, ...diff[kind].map((p) => h("li", { class: "mono small" }, p)))),
    ),
  );
}

/** A simple picture of the orchestration: gateway → entry agent, then the pipeline order or
 * the supervisor's fan-out. */
export function renderGraph(container, architecture) {
  const agents = architecture?.agents_config ?? {};
  const ids = Object.keys(agents);
  const orch = architecture?.orchestration ?? { pattern: "pipeline", entry_agent: ids[0], order: ids };
  const targets = architecture?.gateway_config?.targets ?? [];
  const W = 170, H = 48, GAP_X = 30, GAP_Y = 46, PAD = 16;
  const nodes = new Map();
  const edges = [];
  const gatewayLabel = targets.length ? `Gateway ${targets.map((t) => t.path).join(" ")}` : "Gateway";
  let rows;
  if (orch.pattern === "supervisor") {
    const workers = ids.filter((id) => id !== orch.entry_agent);
    rows = [["__gateway"], [orch.entry_agent]];
    for (let i = 0; i < workers.length; i += 4) rows.push(workers.slice(i, i + 4));
    edges.push(["__gateway", orch.entry_agent, false]);
    for (const w of workers) edges.push([orch.entry_agent, w, true]);
  } else {
    const order = orch.order?.length ? orch.order : [orch.entry_agent];
    const rest = ids.filter((id) => !order.includes(id));
    rows = [["__gateway"], ...order.map((id) => [id])];
    if (rest.length) rows.push(rest);
    edges.push(["__gateway", order[0], false]);
    for (let i = 1; i < order.length; i++) edges.push([order[i - 1], order[i], false]);
  }
  const widest = Math.max(...rows.map((r) => r.length));
  const width = PAD * 2 + widest * W + (widest - 1) * GAP_X;
  const height = PAD * 2 + rows.length * H + (rows.length - 1) * GAP_Y;
  rows.forEach((row, r) => {
    const rowWidth = row.length * W + (row.length - 1) * GAP_X;
    row.forEach((id, c) => {
      nodes.set(id, { x: (width - rowWidth) / 2 + c * (W + GAP_X), y: PAD + r * (H + GAP_Y) });
    });
  });
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": `${orch.pattern} orchestration` });
  const defs = s("defs");
  const marker = s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  marker.append(s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }));
  defs.append(marker);
  svg.append(defs);
  for (const [from, to, both] of edges) {
    const a = nodes.get(from), b = nodes.get(to);
    if (!a || !b) continue;
    const line = s("line", { x1: a.x + W / 2, y1: a.y + H, x2: b.x + W / 2, y2: b.y, class: "edge", "marker-end": "url(#arrow)" });
    if (both) line.setAttribute("marker-start", "url(#arrow)");
    svg.append(line);
  }
  for (const [id, pos] of nodes) {
    const isGateway = id === "__gateway";
    const g = s("g", { class: isGateway ? "node gateway" : id === orch.entry_agent ? "node entry" : "node", "data-agent": isGateway ? "" : id });
    g.append(s("rect", { x: pos.x, y: pos.y, width: W, height: H, rx: 8 }));
    const title = isGateway ? gatewayLabel : agents[id]?.name ?? id;
    g.append(s("text", { x: pos.x + W / 2, y: pos.y + (isGateway ? H / 2 + 4 : 20), "text-anchor": "middle", class: "label" }, clip(title, 24)));
    if (!isGateway) g.append(s("text", { x: pos.x + W / 2, y: pos.y + 36, "text-anchor": "middle", class: "sub" }, clip(id, 26)));
    svg.append(g);
  }
  container.replaceChildren(
    h("p", { class: "muted small" }, orch.pattern === "supervisor" ? `Supervisor: ${orch.entry_agent} decides which agent to call (up to ${orch.max_turns ?? 8} turns).` : "Pipeline: each agent gets the previous agent's output."),
    svg,
  );
}

function clip(text, n) {
  const str = String(text);
  return str.length > n ? str.slice(0, n - 1) + "…" : str;
}
