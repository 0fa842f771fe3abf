"""Plain text out of HTML (stdlib html.parser), PDF (pypdf) and Markdown files."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "canvas", "iframe", "head"})
_BLOCK = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "main", "aside", "nav", "li",
        "ul", "ol", "table", "tr", "td", "th", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6",
        "blockquote", "pre", "figure", "figcaption", "dd", "dt", "dl", "form",
    }
)  # fmt: skip
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANKS = re.compile(r"\n\s*\n+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title_parts: list[str] = []
        self._skip_depth = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _SKIP:
            self._skip_depth += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
        elif not self._skip_depth:
            self.parts.append(data)


def normalize_whitespace(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> tuple[str, str]:
    """(title, visible text) of an HTML document; scripts, styles and <head> are dropped."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    title = normalize_whitespace(" ".join(parser.title_parts)).replace("\n", " ")
    return title, normalize_whitespace("".join(parser.parts))


def pdf_to_text(data: bytes) -> str:
    """Text of every page of a PDF (blocking: call it in a thread)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    pages = [(page.extract_text() or "") for page in reader.pages]
    return normalize_whitespace("\n\n".join(pages))


def markdown_title(text: str) -> str:
    """The first level-1/2 heading of a Markdown text, or ''."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# ") or stripped.startswith("## "):
            return stripped.lstrip("#").strip()
    return ""


def split_passages(text: str, *, target_chars: int = 1200) -> list[str]:
    """Paragraph-aligned passages of about `target_chars` (long paragraphs are cut)."""
    passages: list[str] = []
    current: list[str] = []
    size = 0
    for para in (p.strip() for p in text.split("\n\n")):
        if not para:
            continue
        while len(para) > target_chars:
            if current:
                passages.append("\n\n".join(current))
                current, size = [], 0
            cut = para.rfind(" ", 0, target_chars)
            cut = cut if cut > target_chars // 2 else target_chars
            passages.append(para[:cut].strip())
            para = para[cut:].strip()
        if size + len(para) > target_chars and current:
            passages.append("\n\n".join(current))
            current, size = [], 0
        current.append(para)
        size += len(para) + 2
    if current:
        passages.append("\n\n".join(current))
    return passages
