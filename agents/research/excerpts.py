"""Which part of a long page the researcher sees, and which sources a question gets."""

from __future__ import annotations

from collections.abc import Sequence

from agents.sources.base import Source
from agents.sources.bm25 import BM25Index
from agents.sources.text import split_passages

QUALITY = {"page": 1.0, "document": 0.9, "web": 0.6}


def relevant_excerpt(text: str, query: str, *, max_chars: int) -> str:
    """`text` when short enough, else its passages most relevant to `query`, in page order."""
    if len(text) <= max_chars:
        return text
    passages = split_passages(text, target_chars=max(200, max_chars // 3))
    hits = BM25Index(passages).search(query, limit=len(passages))
    order = [h.index for h in hits] or list(range(len(passages)))
    chosen: list[int] = []
    size = 0
    for i in order:
        if size + len(passages[i]) > max_chars and chosen:
            continue
        chosen.append(i)
        size += len(passages[i]) + 5
        if size >= max_chars:
            break
    return "\n…\n".join(passages[i][:max_chars] for i in sorted(chosen))


def rank_sources(
    numbered: Sequence[tuple[int, Source]], query: str, *, limit: int
) -> list[tuple[int, Source]]:
    """The `limit` sources most relevant to `query`, best first: BM25 on title and text, times
    a quality weight (a page read in full 1.0, a corpus document 0.9, a search snippet 0.6).
    A source sharing no term with the query is left out, unless it is a company page."""
    if not numbered:
        return []
    index = BM25Index([f"{s.title}\n{s.text[:6000]}" for _, s in numbered])
    hits = index.search(query, limit=len(numbered))
    weighted = sorted(
        ((h.score * QUALITY.get(numbered[h.index][1].kind, 1.0), h.index) for h in hits),
        key=lambda t: (-t[0], t[1]),
    )
    order = [i for _, i in weighted]
    seen = set(order)
    order += [i for i, (_, s) in enumerate(numbered) if s.company and i not in seen]
    return [numbered[i] for i in order[:limit]]
