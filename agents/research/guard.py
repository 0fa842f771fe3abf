"""The report guard: streamed Markdown in, complete lines out, with
- every factual sentence cited: outside advisory sections (recommendations, roadmap,
  opportunities: proposals, not findings) a
  sentence of four words or more without a `[n]` is dropped;
- no sentence repeated, no heading repeated (the title included);
- nothing said about the company that no source said: a sentence naming the company (in any
  section, advisory ones included) is dropped unless it cites a source allowed to speak of it
  (`company_sources`: the company's own pages and sources whose kept quote names it).
  `CompanyRule` is that rule alone; the use cases' texts pass it too (write.py), with one
  allowance there: a use case is a proposal, so a sentence that names the company only as the
  subject or object of a proposal ("Northwind Freight could pilot ...", "... would help
  Northwind Freight cut ...") says what it could do, not what it is, and is kept unless it has
  a figure or a word of fact ("has", "uses", "already" ...). The reports stay strict (their
  writers are asked to phrase proposals without the name).

Runs after the citation filter, so `[n]` left in the text names a gathered source.
"""

from __future__ import annotations

import re
from collections.abc import Set

_CITED = re.compile(r"\[\d+\]")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*)$")
_SENTENCE_END = re.compile(r"(?<=[.!?])(?:\s*\[\d+\])*\s+(?=[A-Z0-9\"“(*#\[])")
_LIST_PREFIX = re.compile(r"^(\s*(?:[-*+]|\d+[.)])\s+)")
_WORD = re.compile(r"[^\W_]+")
ADVISORY = ("recommendation", "roadmap", "next step", "opportunit")


def _key(text: str) -> str:
    return " ".join(_WORD.findall(_CITED.sub(" ", text).lower()))


def split_sentences(text: str) -> list[str]:
    """Sentences of one line, each keeping its trailing citations."""
    out: list[str] = []
    pos = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        out.append(text[pos:end].strip())
        pos = end
    tail = text[pos:].strip()
    if tail:
        out.append(tail)
    return out


def _folded(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


# A proposal names what someone could do: a modal verb right after the company's name (an
# adverb may come between) or within the three words before it ("could help <company> ...").
_MODALS = frozenset(
    ["could", "can", "should", "would", "may", "might", "will", "shall", "must", "need",
     "needs", "ought"]
)  # fmt: skip
_ADVERBS = frozenset(["also", "then", "now", "first", "further", "therefore", "thus", "still"])
_DIGIT = re.compile(r"\d")
# Words that state what is, or was, the case: a sentence with one is not a mere proposal.
_FACTUAL = frozenset(
    ["already", "currently", "today", "recently", "successfully", "has", "have", "had", "was",
     "were", "is", "are", "uses", "operates", "implemented", "deployed", "launched"]
)  # fmt: skip


def _is_proposal(words: list[str], company: list[str]) -> bool:
    """Whether every mention of `company` in `words` is in a proposal phrase."""
    if _FACTUAL & set(words):
        return False
    n = len(company)
    mentions = [i for i in range(len(words) - n + 1) if words[i : i + n] == company]
    for i in mentions:
        after = words[i + n : i + n + 2]
        before = words[max(0, i - 3) : i]
        follows = bool(after) and (
            after[0] in _MODALS or (after[0] in _ADVERBS and after[1:2] and after[1] in _MODALS)
        )
        if not follows and not any(w in _MODALS for w in before):
            return False
    return bool(mentions)


class CompanyRule:
    """Nothing said about the company that no source said: a sentence naming the company is
    unsupported unless it cites (`[n]`) a source allowed to speak of it (`company_sources`),
    or, in proposals (`proposals=True`), names it only in proposal phrases and has no figure."""

    def __init__(
        self, company: str, company_sources: Set[int] = frozenset(), *, proposals: bool = False
    ) -> None:
        self._company = _folded(company)
        self._company_sources = company_sources
        self.proposals = proposals
        self.dropped = 0

    def unsupported(self, sentence: str) -> bool:
        folded = _folded(sentence)
        if not self._company or f" {self._company} " not in f" {folded} ":
            return False
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", sentence)}
        if cited & self._company_sources:
            return False
        if not self.proposals:
            return True
        figure = _DIGIT.search(_CITED.sub(" ", sentence))
        return bool(figure) or not _is_proposal(folded.split(), self._company.split())

    def filter(self, text: str) -> str:
        """`text` without its unsupported sentences (counted in `dropped`), line by line."""
        lines: list[str] = []
        for line in text.splitlines():
            prefix_match = _LIST_PREFIX.match(line)
            prefix = prefix_match.group(1) if prefix_match else ""
            kept = []
            for sentence in split_sentences(line[len(prefix) :]):
                if self.unsupported(sentence):
                    self.dropped += 1
                else:
                    kept.append(sentence)
            if kept:
                lines.append(prefix + " ".join(kept))
        return "\n".join(lines)


class ReportGuard:
    def __init__(
        self, *, title: str = "", company: str = "", company_sources: Set[int] = frozenset()
    ) -> None:
        self._rule = CompanyRule(company, company_sources)
        self._pending = ""
        self._headings: set[str] = {_key(title)} if title else set()
        self._sentences: set[str] = set()
        self._advisory = False
        self._blank = False
        self.uncited = 0
        self.repeated = 0

    def _line(self, line: str) -> str | None:
        if not line.strip():
            if self._blank:
                return None
            self._blank = True
            return line
        heading = _HEADING.match(line)
        if heading:
            key = _key(heading.group(2))
            if not key or key in self._headings:
                self.repeated += 1
                return None
            self._headings.add(key)
            self._advisory = any(w in key for w in ADVISORY)
            self._blank = False
            return line
        if line.lstrip().startswith("|"):
            self._blank = False
            return line
        prefix_match = _LIST_PREFIX.match(line)
        prefix = prefix_match.group(1) if prefix_match else ""
        kept: list[str] = []
        for sentence in split_sentences(line[len(prefix) :]):
            key = _key(sentence)
            if not key:
                continue
            if key in self._sentences:
                self.repeated += 1
                continue
            if not self._advisory and len(key.split()) >= 4 and not _CITED.search(sentence):
                self.uncited += 1
                continue
            if self._rule.unsupported(sentence):
                self._rule.dropped += 1
                continue
            self._sentences.add(key)
            kept.append(sentence)
        if not kept:
            return None
        self._blank = False
        return prefix + " ".join(kept)

    @property
    def uncited_company(self) -> int:
        """Sentences dropped because they name the company without a company source."""
        return self._rule.dropped

    def _lines(self, lines: list[str]) -> str:
        out = [processed for line in lines if (processed := self._line(line)) is not None]
        return "".join(f"{line}\n" for line in out)

    def feed(self, text: str) -> str:
        data = self._pending + text
        *complete, self._pending = data.split("\n")
        return self._lines(complete)

    def flush(self) -> str:
        data, self._pending = self._pending, ""
        return self._lines([data]) if data else ""
