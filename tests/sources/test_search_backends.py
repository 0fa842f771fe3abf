"""SearXNG, Tavily and Brave backends against a loopback peer speaking each documented format."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from agents.sources.search.base import CallLimits, SearchBackend, retry_after_seconds
from agents.sources.search.brave import BraveBackend
from agents.sources.search.errors import (
    SearchAuthError,
    SearchBadResponse,
    SearchError,
    SearchRateLimited,
    SearchUnavailable,
)
from agents.sources.search.searxng import SearxngBackend
from agents.sources.search.tavily import TavilyBackend
from bench.research_peers import (
    Hit,
    Peer,
    Response,
    brave_page,
    running_peer,
    searxng_page,
    tavily_page,
)


@dataclass(frozen=True)
class Kind:
    name: str
    path: str
    page: Callable[..., dict[str, Any]]
    build: Callable[[httpx.AsyncClient, str, CallLimits], SearchBackend]


KINDS = [
    Kind("searxng", "/search", searxng_page,
         lambda c, base, lim: SearxngBackend(c, base, limits=lim)),
    Kind("tavily", "/search", tavily_page,
         lambda c, base, lim: TavilyBackend(c, "tvly-test", base_url=base, limits=lim)),
    Kind("brave", "/res/v1/web/search", brave_page,
         lambda c, base, lim: BraveBackend(c, "brave-test", base_url=base, limits=lim)),
]  # fmt: skip
FAST = CallLimits(timeout=2.0, max_retry_wait=1.0, retry_backoff=0.0)


@pytest.fixture
def peer() -> Iterator[Peer]:
    yield from running_peer()


def run_search(kind: Kind, peer: Peer, *, count: int = 3, limits: CallLimits = FAST) -> list:
    async def go() -> list:
        async with httpx.AsyncClient() as client:
            return await kind.build(client, peer.url, limits).search(
                "route planning AI", count=count
            )

    return asyncio.run(go())


def hits(n: int, start: int = 0) -> list[Hit]:
    return [
        (f"https://site{i}.example/a", f"Title {i}", f"Snippet {i}")
        for i in range(start, start + n)
    ]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_results_are_parsed_and_the_request_is_the_documented_one(kind: Kind, peer: Peer) -> None:
    """URL, title and snippet of each result; the query, key and format as documented."""
    peer.answer(kind.path, Response(body=kind.page(hits(3), more=False)))
    found = run_search(kind, peer, count=3)
    assert [(h.url, h.title, h.snippet) for h in found] == hits(3)
    seen = peer.hits(kind.path)[0]
    if kind.name == "searxng":
        assert seen.method == "GET"
        assert seen.query["q"] == ["route planning AI"] and seen.query["format"] == ["json"]
    elif kind.name == "tavily":
        assert seen.method == "POST" and seen.headers["authorization"] == "Bearer tvly-test"
        assert seen.body["query"] == "route planning AI" and seen.body["max_results"] == 3
    else:
        assert seen.method == "GET" and seen.headers["x-subscription-token"] == "brave-test"
        assert seen.query["q"] == ["route planning AI"] and seen.query["offset"] == ["0"]


@pytest.mark.parametrize("kind", [KINDS[0], KINDS[2]], ids=lambda k: k.name)
def test_a_second_page_is_requested_when_the_first_is_short(kind: Kind, peer: Peer) -> None:
    """SearXNG pageno=2 / Brave offset=1 until `count` results are found."""
    peer.answer(
        kind.path,
        Response(body=kind.page(hits(2), more=True)),
        Response(body=kind.page(hits(2, start=2), more=False)),
    )
    found = run_search(kind, peer, count=4)
    assert [h.url for h in found] == [h[0] for h in hits(4)]
    pages = [r.query.get("pageno", r.query.get("offset")) for r in peer.hits(kind.path)]
    assert pages == ([["1"], ["2"]] if kind.name == "searxng" else [["0"], ["1"]])


def test_brave_stops_when_no_more_results_are_available(peer: Peer) -> None:
    peer.answer("/res/v1/web/search", Response(body=brave_page(hits(2), more=False)))
    assert len(run_search(KINDS[2], peer, count=10)) == 2
    assert len(peer.requests) == 1


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_401_is_an_auth_error(kind: Kind, peer: Peer) -> None:
    peer.answer(kind.path, Response(401, {"detail": {"error": "Unauthorized: missing key"}}))
    with pytest.raises(SearchAuthError) as info:
        run_search(kind, peer)
    assert kind.name in info.value.message and "401" in info.value.message
    assert len(peer.requests) == 1


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_short_retry_after_is_waited_for_once(kind: Kind, peer: Peer) -> None:
    peer.answer(
        kind.path,
        Response(429, {"detail": "slow down"}, headers={"Retry-After": "0"}),
        Response(body=kind.page(hits(1), more=False)),
    )
    assert len(run_search(kind, peer, count=1)) == 1
    assert len(peer.requests) == 2


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_long_retry_after_is_reported_not_waited_for(kind: Kind, peer: Peer) -> None:
    peer.answer(kind.path, Response(429, {"detail": "quota"}, headers={"Retry-After": "120"}))
    with pytest.raises(SearchRateLimited) as info:
        run_search(kind, peer)
    assert info.value.retry_after == 120.0
    assert len(peer.requests) == 1


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_5xx_is_retried_once_then_unavailable(kind: Kind, peer: Peer) -> None:
    peer.answer(kind.path, Response(503, "upstream down", content_type="text/plain"))
    with pytest.raises(SearchUnavailable) as info:
        run_search(kind, peer)
    assert "503" in info.value.message
    assert len(peer.requests) == 2


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_5xx_then_success_returns_the_results(kind: Kind, peer: Peer) -> None:
    peer.answer(
        kind.path, Response(502, "bad gateway"), Response(body=kind.page(hits(2), more=False))
    )
    assert len(run_search(kind, peer, count=2)) == 2


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_timeout_is_unavailable(kind: Kind, peer: Peer) -> None:
    peer.answer(kind.path, Response(body=kind.page(hits(1)), delay=0.6))
    with pytest.raises(SearchUnavailable) as info:
        run_search(kind, peer, limits=CallLimits(timeout=0.2, retry_backoff=0.0))
    assert "0.2 s" in info.value.message


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
@pytest.mark.parametrize("body", ["{not json", '{"unexpected": true}', "[1, 2]"])
def test_malformed_answers_are_bad_responses(kind: Kind, peer: Peer, body: str) -> None:
    peer.answer(kind.path, Response(body=body))
    with pytest.raises(SearchBadResponse):
        run_search(kind, peer)


def test_every_search_error_is_a_source_error() -> None:
    """The pipeline catches SourceError per provider; the tree must stay under it."""
    from agents.sources.base import SourceError

    for cls in (SearchAuthError, SearchRateLimited, SearchUnavailable, SearchBadResponse):
        assert issubclass(cls, SearchError) and issubclass(cls, SourceError)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_missing_api_keys_fail_before_any_request(peer: Peer) -> None:
    async def go(backend: SearchBackend) -> None:
        await backend.search("x", count=1)

    async def both() -> None:
        async with httpx.AsyncClient() as c:
            for backend in (
                TavilyBackend(c, "", base_url=peer.url),
                BraveBackend(c, "", base_url=peer.url),
            ):
                with pytest.raises(SearchAuthError):
                    await go(backend)

    asyncio.run(both())
    assert peer.requests == []
