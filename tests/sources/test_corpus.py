"""The document corpus: file formats, the sample fallback, document filters, re-indexing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from agents.sources.base import JobSources, SourceError, SourceQuery
from agents.sources.corpus import SAMPLE_CORPUS_DIR, CorpusProvider
from agents.sources.text import html_to_text, split_passages


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF showing `text` in Helvetica, with a correct xref table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "fusion.md").write_text("# Fusion Power\n\nTokamak reactors confine plasma.\n")
    (root / "notes.txt").write_text("Quarterly revenue of the bakery grew by nine percent.")
    (root / "sub" / "page.html").write_text(
        "<html><head><title>Wind Farms</title><style>.x{}</style></head>"
        "<body><script>var turbine = 1;</script><h1>Wind</h1><p>Offshore turbines "
        "produce power.</p></body></html>"
    )
    (root / "paper.pdf").write_bytes(minimal_pdf("Quantum annealing solves scheduling"))
    (root / "image.png").write_bytes(b"\x89PNG not indexed")
    return root


def search(provider: CorpusProvider, question: str, **kw: object) -> list:
    query = SourceQuery(question=question, topic="", company_name="", max_sources=3, **kw)  # type: ignore[arg-type]
    return list(asyncio.run(provider.search(query)).sources)


def test_indexes_markdown_text_html_and_pdf(corpus: Path) -> None:
    """Each supported format is searchable by its text; titles come from the document."""
    provider = CorpusProvider(corpus)
    (md,) = search(provider, "tokamak plasma")
    assert md.ref == "doc:fusion.md" and md.title == "Fusion Power" and md.kind == "document"
    assert search(provider, "bakery revenue")[0].ref == "doc:notes.txt"
    html = search(provider, "offshore turbines")[0]
    assert html.ref == "doc:sub/page.html" and html.title == "Wind Farms"
    assert "var turbine" not in html.text
    assert search(provider, "quantum annealing")[0].ref == "doc:paper.pdf"
    assert search(provider, "PNG") == []


def test_empty_or_missing_folder_falls_back_to_the_sample_corpus(tmp_path: Path) -> None:
    """No configured documents: the bundled sample corpus answers, and says so."""
    for root in (None, tmp_path / "nope", tmp_path):
        provider = CorpusProvider(root)
        result = asyncio.run(provider.for_job(JobSources("AI", "Acme", "")))
        assert any("bundled sample corpus" in n for n in result.notices)
        hits = search(provider, "EU AI Act high-risk obligations")
        assert hits[0].ref == "doc:eu_ai_act_summary.md"


def test_sample_corpus_has_between_ten_and_fifteen_documents() -> None:
    """The bundled corpus is big enough to make the offline demo meaningful."""
    files = [p for p in SAMPLE_CORPUS_DIR.iterdir() if p.suffix in {".md", ".txt", ".html"}]
    assert 10 <= len(files) <= 15


def test_sample_fallback_can_be_disabled(tmp_path: Path) -> None:
    """use_sample_when_empty=False makes an empty corpus an error, not a silent sample."""
    provider = CorpusProvider(tmp_path, use_sample_when_empty=False)
    with pytest.raises(SourceError):
        asyncio.run(provider.for_job(JobSources("AI", "Acme", "")))


def test_documents_filter_restricts_results(corpus: Path) -> None:
    """Only the named documents (by id, file name or stem) are searched."""
    provider = CorpusProvider(corpus)
    assert search(provider, "tokamak bakery", documents=("notes",))[0].ref == "doc:notes.txt"
    assert [s.ref for s in search(provider, "tokamak", documents=("notes.txt",))] == []
    assert search(provider, "turbines", documents=("sub/page.html",))[0].ref == "doc:sub/page.html"
    job = asyncio.run(provider.for_job(JobSources("", "", "", documents=("ghost.md",))))
    assert any("ghost.md" in n for n in job.notices)


def test_index_is_rebuilt_when_a_file_changes(corpus: Path) -> None:
    """Adding or editing a document is picked up by the next search."""
    provider = CorpusProvider(corpus)
    assert search(provider, "zeppelin") == []
    (corpus / "new.md").write_text("# Airships\n\nA zeppelin floats.")
    assert search(provider, "zeppelin")[0].ref == "doc:new.md"
    path = corpus / "notes.txt"
    path.write_text("Now about hydroponics only.")
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse file systems
    assert search(provider, "hydroponics")[0].ref == "doc:notes.txt"


def test_unreadable_pdf_is_skipped_and_reported(corpus: Path) -> None:
    """A broken PDF does not break the corpus; the job is told which file was skipped."""
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 garbage")
    provider = CorpusProvider(corpus)
    result = asyncio.run(provider.for_job(JobSources("", "", "")))
    assert any("broken.pdf" in n for n in result.notices)
    assert search(provider, "tokamak")[0].ref == "doc:fusion.md"


def test_html_to_text_keeps_visible_text_and_title() -> None:
    """Scripts, styles and head are dropped; block elements separate lines; entities decode."""
    title, text = html_to_text(
        "<html><head><title> A &amp; B </title><script>x()</script></head>"
        "<body><h1>Head</h1><p>One&nbsp;two</p><noscript>no</noscript><li>Item</li></body></html>"
    )
    assert title == "A & B"
    assert text == "Head\n\nOne\xa0two\n\nItem"
    assert "x()" not in text and "no" not in text.split()


def test_split_passages_respects_the_target_size() -> None:
    """Paragraphs are grouped up to the target; an overlong paragraph is cut at spaces."""
    text = "\n\n".join(["word " * 50] * 6) + "\n\n" + "long " * 600
    passages = split_passages(text, target_chars=600)
    assert all(len(p) <= 600 for p in passages)
    assert "".join(passages).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace(
        "\n", ""
    )
