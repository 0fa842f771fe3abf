"""robots.txt, read once per origin through the SSRF-safe fetcher and parsed with protego.

Rules (RFC 9309): a 2xx answer is parsed; a 4xx answer (no robots.txt) allows everything; a 5xx
answer or an unreachable host disallows the whole origin until the entry expires. Entries are
cached for `ttl` seconds across jobs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from protego import Protego

from agents.netsafe import FetchBlocked, FetchFailed, FetchPolicy, fetch_url


@dataclass(frozen=True)
class RobotsRules:
    parser: Protego | None  # None: no rules (everything allowed) unless `disallow_all`
    disallow_all: bool = False
    fetched_at: float = 0.0
    # Why everything is disallowed, for the job's status ("" when the rules say so).
    why: str = ""

    def refusal(self) -> str:
        """What a skipped page's status says: the rules, or why there were none to read."""
        return self.why or "disallowed by its robots.txt"

    def allows(self, url: str, user_agent: str) -> bool:
        if self.disallow_all:
            return False
        if self.parser is None:
            return True
        return bool(self.parser.can_fetch(url, user_agent))

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay is not None else None

    def sitemaps(self) -> list[str]:
        return list(self.parser.sitemaps) if self.parser is not None else []


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class RobotsCache:
    def __init__(
        self,
        client: httpx.AsyncClient,
        policy: FetchPolicy,
        *,
        ttl: float = 3600.0,
        max_bytes: int = 512 * 1024,
        max_entries: int = 2048,
    ) -> None:
        self.client = client
        self.policy = FetchPolicy(
            allowed_schemes=policy.allowed_schemes,
            allow_private=policy.allow_private,
            allowed_hosts=policy.allowed_hosts,
            max_bytes=min(policy.max_bytes, max_bytes),
            timeout=min(policy.timeout, 10.0),
            max_redirects=policy.max_redirects,
            user_agent=policy.user_agent,
            accept="text/plain, */*;q=0.5",
        )
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, RobotsRules] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def _load(self, origin: str) -> RobotsRules:
        now = time.monotonic()
        try:
            doc = await fetch_url(self.client, origin + "/robots.txt", policy=self.policy)
        except FetchBlocked:
            raise
        except FetchFailed as exc:
            why = f"its robots.txt could not be fetched ({exc}), so the site is not read"
            return RobotsRules(None, disallow_all=True, fetched_at=now, why=why)
        if 200 <= doc.status < 300:
            try:
                return RobotsRules(Protego.parse(doc.text), fetched_at=now)
            except Exception:  # protego raises plain exceptions on garbage; treat as no rules
                return RobotsRules(None, fetched_at=now)
        if 400 <= doc.status < 500:
            return RobotsRules(None, fetched_at=now)
        why = f"its robots.txt answered HTTP {doc.status}, so the site is not read"
        return RobotsRules(None, disallow_all=True, fetched_at=now, why=why)

    async def rules(self, url: str) -> RobotsRules:
        """The rules for `url`'s origin (fetched when missing or expired)."""
        origin = origin_of(url)
        cached = self._entries.get(origin)
        if cached is not None and time.monotonic() - cached.fetched_at < self.ttl:
            return cached
        lock = self._locks.setdefault(origin, asyncio.Lock())
        async with lock:
            cached = self._entries.get(origin)
            if cached is not None and time.monotonic() - cached.fetched_at < self.ttl:
                return cached
            rules = await self._load(origin)
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
                self._locks = {origin: lock}
            self._entries[origin] = rules
            return rules
