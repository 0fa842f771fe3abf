"""Okapi BM25 ranking of report sections for a question (pure Python, built per request).

score(q, d) = sum over t in q of idf(t) * tf(t,d) * (k1 + 1) / (tf(t,d) + K(d))
K(d)        = k1 * (1 - b + b * |d| / avgdl)
idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from agents.chat.sections import Section

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP_WORDS = (
    "a an and are as at be by can do does for from has have how i in is it its me of on or our "
    "please report section tell that the their them there these they this to was what when where "
    "which who why will with you your about summarize summarise explain"
)
_STOP = frozenset(_STOP_WORDS.split())


def terms(text: str) -> list[str]:
    """Lower-case word terms without stop words, with a light plural fold."""
    out = []
    for word in _WORD.findall(text.lower()):
        if word in _STOP:
            continue
        if len(word) > 4 and word.endswith("ies"):
            word = word[:-3] + "y"
        elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


def rank_sections(
    sections: Sequence[Section], query: str, *, k1: float = 1.5, b: float = 0.75
) -> list[tuple[Section, float]]:
    """Sections scoring above zero for `query`, best first (ties in document order)."""
    docs = [Counter(terms(f"{s.title}\n{s.text}")) for s in sections]
    n = len(docs)
    if n == 0:
        return []
    lengths = [sum(d.values()) for d in docs]
    avgdl = sum(lengths) / n or 1.0
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d.keys())
    q = list(dict.fromkeys(terms(query)))
    scored: list[tuple[Section, float]] = []
    for section, tf, dl in zip(sections, docs, lengths, strict=True):
        norm = k1 * (1.0 - b + b * dl / avgdl)
        score = 0.0
        for t in q:
            f = tf.get(t, 0)
            if f:
                idf = math.log(1.0 + (n - df[t] + 0.5) / (df[t] + 0.5))
                score += idf * f * (k1 + 1.0) / (f + norm)
        if score > 0.0:
            scored.append((section, score))
    scored.sort(key=lambda pair: (-pair[1], pair[0].number))
    return scored
