"""The research settings (web search providers, reading politeness, depth limits), read once
from the environment by server/settings.py and handed to agents/research by server/wiring.py.

QUBITZ_SEARCH_PROVIDER        comma list of searxng, tavily, brave (unset: no search API)
QUBITZ_SEARXNG_URL            base URL of a SearXNG instance with the JSON format enabled
TAVILY_API_KEY, BRAVE_API_KEY API keys (QUBITZ_TAVILY_URL / QUBITZ_BRAVE_URL: other base URLs)
QUBITZ_SEARCH_TIMEOUT, QUBITZ_SEARCH_RESULTS, QUBITZ_SEARCH_READ_PAGES
QUBITZ_RESEARCH_RESPECT_ROBOTS, QUBITZ_RESEARCH_HOST_CONCURRENCY,
QUBITZ_RESEARCH_POLITENESS_DELAY, QUBITZ_RESEARCH_SITE_PAGES, QUBITZ_RESEARCH_PAGE_CHARS
QUBITZ_RESEARCH_DEPTH_QUICK|STANDARD|DEEP   e.g. "rounds=2,followups=2,pages=30,megabytes=20"
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from agents.research.config import DEPTHS, DepthProfile
from agents.sources.reader import ReadPolicy
from agents.sources.search.brave import BRAVE_URL
from agents.sources.search.factory import SearchConfig
from agents.sources.search.tavily import TAVILY_URL


class ResearchSettingsError(ValueError):
    pass


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ResearchSettingsError(f"{name} must be a number, got {raw!r}") from exc


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ResearchSettingsError(f"{name} must be true or false, got {raw!r}")


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
            raise ResearchSettingsError(
                f"{name}: expected key=integer pairs of {sorted(_DEPTH_FIELDS)}, got {pair!r}"
            )
        changes[key] = int(value)
    return dataclasses.replace(base, **changes)


@dataclass(frozen=True)
class ResearchWebSettings:
    search: SearchConfig = field(default_factory=SearchConfig)
    read: ReadPolicy = field(default_factory=ReadPolicy)
    site_pages: int = 6
    depths: dict[str, DepthProfile] = field(default_factory=lambda: dict(DEPTHS))


def research_web_settings(env: Mapping[str, str]) -> ResearchWebSettings:
    providers = tuple(
        p.strip().lower() for p in env.get("QUBITZ_SEARCH_PROVIDER", "").split(",") if p.strip()
    )
    search = SearchConfig(
        providers=providers,
        searxng_url=env.get("QUBITZ_SEARXNG_URL", "").strip(),
        tavily_api_key=env.get("TAVILY_API_KEY", "").strip(),
        tavily_url=env.get("QUBITZ_TAVILY_URL", "").strip() or TAVILY_URL,
        brave_api_key=env.get("BRAVE_API_KEY", "").strip(),
        brave_url=env.get("QUBITZ_BRAVE_URL", "").strip() or BRAVE_URL,
        timeout=_number(env, "QUBITZ_SEARCH_TIMEOUT", 15.0),
        results=int(_number(env, "QUBITZ_SEARCH_RESULTS", 8)),
        read_pages=int(_number(env, "QUBITZ_SEARCH_READ_PAGES", 3)),
    )
    problems = search.problems()
    if problems:
        raise ResearchSettingsError("QUBITZ_SEARCH_PROVIDER: " + "; ".join(problems))
    read = ReadPolicy(
        respect_robots=_flag(env, "QUBITZ_RESEARCH_RESPECT_ROBOTS", True),
        per_host=int(_number(env, "QUBITZ_RESEARCH_HOST_CONCURRENCY", 2)),
        delay=_number(env, "QUBITZ_RESEARCH_POLITENESS_DELAY", 1.0),
        max_chars=int(_number(env, "QUBITZ_RESEARCH_PAGE_CHARS", 20_000)),
    )
    depths = dict(DEPTHS)
    for name in list(depths):
        var = f"QUBITZ_RESEARCH_DEPTH_{name.upper()}"
        if env.get(var, "").strip():
            depths[name] = parse_depth(var, env[var], depths[name])
    return ResearchWebSettings(
        search=search,
        read=read,
        site_pages=int(_number(env, "QUBITZ_RESEARCH_SITE_PAGES", 6)),
        depths=depths,
    )
