"""BM25 ranking and tokenization."""

from __future__ import annotations

import math

from agents.sources.bm25 import BM25Index, tokenize


def test_tokenize_lowercases_drops_stopwords_and_folds_plurals() -> None:
    """Stopwords vanish; 'Banks'/'bank' and 'companies'/'company' become the same term."""
    assert tokenize("The Banks and the companies") == ["bank", "company"]
    assert tokenize("What is it?") == []
    assert tokenize("Fraud-detection, 2026!") == ["fraud", "detection", "2026"]


def test_document_matching_more_query_terms_ranks_first() -> None:
    """A document with both query terms beats documents with one."""
    docs = [
        "Retail stores use AI for demand forecasting.",
        "Banks use AI for fraud detection and credit scoring.",
        "Fraud is a problem in retail.",
    ]
    hits = BM25Index(docs).search("fraud detection in banks")
    assert [h.index for h in hits][:2] == [1, 2]
    assert 0 not in [h.index for h in hits]  # no shared term (after stopwords): not returned


def test_rare_terms_weigh_more_than_common_ones() -> None:
    """idf: a term in one document scores higher than a term in most documents."""
    docs = ["ai market growth", "ai regulation", "ai tokamak", "ai adoption"]
    index = BM25Index(docs)
    assert index.idf("tokamak") > index.idf("ai") > 0
    # idf formula: ln(1 + (N - df + 0.5) / (df + 0.5))
    assert math.isclose(index.idf("tokamak"), math.log(1 + (4 - 1 + 0.5) / 1.5))
    hits = index.search("ai tokamak")
    assert hits[0].index == 2


def test_term_frequency_saturates_and_length_is_normalised() -> None:
    """Repeating a term helps less each time; a short focused doc beats a long diluted one."""
    index = BM25Index(["fraud", "fraud fraud", "fraud fraud fraud fraud", "other words here"])
    s1, s2, s4 = (index.score(["fraud"], i) for i in range(3))
    assert s1 < s2 < s4
    assert (s4 - s2) < (s2 - s1) * 2  # diminishing returns
    long_doc = "fraud " + " ".join(f"filler{i}" for i in range(60))
    index2 = BM25Index(["fraud detection", long_doc, "unrelated text"])
    hits = index2.search("fraud")
    assert [h.index for h in hits] == [0, 1]


def test_search_respects_allowed_subset_and_limit() -> None:
    """`allowed` restricts the candidates; `limit` caps the hits; empty query gives nothing."""
    docs = [f"ai document number {i}" for i in range(10)]
    index = BM25Index(docs)
    assert {h.index for h in index.search("ai", allowed={3, 7})} == {3, 7}
    assert len(index.search("ai", limit=4)) == 4
    assert index.search("the and of") == []
    assert BM25Index([]).search("ai") == []
