"""The workspace document corpus: a folder of md/txt/html/pdf files searched with BM25.

The folder is read in a thread and indexed in memory; the index is rebuilt when a file is added,
removed or changed (checked once per job by size and mtime). When no folder is configured, or it
holds no readable document, the bundled sample corpus (agents/sources/sample_corpus) is used.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agents.sources.base import JobSources, Source, SourceError, SourceQuery, SourceResult
from agents.sources.bm25 import BM25Index
from agents.sources.text import html_to_text, markdown_title, pdf_to_text, split_passages

SAMPLE_CORPUS_DIR = Path(__file__).parent / "sample_corpus"
SUFFIXES = frozenset({".md", ".markdown", ".txt", ".html", ".htm", ".pdf"})


@dataclass(frozen=True)
class CorpusDocument:
    doc_id: str  # path relative to the corpus root, with forward slashes
    title: str
    text: str


@dataclass(frozen=True)
class _Passage:
    doc: int
    text: str


class CorpusIndex:
    """Documents, their passages, and a BM25 index over the passages."""

    def __init__(self, documents: Sequence[CorpusDocument], *, passage_chars: int = 1200):
        self.documents = list(documents)
        self._passages: list[_Passage] = []
        for i, doc in enumerate(self.documents):
            for text in split_passages(doc.text, target_chars=passage_chars):
                self._passages.append(_Passage(i, text))
        # The title is part of every passage's searchable text, not of the excerpt returned.
        self._bm25 = BM25Index([f"{self.documents[p.doc].title}\n{p.text}" for p in self._passages])

    def match_documents(self, names: Sequence[str]) -> tuple[set[int], list[str]]:
        """Indices of documents named by id, file name or stem (case-insensitive); unknowns."""
        wanted = {n.strip().lower(): n for n in names}
        found: set[int] = set()
        matched: set[str] = set()
        for i, doc in enumerate(self.documents):
            path = Path(doc.doc_id)
            for key in (doc.doc_id.lower(), path.name.lower(), path.stem.lower()):
                if key in wanted:
                    found.add(i)
                    matched.add(key)
        return found, [orig for key, orig in wanted.items() if key not in matched]

    def search(
        self, query: str, *, limit: int, documents: set[int] | None = None, per_doc: int = 2
    ) -> list[Source]:
        """The best passages for `query`, grouped per document (best document first)."""
        allowed = None
        if documents is not None:
            allowed = {i for i, p in enumerate(self._passages) if p.doc in documents}
        hits = self._bm25.search(query, limit=limit * 4 * per_doc, allowed=allowed)
        order: list[int] = []
        excerpts: dict[int, list[str]] = {}
        for hit in hits:
            passage = self._passages[hit.index]
            chosen = excerpts.setdefault(passage.doc, [])
            if not chosen:
                order.append(passage.doc)
            if len(chosen) < per_doc:
                chosen.append(passage.text)
        out = []
        for doc_index in order[:limit]:
            doc = self.documents[doc_index]
            out.append(
                Source(
                    ref=f"doc:{doc.doc_id}",
                    title=doc.title,
                    text="\n\n…\n\n".join(excerpts[doc_index]),
                    kind="document",
                    provider="corpus",
                )
            )
        return out


def read_document(path: Path, root: Path) -> CorpusDocument | None:
    """One corpus file as text (blocking); None when it has no text."""
    suffix = path.suffix.lower()
    data = path.read_bytes()
    title = ""
    if suffix == ".pdf":
        text = pdf_to_text(data)
    elif suffix in (".html", ".htm"):
        title, text = html_to_text(data.decode("utf-8", errors="replace"))
    else:
        text = data.decode("utf-8", errors="replace").strip()
        if suffix in (".md", ".markdown"):
            title = markdown_title(text)
    if not text:
        return None
    doc_id = path.relative_to(root).as_posix()
    return CorpusDocument(doc_id=doc_id, title=title or path.stem.replace("_", " "), text=text)


def _scan(root: Path, max_files: int, max_bytes: int) -> list[tuple[Path, int, int]]:
    found: list[tuple[Path, int, int]] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or path.suffix.lower() not in SUFFIXES:
                continue
            st = path.stat()
            if st.st_size <= max_bytes:
                found.append((path, st.st_size, st.st_mtime_ns))
            if len(found) >= max_files:
                return found
    return found


@dataclass(frozen=True)
class _Loaded:
    index: CorpusIndex
    signature: tuple[tuple[str, int, int], ...]
    root: Path
    skipped: tuple[str, ...]
    is_sample: bool


def load_corpus(
    root: Path | None, *, max_files: int = 2000, max_file_bytes: int = 20_000_000
) -> _Loaded:
    """Read and index `root` (blocking), falling back to the sample corpus when it is empty."""
    for candidate, is_sample in ((root, False), (SAMPLE_CORPUS_DIR, True)):
        if candidate is None or not candidate.is_dir():
            continue
        files = _scan(candidate, max_files, max_file_bytes)
        docs: list[CorpusDocument] = []
        skipped: list[str] = []
        for path, _size, _mtime in files:
            try:
                doc = read_document(path, candidate)
            except Exception as exc:  # pypdf and decoders raise many types; report, skip
                skipped.append(f"{path.relative_to(candidate).as_posix()} ({type(exc).__name__})")
                continue
            if doc is not None:
                docs.append(doc)
        if docs:
            signature = tuple((str(p), s, m) for p, s, m in files)
            return _Loaded(CorpusIndex(docs), signature, candidate, tuple(skipped), is_sample)
    raise SourceError("no document corpus: the configured folder and the sample are empty")


def _signature(root: Path, max_files: int, max_bytes: int) -> tuple[tuple[str, int, int], ...]:
    return tuple((str(p), s, m) for p, s, m in _scan(root, max_files, max_bytes))


class CorpusProvider:
    """BM25 search over a folder of documents (or the bundled sample corpus)."""

    name = "corpus"

    def __init__(
        self,
        root: Path | None,
        *,
        max_files: int = 2000,
        max_file_bytes: int = 20_000_000,
        use_sample_when_empty: bool = True,
    ) -> None:
        self.root = root
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes
        self.use_sample_when_empty = use_sample_when_empty
        self._loaded: _Loaded | None = None
        self._lock = asyncio.Lock()

    def _refresh(self) -> tuple[_Loaded, bool]:
        loaded = self._loaded
        if loaded is not None:
            watch = self.root if self.root is not None and self.root.is_dir() else None
            current = _signature(watch, self.max_files, self.max_file_bytes) if watch else ()
            unchanged = current == loaded.signature or (loaded.is_sample and not current)
            if unchanged:
                return loaded, False
        root = self.root
        if not self.use_sample_when_empty and (root is None or not root.is_dir()):
            raise SourceError(f"corpus folder not found: {root}")
        fresh = load_corpus(root, max_files=self.max_files, max_file_bytes=self.max_file_bytes)
        if fresh.is_sample and not self.use_sample_when_empty:
            raise SourceError(f"no readable documents in the corpus folder {root}")
        return fresh, True

    async def index(self) -> tuple[CorpusIndex, list[str]]:
        """The current index, rebuilt in a thread if the folder changed; notices to report."""
        async with self._lock:
            loaded, rebuilt = await asyncio.to_thread(self._refresh)
            self._loaded = loaded
        notices: list[str] = []
        if rebuilt and loaded.skipped:
            notices.append("Skipped unreadable documents: " + ", ".join(loaded.skipped[:5]))
        return loaded.index, notices

    @property
    def using_sample(self) -> bool:
        return self._loaded is not None and self._loaded.is_sample

    async def for_job(self, job: JobSources) -> SourceResult:
        index, notices = await self.index()
        n = len(index.documents)
        where = "the bundled sample corpus" if self.using_sample else "the workspace corpus"
        notices.append(f"Searching {n} documents in {where}")
        if job.documents is not None:
            found, unknown = index.match_documents(job.documents)
            if unknown:
                notices.append("Documents not found in the corpus: " + ", ".join(unknown))
            if not found:
                notices.append("None of the requested documents exist; the corpus is not used")
        return SourceResult(notices=notices)

    async def search(self, query: SourceQuery) -> SourceResult:
        index, _ = await self.index()
        allowed = None
        if query.documents is not None:
            allowed, _unknown = index.match_documents(query.documents)
            if not allowed:
                return SourceResult()
        text = f"{query.question} {query.topic}"
        return SourceResult(sources=index.search(text, limit=query.max_sources, documents=allowed))
