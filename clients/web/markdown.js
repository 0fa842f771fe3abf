// A small, safe Markdown renderer for reports and chat answers.
//
// Every piece of source text is HTML-escaped before any markup is added, so raw HTML in the
// source is shown as text, never interpreted. Links keep only http(s), mailto, in-page (#...)
// and relative targets; anything else (javascript:, data:, vbscript:, ...) is rendered as text.
// Supported: ATX headings, paragraphs, line breaks, emphasis (** __ * _ ~~), inline code, fenced
// code blocks, block quotes, nested ordered/unordered lists, GFM tables, horizontal rules,
// links, autolinks and bare URLs. Images are rendered as links (no remote loads).

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function unescapeHtml(text) {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (m) =>
    ({ "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'" })[m],
  );
}

/** The URL if it is safe to link to, else null. Input and output are HTML-escaped text. */
export function safeHref(escapedUrl) {
  const raw = unescapeHtml(escapedUrl).trim();
  const probe = raw.replace(/[\u0000-\u0020\u007f-\u00a0]/g, "").toLowerCase();
  if (!probe) return null;
  const scheme = /^([a-z][a-z0-9+.-]*):/.exec(probe);
  if (scheme && !["http", "https", "mailto"].includes(scheme[1])) return null;
  const colon = probe.indexOf(":");
  const separator = probe.search(/[/?#]/);
  if (!scheme && colon !== -1 && (separator === -1 || colon < separator)) return null;
  return escapeHtml(raw);
}

function slug(text) {
  return (
    "h-" +
    text
      .toLowerCase()
      .replace(/<[^>]*>/g, "")
      .replace(/&[a-z0-9#]+;/g, "")
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 60)
  );
}

// -- inline ---------------------------------------------------------------------------------------

const PH = "\u0000";

export function renderInline(source) {
  const held = [];
  const hold = (html) => `${PH}${held.push(html) - 1}${PH}`;
  let text = String(source).replace(/\u0000/g, "");
  // Code spans first: their content is literal.
  text = text.replace(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g, (_, _ticks, code) =>
    hold(`<code>${escapeHtml(code.trim() || code)}</code>`),
  );
  text = escapeHtml(text);
  const link = (label, href, title) => {
    const safe = safeHref(href);
    if (!safe) return hold(label);
    const t = title ? ` title="${title}"` : "";
    return hold(`<a href="${safe}"${t} target="_blank" rel="noopener noreferrer nofollow">${label}</a>`);
  };
  // Images and links: ![alt](url "title"), [label](url "title").
  text = text.replace(/(!?)\[([^\]\n]*)\]\(\s*((?:[^\s()]|\([^\s()]*\))+)(?:\s+&quot;([^\n]*?)&quot;)?\s*\)/g, (_, bang, label, href, title) =>
    link(bang ? `[image: ${label || "image"}]` : emphasis(label), href, title),
  );
  // Autolinks <https://...> (escaped as &lt;...&gt;) and bare URLs.
  text = text.replace(/&lt;((?:https?|mailto):[^\s&]+(?:&amp;[^\s&]+)*)&gt;/gi, (_, url) => link(url, url));
  text = text.replace(/\bhttps?:\/\/[^\s<>\u0000]+/gi, (url) => {
    const trail = /[.,;:!?)\]]+$/.exec(url);
    const core = trail ? url.slice(0, -trail[0].length) : url;
    return link(core, core) + (trail ? trail[0] : "");
  });
  text = emphasis(text);
  text = text.replace(/ {2,}\n|\\\n/g, "<br>\n");
  return text.replace(new RegExp(`${PH}(\\d+)${PH}`, "g"), (_, i) => held[Number(i)]);
}

function emphasis(text) {
  return text
    .replace(/\*\*(?=\S)([\s\S]*?\S)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[^\w])__(?=\S)([\s\S]*?\S)__(?!\w)/g, "$1<strong>$2</strong>")
    .replace(/(^|[^*\w])\*(?=[^\s*])([^*\n]*?[^\s*])\*(?!\*)/g, "$1<em>$2</em>")
    .replace(/(^|[^\w])_(?=[^\s_])([^_\n]*?[^\s_])_(?!\w)/g, "$1<em>$2</em>")
    .replace(/~~(?=\S)([\s\S]*?\S)~~/g, "<del>$1</del>");
}

// -- blocks ---------------------------------------------------------------------------------------

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([\w+-]*)[^\n]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:\s+(.*?))?\s*#*\s*$/;
const RULE = /^ {0,3}([-*_])(?:\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const ITEM = /^( *)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const TABLE_SEP = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

function splitRow(line) {
  let row = line.trim();
  if (row.startsWith("|")) row = row.slice(1);
  if (row.endsWith("|") && !row.endsWith("\\|")) row = row.slice(0, -1);
  return row.split(/(?<!\\)\|/).map((cell) => cell.trim().replace(/\\\|/g, "|"));
}

function isBlockStart(line, next) {
  return (
    FENCE.test(line) ||
    HEADING.test(line) ||
    RULE.test(line) ||
    QUOTE.test(line) ||
    ITEM.test(line) ||
    (line.includes("|") && next !== undefined && TABLE_SEP.test(next) && next.includes("-"))
  );
}

function renderTable(lines) {
  const head = splitRow(lines[0]);
  const aligns = splitRow(lines[1]).map((c) =>
    c.startsWith(":") && c.endsWith(":") ? "center" : c.endsWith(":") ? "right" : c.startsWith(":") ? "left" : "",
  );
  const cell = (tag, text, i) => {
    const align = aligns[i] ? ` class="align-${aligns[i]}"` : "";
    return `<${tag}${align}>${renderInline(text)}</${tag}>`;
  };
  const body = lines
    .slice(2)
    .map((line) => {
      const cells = splitRow(line);
      return `<tr>${head.map((_, i) => cell("td", cells[i] ?? "", i)).join("")}</tr>`;
    })
    .join("\n");
  return `<table>\n<thead><tr>${head.map((h, i) => cell("th", h, i)).join("")}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function renderList(lines) {
  const first = ITEM.exec(lines[0]);
  const base = first[1].length;
  const ordered = /\d/.test(first[2]);
  const start = ordered ? parseInt(first[2], 10) : 1;
  const items = [];
  for (const line of lines) {
    const m = ITEM.exec(line);
    if (m && m[1].length <= base + 1) items.push([m[3]]);
    else items[items.length - 1].push(line.replace(new RegExp(`^ {0,${base + 4}}`), ""));
  }
  const loose = lines.some((l, i) => l.trim() === "" && i < lines.length - 1);
  const html = items
    .map((parts) => {
      const inner = renderBlocks(parts.join("\n"));
      const tight = !loose && /^<p>[\s\S]*?<\/p>/.test(inner) ? inner.replace(/^<p>([\s\S]*?)<\/p>/, "$1") : inner;
      return `<li>${tight}</li>`;
    })
    .join("\n");
  const tag = ordered ? "ol" : "ul";
  const startAttr = ordered && start !== 1 ? ` start="${start}"` : "";
  return `<${tag}${startAttr}>\n${html}\n</${tag}>`;
}

function renderBlocks(source) {
  const lines = source.split("\n");
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.trim() === "") {
      i++;
      continue;
    }
    let m;
    if ((m = FENCE.exec(line))) {
      const fence = m[1];
      const lang = m[2] ? ` class="language-${escapeHtml(m[2])}"` : "";
      const body = [];
      i++;
      while (i < lines.length && !new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`).test(lines[i])) {
        body.push(lines[i++]);
      }
      i++;
      out.push(`<pre><code${lang}>${escapeHtml(body.join("\n"))}</code></pre>`);
    } else if ((m = HEADING.exec(line))) {
      const level = m[1].length;
      const inner = renderInline(m[2] ?? "");
      out.push(`<h${level} id="${slug(inner)}">${inner}</h${level}>`);
      i++;
    } else if (RULE.test(line)) {
      out.push("<hr>");
      i++;
    } else if (QUOTE.test(line)) {
      const body = [];
      while (i < lines.length && lines[i].trim() !== "" && (m = QUOTE.exec(lines[i]) || [null, lines[i]])) {
        body.push(m[1]);
        i++;
      }
      out.push(`<blockquote>\n${renderBlocks(body.join("\n"))}\n</blockquote>`);
    } else if (line.includes("|") && i + 1 < lines.length && TABLE_SEP.test(lines[i + 1]) && lines[i + 1].includes("-")) {
      const body = [line, lines[i + 1]];
      i += 2;
      while (i < lines.length && lines[i].trim() !== "" && lines[i].includes("|")) body.push(lines[i++]);
      out.push(renderTable(body));
    } else if (ITEM.test(line)) {
      const base = ITEM.exec(line)[1].length;
      const ordered = /\d/.test(ITEM.exec(line)[2]);
      const sameList = (m) => m[1].length > base + 1 || /\d/.test(m[2]) === ordered;
      const body = [];
      while (i < lines.length) {
        const current = lines[i];
        if (current.trim() === "") {
          const next = lines[i + 1];
          const nm = next === undefined ? null : ITEM.exec(next);
          if (next !== undefined && (/^\s+\S/.test(next) || (nm && nm[1].length >= base && sameList(nm)))) {
            body.push("");
            i++;
            continue;
          }
          break;
        }
        const im = ITEM.exec(current);
        if (!im && !/^\s/.test(current) && body.length && isBlockStart(current, lines[i + 1])) break;
        if (im && (im[1].length < base || !sameList(im))) break;
        body.push(current);
        i++;
      }
      out.push(renderList(body));
    } else {
      const body = [line];
      i++;
      while (i < lines.length && lines[i].trim() !== "" && !isBlockStart(lines[i], lines[i + 1])) {
        body.push(lines[i++]);
      }
      out.push(`<p>${renderInline(body.join("\n"))}</p>`);
    }
  }
  return out.join("\n");
}

/** Markdown source to an HTML string that is safe to assign to innerHTML. */
export function renderMarkdown(source) {
  const text = String(source ?? "")
    .replace(/\r\n?/g, "\n")
    .replace(/\t/g, "    ")
    .replace(/\u0000/g, "");
  return renderBlocks(text);
}
