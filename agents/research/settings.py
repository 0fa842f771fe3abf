"""The `research` settings group: corpus, web search providers, reading politeness, depths.

Declared once here (the variable of each field is its alias); server/settings.py reads the
environment into it and server/wiring.py hands it to the research pipeline.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from pydantic import model_validator

from agents.research.config import DEPTHS, DepthProfile, ResearchLimits
from agents.research.policy import ContentPolicy, PolicyError, parse_deny_rules
from agents.settings_model import Csv, SettingsGroup, env
from agents.sources.reader import ReadPolicy
from agents.sources.search.brave import BRAVE_URL
from agents.sources.search.factory import SearchConfig
from agents.sources.search.tavily import TAVILY_URL
from agents.sources.shared_gate import SharedHostGate

_DEPTH_FIELDS = {f.name for f in dataclasses.fields(DepthProfile)}


def parse_depth(name: str, raw: str, base: DepthProfile) -> DepthProfile:
    """`base` with the `key=int` pairs of `raw` applied (keys: DepthProfile's fields)."""
    changes: dict[str, int] = {}
    for pair in (p.strip() for p in raw.split(",")):
        if not pair:
            continue
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or key not in _DEPTH_FIELDS or not value.strip().isdigit():
            raise ValueError(
                f"{name}: expected key=integer pairs of {sorted(_DEPTH_FIELDS)}, got {pair!r}"
            )
        changes[key] = int(value)
    return dataclasses.replace(base, **changes)


class ResearchSettings(SettingsGroup):
    # Sources
    corpus_dir: Path | None = env("QUBITZ_CORPUS_DIR")
    site_pages: int = env("QUBITZ_RESEARCH_SITE_PAGES", default=6, ge=0)
    # Web search APIs
    search_providers: Csv = env("QUBITZ_SEARCH_PROVIDER", default=())
    searxng_url: str = env("QUBITZ_SEARXNG_URL", default="")
    tavily_api_key: str = env("TAVILY_API_KEY", default="", repr=False)
    tavily_url: str = env("QUBITZ_TAVILY_URL", default=TAVILY_URL)
    brave_api_key: str = env("BRAVE_API_KEY", default="", repr=False)
    brave_url: str = env("QUBITZ_BRAVE_URL", default=BRAVE_URL)
    search_timeout: float = env("QUBITZ_SEARCH_TIMEOUT", default=15.0, gt=0)
    search_results: int = env("QUBITZ_SEARCH_RESULTS", default=8, ge=1)
    search_read_pages: int = env("QUBITZ_SEARCH_READ_PAGES", default=3, ge=0)
    # Reading politeness
    respect_robots: bool = env("QUBITZ_RESEARCH_RESPECT_ROBOTS", default=True)
    host_concurrency: int = env("QUBITZ_RESEARCH_HOST_CONCURRENCY", default=2, ge=1)
    politeness_delay: float = env("QUBITZ_RESEARCH_POLITENESS_DELAY", default=1.0, ge=0)
    page_chars: int = env("QUBITZ_RESEARCH_PAGE_CHARS", default=20_000, ge=1)
    # Limits
    concurrency: int = env("QUBITZ_RESEARCH_CONCURRENCY", default=3, ge=1)
    max_query_chars: int = env("QUBITZ_RESEARCH_MAX_QUERY_CHARS", default=4000, ge=1)
    deny_rules: Csv = env("QUBITZ_DENY_RULES", default=())
    depth_quick: str = env("QUBITZ_RESEARCH_DEPTH_QUICK", default="")
    depth_standard: str = env("QUBITZ_RESEARCH_DEPTH_STANDARD", default="")
    depth_deep: str = env("QUBITZ_RESEARCH_DEPTH_DEEP", default="")

    @model_validator(mode="after")
    def _check(self) -> ResearchSettings:
        problems = self.search().problems()
        if problems:
            raise ValueError("QUBITZ_SEARCH_PROVIDER: " + "; ".join(problems))
        self.depths()  # a bad QUBITZ_RESEARCH_DEPTH_* is refused at start
        try:
            parse_deny_rules(self.deny_rules)
        except PolicyError as exc:
            raise ValueError(f"QUBITZ_DENY_RULES: {exc}") from exc
        return self

    def search(self) -> SearchConfig:
        return SearchConfig(
            providers=tuple(p.lower() for p in self.search_providers),
            searxng_url=self.searxng_url.strip(),
            tavily_api_key=self.tavily_api_key.strip(),
            tavily_url=self.tavily_url.strip(),
            brave_api_key=self.brave_api_key.strip(),
            brave_url=self.brave_url.strip(),
            timeout=self.search_timeout,
            results=self.search_results,
            read_pages=self.search_read_pages,
        )

    def read(self) -> ReadPolicy:
        return ReadPolicy(
            respect_robots=self.respect_robots,
            per_host=self.host_concurrency,
            delay=self.politeness_delay,
            max_chars=self.page_chars,
        )

    def host_gate(self, redis: Any) -> SharedHostGate | None:
        """The per-host politeness gate shared by the replicas through `redis` (the service's
        Redis client), or None without Redis (each reader keeps its own)."""
        return SharedHostGate.for_policy(redis, self.read()) if redis is not None else None

    def depths(self) -> dict[str, DepthProfile]:
        raw = {"quick": self.depth_quick, "standard": self.depth_standard, "deep": self.depth_deep}
        return {
            name: parse_depth(f"QUBITZ_RESEARCH_DEPTH_{name.upper()}", raw[name], base)
            if raw.get(name, "").strip()
            else base
            for name, base in DEPTHS.items()
        }

    def limits(self) -> ResearchLimits:
        return ResearchLimits(concurrency=self.concurrency, depths=self.depths())

    def content_policy(self) -> ContentPolicy:
        return ContentPolicy.default(
            extra=parse_deny_rules(self.deny_rules), max_query_chars=self.max_query_chars
        )
