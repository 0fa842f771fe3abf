"""Source numbering and citation checking.

`SourceRegistry` gives every gathered source one number for the whole job (the same source
found twice keeps its first number). `CitationFilter` works on streamed text: it holds back a
possible citation until it is complete, keeps the numbers that name a gathered source, and drops
(and counts) the others; a citation left empty is removed with the space before it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from agents.sources.base import Source
from agents.sources.canonical import dedupe_key, jaccard, shingles

_DASH = "\\-\u2013"  # hyphen (escaped for a character class), en dash
_RANGE = rf"\d+(?:\s*[{_DASH}]\s*\d+)?"
_CITATION = re.compile(rf"\[(?:sources?\s*)?({_RANGE}(?:\s*[,;]\s*{_RANGE})*)\]", re.I)
_PARTIAL = re.compile(rf"\[(?:s(?:o(?:u(?:r(?:c(?:e(?:s)?)?)?)?)?)?\s*)?[\d\s,;{_DASH}]*\Z", re.I)
_MAX_HOLD = 40
_MAX_RANGE = 50
_NOT_A_SOURCE = 1000


_NEAR_DUPLICATE = 0.8  # Jaccard similarity of word 5-shingles
_MIN_CHARS_FOR_DUPLICATE = 200


def _key(source: Source) -> str:
    return dedupe_key(source.url) if source.url else source.ref


class SourceRegistry:
    """Numbers sources once per job. Pages are keyed by canonical URL (`www.`, tracking
    parameters, fragments and trailing slashes folded); a page whose text is a near-duplicate
    of a numbered page's gets that page's number. A snippet later read in full is upgraded."""

    def __init__(self) -> None:
        self._by_ref: dict[str, int] = {}
        self._sources: list[Source] = []
        self._shingles: dict[int, frozenset[int]] = {}
        self.merged = 0  # duplicates and near-duplicates folded into an earlier number

    def _near(self, source: Source) -> int | None:
        if source.kind == "document" or len(source.text) < _MIN_CHARS_FOR_DUPLICATE:
            return None
        mine = shingles(source.text)
        for n, theirs in self._shingles.items():
            if jaccard(mine, theirs) >= _NEAR_DUPLICATE:
                return n
        self._shingles[len(self._sources) + 1] = mine
        return None

    def add(self, source: Source) -> int:
        key = _key(source)
        n = self._by_ref.get(key)
        if n is not None:
            known = self._sources[n - 1]
            if known.kind == "web" and source.kind == "page":
                self._sources[n - 1] = source  # the page read in full replaces its snippet
            elif source is not known:
                self.merged += 1
            return n
        n = self._near(source)
        if n is not None:
            self._by_ref[key] = n
            self.merged += 1
            return n
        self._sources.append(source)
        n = len(self._sources)
        self._by_ref[key] = n
        return n

    def get(self, n: int) -> Source:
        return self._sources[n - 1]

    def add_all(self, sources: Iterable[Source]) -> list[tuple[int, Source]]:
        out: list[tuple[int, Source]] = []
        for s in sources:
            n = self.add(s)
            if all(n != m for m, _ in out):
                out.append((n, self._sources[n - 1]))
        return out

    def numbered(self) -> list[tuple[int, Source]]:
        return list(enumerate(self._sources, start=1))

    def numbers(self) -> set[int]:
        return set(range(1, len(self._sources) + 1))

    def __len__(self) -> int:
        return len(self._sources)


def _numbers(body: str) -> list[int] | None:
    out: list[int] = []
    for part in re.split(r"\s*[,;]\s*", body.strip()):
        bounds = re.split(rf"\s*[{_DASH}]\s*", part)
        if len(bounds) == 2:
            lo, hi = int(bounds[0]), int(bounds[1])
            if hi < lo or hi - lo > _MAX_RANGE:
                return None  # not a citation range (e.g. "[2020-2030]")
            out.extend(range(lo, hi + 1))
        else:
            out.append(int(bounds[0]))
    if any(n >= _NOT_A_SOURCE for n in out):
        return None  # a year or other figure in brackets, e.g. "[2024]"
    return out


class CitationFilter:
    """Streaming: `feed()` text as it arrives, `flush()` at the end; `removed` counts drops."""

    def __init__(self, valid: set[int]) -> None:
        self.valid = valid
        self.removed = 0
        self.cited: set[int] = set()
        self._pending = ""

    def _rewrite(self, match: re.Match[str]) -> str:
        numbers = _numbers(match.group(1))
        if numbers is None:
            return match.group(0)
        kept = [n for n in dict.fromkeys(numbers) if n in self.valid]
        self.removed += len(set(numbers)) - len(kept)
        self.cited.update(kept)
        return "".join(f"[{n}]" for n in kept)

    def _process(self, text: str) -> str:
        out: list[str] = []
        pos = 0
        for match in _CITATION.finditer(text):
            replacement = self._rewrite(match)
            before = text[pos : match.start()]
            if not replacement:
                before = before.rstrip(" \t")
            out.append(before)
            out.append(replacement)
            pos = match.end()
        out.append(text[pos:])
        return "".join(out)

    def feed(self, text: str) -> str:
        data = self._pending + text
        # Hold back a trailing incomplete citation and the whitespace before it.
        hold_from = len(data)
        bracket = data.rfind("[")
        if bracket != -1 and len(data) - bracket <= _MAX_HOLD and _PARTIAL.match(data, bracket):
            hold_from = bracket
        while hold_from > 0 and data[hold_from - 1] in " \t":
            hold_from -= 1
        ready, self._pending = data[:hold_from], data[hold_from:]
        processed = self._process(ready)
        return processed

    def flush(self) -> str:
        data, self._pending = self._pending, ""
        return self._process(data)

    def filter(self, text: str) -> str:
        """Whole-text convenience: feed + flush."""
        return self.feed(text) + self.flush()


def _md_text(text: str) -> str:
    return re.sub(r"[\[\]\n\r]", " ", text).strip()


def sources_section(numbered: Sequence[tuple[int, Source]], *, heading: str = "Sources") -> str:
    """A Markdown section listing the sources with their job-wide numbers: title, site, URL
    and the date the page was read (corpus documents: title and document id)."""
    lines = [f"## {heading}", ""]
    if not numbered:
        lines.append("No sources were gathered.")
    for n, src in numbered:
        title = _md_text(src.title) or "Untitled"
        if src.url:
            site = f" {_md_text(src.site)}." if src.site else ""
            accessed = f" Accessed {src.accessed}." if src.accessed else ""
            lines.append(f"- \\[{n}\\] {title}.{site} <{src.url}>{accessed}")
        else:
            lines.append(f"- \\[{n}\\] {title} (document `{src.ref.removeprefix('doc:')}`)")
    return "\n".join(lines) + "\n"
