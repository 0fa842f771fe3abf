// The console's Markdown renderer (clients/web/markdown.js): safe and faithful enough for reports.

import assert from "node:assert/strict";
import { test } from "node:test";

import { renderInline, renderMarkdown, safeHref } from "../../clients/web/markdown.js";

test("raw HTML is shown as text, never as markup", () => {
  const html = renderMarkdown('<script>alert(1)</script>\n\n<img src=x onerror="alert(2)">\n\n# <b>t</b>');
  assert.ok(!/<script|<img|<b>/.test(html), html);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(html, /&lt;img src=x onerror=&quot;alert\(2\)&quot;&gt;/);
});

test("only http(s), mailto, relative and in-page links become anchors", () => {
  for (const bad of ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:x", "data:text/html,x", "vbscript:x", "java\tscript:x"]) {
    const html = renderInline(`[x](${bad})`);
    assert.ok(!html.includes("<a"), `${bad} -> ${html}`);
  }
  assert.match(renderInline("[ok](https://a.example/p?q=1&r=2)"), /<a href="https:\/\/a\.example\/p\?q=1&amp;r=2"[^>]*rel="noopener noreferrer nofollow">ok<\/a>/);
  assert.match(renderInline("[m](mailto:a@b.c)"), /href="mailto:a@b.c"/);
  assert.match(renderInline("[s](#section)"), /href="#section"/);
  assert.equal(safeHref("javascript&amp;colon;alert(1)"), "javascript&amp;colon;alert(1)");
});

test("attribute injection through a link title or URL is escaped", () => {
  const html = renderInline('[x](https://a.b/"onmouseover="alert(1) "t" onclick="y")');
  assert.ok(!/"\s*on\w+="/.test(html.replace(/&quot;/g, "")) || !html.includes('" on'), html);
  assert.ok(!html.includes('"onmouseover='), html);
});

test("headings, emphasis, code, lists, tables, quotes and rules render", () => {
  const html = renderMarkdown(
    [
      "## Summary",
      "",
      "Some **bold**, *em*, `code <x>` and ~~old~~.",
      "",
      "- one",
      "- two",
      "  - nested",
      "",
      "3. c",
      "4. d",
      "",
      "| A | B |",
      "|:--|--:|",
      "| 1 | 2 |",
      "",
      "> quoted",
      "",
      "```js",
      "let a = '<b>';",
      "```",
      "",
      "---",
    ].join("\n"),
  );
  assert.match(html, /<h2 id="h-summary">Summary<\/h2>/);
  assert.match(html, /<strong>bold<\/strong>, <em>em<\/em>, <code>code &lt;x&gt;<\/code> and <del>old<\/del>/);
  assert.match(html, /<ul>\n<li>one<\/li>\n<li>two\n<ul>\n<li>nested<\/li>\n<\/ul><\/li>\n<\/ul>/);
  assert.match(html, /<ol start="3">\n<li>c<\/li>\n<li>d<\/li>\n<\/ol>/);
  assert.match(html, /<th class="align-left">A<\/th><th class="align-right">B<\/th>/);
  assert.match(html, /<blockquote>\n<p>quoted<\/p>\n<\/blockquote>/);
  assert.match(html, /<pre><code class="language-js">let a = &#39;&lt;b&gt;&#39;;<\/code><\/pre>/);
  assert.match(html, /<hr>/);
});

test("bare URLs are linked without swallowing trailing punctuation", () => {
  const html = renderInline("See https://example.com/a_b.");
  assert.match(html, /<a href="https:\/\/example\.com\/a_b"[^>]*>https:\/\/example\.com\/a_b<\/a>\.$/);
});
