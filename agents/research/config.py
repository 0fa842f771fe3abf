"""Research limits and the depth profiles (quick | standard | deep)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Depth = Literal["quick", "standard", "deep"]

MIN_QUESTIONS = 3
MAX_QUESTIONS = 8


@dataclass(frozen=True)
class DepthProfile:
    questions: int  # asked of the planner; the answer is clamped to 3..8
    sources_per_question: int  # per provider and question
    notes_tokens: int  # researcher notes per question
    report_tokens: int  # the deep research report
    discovery_tokens: int  # the AI discovery report
    use_cases: int  # asked of the analyst (at most this many are kept)
    web_search_uses: int
    # The research loop (search → read → note what is unknown → follow-up searches)
    rounds: int = 2  # per research question
    followups: int = 2  # follow-up searches per round after the first
    pages: int = 30  # pages read per job (all providers, company site included)
    megabytes: int = 20  # bytes read per job, in MiB


DEPTHS: dict[str, DepthProfile] = {
    "quick": DepthProfile(
        3, 3, 500, 1800, 1200, 3, 2, rounds=1, followups=0, pages=12, megabytes=8
    ),
    "standard": DepthProfile(5, 4, 800, 3500, 2000, 5, 3, rounds=2, followups=2, pages=30),
    "deep": DepthProfile(
        8, 6, 1200, 7000, 3500, 8, 5, rounds=3, followups=3, pages=60, megabytes=40
    ),
}


@dataclass(frozen=True)
class ResearchLimits:
    # Concurrency
    concurrency: int = 3  # research questions worked at the same time
    # The questions' claims calls one at a time (each then sees the sentences the others kept,
    # and is not offered them again). None: when the researcher is the embedded model, which
    # runs one call at a time anyway; searches and reads still overlap.
    serial_claims: bool | None = None
    # Limits
    excerpt_chars: int = 1500  # of one source, in the researcher's prompt
    notes_chars: int = 2500  # of one question's notes, in the writer's prompt
    report_chars_for_analysis: int = 12_000  # of the report, in the analyst's prompt
    max_urls: int = 4  # company URL plus URLs named in the prompt
    company_profile_chars: int = 4000  # of the company's pages, in the analyst's prompt
    claims_per_question: int = 12  # kept claims per question, in the writer's prompt
    chunk_chars: int = 160  # stream_chunk coalescing: emit once this much text is buffered
    depths: dict[str, DepthProfile] = field(default_factory=lambda: dict(DEPTHS))

    def depth(self, name: str) -> DepthProfile:
        return self.depths.get(name, self.depths["standard"])
