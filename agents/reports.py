"""Reports: Markdown → sanitised HTML → PDF (WeasyPrint), and the use-case report's Markdown.

Safety: Markdown may contain raw HTML (model output is untrusted). Everything goes through nh3
with an allow-list (no scripts, styles, iframes, forms, event handlers; images only from inline
`data:image/...` URIs; links only http/https/mailto/fragments). The PDF renderer is given a URL
fetcher that refuses every non-`data:` URL, so a report can never make the server fetch anything.

Rendering is CPU-bound and blocking: call `render_pdf_async` from async code. Renders are
serialised by a process-wide lock (WeasyPrint's native dependencies are not documented as
thread-safe); a failure raises `ReportRenderError`, never an empty result.
"""

from __future__ import annotations

import asyncio
import html
import re
import threading
import unicodedata
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from agents.errors import QubitzError
from agents.protocol import UseCase

# Limits
MAX_MARKDOWN_CHARS = 5_000_000
"""Longer input is refused (a 30-page report is ~60 000 characters)."""


class ReportRenderError(QubitzError):
    """The report could not be rendered."""

    code = "render_failed"


# ---------------------------------------------------------------------------------------------
# Markdown → sanitised HTML

_HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_TAG_NAMES = """
    a abbr b blockquote br caption cite code col colgroup dd del details dfn div dl dt em
    figcaption figure hr i img ins kbd li mark ol p pre q s samp small span strong sub summary
    sup table tbody td tfoot th thead time tr u ul var wbr
"""
_ALLOWED_TAGS = _HEADING_TAGS | set(_TAG_NAMES.split())
_CELL_ATTRIBUTES = {"style", "colspan", "rowspan", "align"}
_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": _CELL_ATTRIBUTES,
    "th": _CELL_ATTRIBUTES,
    "ol": {"start"},
    "code": {"class"},
    "time": {"datetime"},
    **{tag: {"id"} for tag in _HEADING_TAGS},
}
_DROPPED_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template"}
_LINK_SCHEMES = {"http", "https", "mailto"}
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp|svg\+xml);", re.IGNORECASE)


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "src":
        # Only inline images: a remote or file URL would be a fetch (or a tracking pixel).
        return value if tag == "img" and _DATA_IMAGE.match(value) else None
    if attribute == "href" and value.lower().startswith("data:"):
        return None
    if attribute == "class":
        return value if re.fullmatch(r"language-[A-Za-z0-9_+-]{1,40}", value) else None
    return value


def sanitize_html(fragment: str) -> str:
    """The HTML fragment with everything outside the report allow-list removed."""
    return nh3.clean(
        fragment,
        tags=_ALLOWED_TAGS,
        clean_content_tags=_DROPPED_WITH_CONTENT,
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=_LINK_SCHEMES | {"data"},
        filter_style_properties={"text-align"},
        link_rel="noopener noreferrer",
    )


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    anchor: str


def _markdown_parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


_PARSER = _markdown_parser()


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:60] or "section"


def _inline_text(token: Token) -> str:
    parts = [c.content for c in token.children or [] if c.type in ("text", "code_inline")]
    return " ".join("".join(parts).split())


def _annotate_headings(tokens: list[Token]) -> list[Heading]:
    """Give every heading a unique `id` (for the contents page) and list them in order."""
    headings: list[Heading] = []
    used: dict[str, int] = {}
    for i, token in enumerate(tokens):
        if token.type != "heading_open":
            continue
        text = _inline_text(tokens[i + 1])
        base = f"s-{_slug(text)}"
        used[base] = used.get(base, 0) + 1
        anchor = base if used[base] == 1 else f"{base}-{used[base]}"
        token.attrSet("id", anchor)
        headings.append(Heading(level=int(token.tag[1]), text=text, anchor=anchor))
    return headings


def _drop_leading_title(tokens: list[Token], title: str) -> list[Token]:
    """Remove a first `# Title` that repeats the cover page's title."""
    is_h1 = len(tokens) >= 3 and tokens[0].type == "heading_open" and tokens[0].tag == "h1"
    if is_h1 and _inline_text(tokens[1]).casefold() == " ".join(title.split()).casefold():
        return tokens[3:]
    return tokens


def _render_markdown(markdown: str, *, title: str | None = None) -> tuple[str, list[Heading]]:
    if len(markdown) > MAX_MARKDOWN_CHARS:
        raise ReportRenderError(
            f"report is too long: {len(markdown)} characters (limit {MAX_MARKDOWN_CHARS})"
        )
    env: dict[str, Any] = {}
    tokens = _PARSER.parse(markdown, env)
    if title is not None:
        tokens = _drop_leading_title(tokens, title)
        # Every h1 after the first starts a new page: a rule just before one is redundant.
        tokens = [
            t
            for i, t in enumerate(tokens)
            if not (
                t.type == "hr"
                and i + 1 < len(tokens)
                and tokens[i + 1].type == "heading_open"
                and tokens[i + 1].tag == "h1"
            )
        ]
    headings = _annotate_headings(tokens)
    raw = _PARSER.renderer.render(tokens, _PARSER.options, env)
    return sanitize_html(raw), headings


def markdown_to_html(markdown: str) -> str:
    """Markdown (CommonMark + tables + strikethrough) as a sanitised HTML fragment."""
    fragment, _ = _render_markdown(markdown)
    return fragment


# ---------------------------------------------------------------------------------------------
# Full document


def _stylesheet() -> str:
    return (resources.files("agents") / "report_assets" / "report.css").read_text("utf-8")


def _contents(headings: Sequence[Heading]) -> str:
    """A contents page for the top two heading levels, or "" when there is little to list."""
    if not headings:
        return ""
    top = min(h.level for h in headings)
    # Sub-headings are listed unless they repeat (a per-section template such as "Description"
    # under every use case only adds noise to the contents).
    sub_counts = Counter(h.text.casefold() for h in headings if h.level == top + 1)
    listed = [
        h
        for h in headings
        if h.level == top or (h.level == top + 1 and sub_counts[h.text.casefold()] == 1)
    ]
    if sum(1 for h in listed if h.level == top) < 3:
        return ""
    items = "\n".join(
        f'<li class="{"toc-top" if h.level == top else "toc-sub"}">'
        f'<a href="#{h.anchor}">{html.escape(h.text)}</a></li>'
        for h in listed
    )
    return f'<nav class="toc"><h2>Contents</h2><ol>\n{items}\n</ol></nav>'


def _cover(title: str, subtitle: str, meta: Mapping[str, str]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in meta.items()
    )
    meta_table = f'<table class="doc-meta">{rows}</table>' if rows else ""
    subtitle_html = (
        f'<p class="doc-subtitle">{html.escape(subtitle)}</p>'
        if subtitle
        else '<p class="doc-subtitle"></p>'
    )
    return (
        '<section class="cover"><div class="cover-band"></div><div class="cover-body">'
        '<p class="cover-kicker">Report</p>'
        f'<h1 class="doc-title">{html.escape(title)}</h1>{subtitle_html}'
        f'<div class="doc-rule"></div>{meta_table}</div>'
        '<div class="cover-footer">Generated by qubitz</div></section>'
    )


def render_document_html(
    markdown: str, *, title: str, subtitle: str = "", meta: Mapping[str, str] | None = None
) -> str:
    """A complete, self-contained HTML page: cover, contents (if useful), body and stylesheet.

    `title`, `subtitle` and `meta` are plain text (escaped here). A first `# heading` equal to
    the title is dropped, since the cover already shows it.
    """
    if not title.strip():
        raise ReportRenderError("a report needs a title")
    body, headings = _render_markdown(markdown, title=title)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        f'<meta name="generator" content="qubitz">'
        f"<style>{_stylesheet()}</style></head><body>"
        f"{_cover(title, subtitle, meta or {})}{_contents(headings)}"
        f"<article>{body}</article></body></html>"
    )


# ---------------------------------------------------------------------------------------------
# HTML → PDF

_RENDER_LOCK = threading.Lock()


def _weasyprint() -> Any:
    """The weasyprint module, imported on first use. Its import-time notice that
    libharfbuzz-subset0 is missing (it then subsets fonts with fontTools) is not an error."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="HarfBuzz-Subset", category=DeprecationWarning)
        import weasyprint
        import weasyprint.urls
    return weasyprint


def _refusing_fetcher() -> Any:
    """A WeasyPrint URL fetcher that serves `data:` URLs and refuses everything else."""
    _weasyprint()
    from weasyprint.urls import URLFetcher

    class DataOnlyFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.lower().startswith("data:"):
                raise ValueError(f"external resources are not loaded in reports: {url[:100]}")
            return super().fetch(url, headers)

    return DataOnlyFetcher(timeout=1, allowed_protocols={"data"}, allow_redirects=False)


def html_to_pdf(document_html: str) -> bytes:
    """Render a complete HTML page to PDF bytes without fetching any external resource."""
    try:
        with _RENDER_LOCK:
            html_class = _weasyprint().HTML
            pdf = html_class(string=document_html, url_fetcher=_refusing_fetcher()).write_pdf()
    except ReportRenderError:
        raise
    except Exception as exc:  # translate the renderer's failures at the boundary
        raise ReportRenderError(f"PDF rendering failed: {type(exc).__name__}: {exc}") from exc
    if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF-"):
        raise ReportRenderError("PDF rendering produced no document")
    return pdf


def render_pdf(
    markdown: str, *, title: str, subtitle: str = "", meta: Mapping[str, str] | None = None
) -> bytes:
    """The report as PDF bytes (blocking: use `render_pdf_async` on an event loop)."""
    return html_to_pdf(render_document_html(markdown, title=title, subtitle=subtitle, meta=meta))


async def render_pdf_async(
    markdown: str, *, title: str, subtitle: str = "", meta: Mapping[str, str] | None = None
) -> bytes:
    """`render_pdf` in a worker thread."""
    return await asyncio.to_thread(render_pdf, markdown, title=title, subtitle=subtitle, meta=meta)


# ---------------------------------------------------------------------------------------------
# The use-case report


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell (one line, pipes escaped)."""
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|")


def _line(text: str) -> str:
    return " ".join(text.split())


def use_cases_markdown(use_cases: Sequence[UseCase], *, company: str) -> str:
    """A readable Markdown report of `use_cases`: a summary table, then a section for each."""
    company_name = _line(company)
    out: list[str] = [f"# AI Use Cases for {company_name}", ""]
    if not use_cases:
        out += ["No use cases were identified.", ""]
        return "\n".join(out)
    out += [
        f"{len(use_cases)} AI use case{'s' if len(use_cases) != 1 else ''} identified for "
        f"{company_name}, each with its business value, an implementation outline, an "
        "estimated return on investment and scores for impact and strategic alignment.",
        "",
        "## Summary",
        "",
        "| # | Use case | Impact | Alignment | Estimated ROI |",
        "|--:|---|:-:|:-:|---|",
    ]
    for n, uc in enumerate(use_cases, start=1):
        out.append(
            f"| {n} | {_cell(uc.title)} | {uc.impact_score} | {uc.alignment_score} "
            f"| {_cell(uc.estimated_roi)} |"
        )
    out.append("")
    for n, uc in enumerate(use_cases, start=1):
        out += [
            f"## {n}. {_line(uc.title)}",
            "",
            f"**Impact:** {uc.impact_score} · **Alignment:** {uc.alignment_score} · "
            f"**Estimated ROI:** {_line(uc.estimated_roi)} · **ID:** {_cell(uc.id)}",
            "",
            "### Description",
            "",
            uc.description.strip(),
            "",
            "### Business value",
            "",
            uc.business_value.strip(),
            "",
            "### Implementation",
            "",
            uc.implementation.strip(),
            "",
        ]
    return "\n".join(out)
