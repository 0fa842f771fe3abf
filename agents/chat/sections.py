"""Split a Markdown report into citable sections: by headings first, then by size.

Every section keeps the path of headings it sits under (`Market > Competitors`) so an answer can
cite it, and no section is longer than `max_tokens` (estimated): a long section is cut at
paragraph boundaries, and a single huge paragraph at line, then character, boundaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.chat.tokens import CHARS_PER_TOKEN, estimate_tokens

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class Section:
    number: int  # 1-based, in document order; cited as [S<number>]
    title: str  # heading path, e.g. "Market analysis > Competitors (part 2)"
    text: str  # the section's Markdown, heading line included

    @property
    def label(self) -> str:
        return f"S{self.number}"

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.text)


def split_report(markdown: str, *, max_tokens: int = 700) -> list[Section]:
    """The report's sections in document order (see module docstring)."""
    blocks = _split_by_headings(markdown)
    sections: list[Section] = []
    for title, text in blocks:
        pieces = _split_by_size(text, max_tokens)
        for i, piece in enumerate(pieces, start=1):
            name = title if len(pieces) == 1 else f"{title} (part {i})"
            sections.append(Section(len(sections) + 1, name, piece))
    return sections


def _split_by_headings(markdown: str) -> list[tuple[str, str]]:
    blocks: list[tuple[str, str]] = []
    path: list[tuple[int, str]] = []
    current: list[str] = []
    title = "Preamble"
    fence: str | None = None

    def flush() -> None:
        text = "\n".join(current).strip()
        if text:
            blocks.append((title, text))

    for line in markdown.replace("\r\n", "\n").split("\n"):
        fence_match = _FENCE.match(line)
        if fence_match is not None:
            marker = fence_match.group(1)
            if fence is None:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = None
        heading = _HEADING.match(line) if fence is None else None
        if heading is not None:
            flush()
            current = []
            level = len(heading.group(1))
            path = [(lvl, name) for lvl, name in path if lvl < level]
            path.append((level, heading.group(2).strip()))
            title = " > ".join(name for _lvl, name in path)
        current.append(line)
    flush()
    return blocks


def _split_by_size(text: str, max_tokens: int) -> list[str]:
    if estimate_tokens(text) <= max_tokens:
        return [text]
    units = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    if len(units) == 1:
        units = [ln for ln in text.split("\n") if ln.strip()]
    pieces: list[str] = []
    current: list[str] = []
    for unit in units:
        for part in _hard_split(unit, max_tokens):
            candidate = "\n\n".join([*current, part])
            if current and estimate_tokens(candidate) > max_tokens:
                pieces.append("\n\n".join(current))
                current = [part]
            else:
                current.append(part)
    if current:
        pieces.append("\n\n".join(current))
    return pieces


def _hard_split(unit: str, max_tokens: int) -> list[str]:
    if estimate_tokens(unit) <= max_tokens:
        return [unit]
    width = max(1, (max_tokens - 1) * CHARS_PER_TOKEN)
    parts: list[str] = []
    rest = unit
    while rest:
        if len(rest) <= width:
            parts.append(rest)
            break
        cut = rest.rfind(" ", 0, width)
        cut = cut if cut > width // 2 else width
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return parts
