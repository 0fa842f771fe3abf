"""Main text and metadata of an HTML page with trafilatura (navigation, footers, cookie banners
and comments removed), falling back to the plain-text converter when it finds no main text.

Blocking (lxml parsing): call `extract_html` in a thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from agents.sources.text import html_to_text, normalize_whitespace


@dataclass(frozen=True)
class Extracted:
    title: str
    text: str
    author: str = ""
    date: str = ""
    sitename: str = ""
    canonical: str = ""
    method: str = "trafilatura"


# Its messages ("empty HTML tree", "discarding data") repeat what the reader reports as a
# notice, once per page and from worker threads: keep only its critical ones.
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)


def _field(doc: Any, name: str) -> str:
    value = doc.get(name) if isinstance(doc, dict) else getattr(doc, name, None)
    return " ".join(value.split()) if isinstance(value, str) else ""


def extract_html(html: str, *, url: str = "") -> Extracted:
    """Title, main text, author, date, site name and canonical URL of an HTML page."""
    import trafilatura

    doc = None
    if html.strip():
        doc = trafilatura.bare_extraction(
            html,
            url=url or None,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            # trafilatura's own deduplication keeps a process-wide cache of texts seen and then
            # discards a page read before, by any job: duplicates are merged per job instead
            # (agents/research/citations.py).
            deduplicate=False,
        )
    text = ""
    if doc is not None:
        raw = doc.get("text") if isinstance(doc, dict) else getattr(doc, "text", None)
        text = normalize_whitespace(raw) if isinstance(raw, str) else ""
    if not text:
        title, plain = html_to_text(html)
        return Extracted(title=title, text=plain, method="plain")
    return Extracted(
        title=_field(doc, "title"),
        text=text,
        author=_field(doc, "author"),
        date=_field(doc, "date"),
        sitename=_field(doc, "sitename"),
        canonical=_field(doc, "url"),
    )
