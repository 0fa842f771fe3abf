"""Okapi BM25 over short passages, in pure Python (no index files; rebuilt in memory).

score(q, d) = Σ_t∈q idf(t) · tf(t,d)·(k1+1) / (tf(t,d) + k1·(1 - b + b·|d|/avgdl))
idf(t)      = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))     (always positive)
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]+", re.UNICODE)

_STOPWORDS = """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves"""
STOPWORDS = frozenset(_STOPWORDS.split())


def _stem(word: str) -> str:
    """A deliberately light stemmer: folds common English plural/verb endings."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("es") and word[-3] in "sxz":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens without stopwords, lightly stemmed."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


@dataclass(frozen=True)
class Hit:
    index: int
    score: float


class BM25Index:
    """An immutable BM25 index over `docs` (already tokenized or plain strings)."""

    def __init__(self, docs: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._tfs: list[Counter[str]] = [Counter(tokenize(d)) for d in docs]
        self._lens: list[int] = [sum(tf.values()) for tf in self._tfs]
        self._n = len(docs)
        self._avgdl = (sum(self._lens) / self._n) if self._n else 0.0
        df: Counter[str] = Counter()
        for tf in self._tfs:
            df.update(tf.keys())
        self._idf: dict[str, float] = {
            term: math.log(1.0 + (self._n - n + 0.5) / (n + 0.5)) for term, n in df.items()
        }

    def __len__(self) -> int:
        return self._n

    def idf(self, term: str) -> float:
        return self._idf.get(_stem(term.lower()), 0.0)

    def score(self, query_terms: Sequence[str], index: int) -> float:
        tf = self._tfs[index]
        dl = self._lens[index]
        norm = self.k1 * (1.0 - self.b + self.b * dl / self._avgdl) if self._avgdl else self.k1
        total = 0.0
        for term in query_terms:
            f = tf.get(term, 0)
            if f:
                total += self._idf[term] * f * (self.k1 + 1.0) / (f + norm)
        return total

    def search(self, query: str, *, limit: int = 10, allowed: set[int] | None = None) -> list[Hit]:
        """The best-scoring documents for `query` (score > 0), best first, ties by position."""
        terms = list(dict.fromkeys(tokenize(query)))
        if not terms or not self._n:
            return []
        hits = []
        for i in range(self._n) if allowed is None else sorted(allowed):
            s = self.score(terms, i)
            if s > 0.0:
                hits.append(Hit(i, s))
        hits.sort(key=lambda h: (-h.score, h.index))
        return hits[:limit]
