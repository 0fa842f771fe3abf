"""What a search backend returns, and the one HTTP call every backend makes through.

`call_json` sends one request, retries once after a short `Retry-After` (429) or a 5xx/timeout,
and translates every failure into the tree in `errors.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import httpx

from agents.sources.search.errors import (
    SearchAuthError,
    SearchBadResponse,
    SearchRateLimited,
    SearchUnavailable,
)


@dataclass(frozen=True)
class WebHit:
    url: str
    title: str
    snippet: str
    published: str = ""
    engine: str = ""


class SearchBackend(Protocol):
    @property
    def name(self) -> str: ...

    async def search(self, query: str, *, count: int) -> list[WebHit]: ...


@dataclass(frozen=True)
class CallLimits:
    # Timeouts
    timeout: float = 15.0
    # Retries (one retry at most; a longer Retry-After is reported, not waited for)
    max_retry_wait: float = 5.0
    retry_backoff: float = 0.5


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _detail(response: httpx.Response) -> str:
    text = response.text[:200].strip()
    return f"HTTP {response.status_code}" + (f": {text}" if text else "")


async def _once(
    client: httpx.AsyncClient, provider: str, method: str, url: str, *, limits: CallLimits,
    params: Mapping[str, str | int] | None, headers: Mapping[str, str] | None,
    json_body: Any | None,
) -> httpx.Response:  # fmt: skip
    try:
        return await client.request(
            method, url, params=params, headers=headers, json=json_body, timeout=limits.timeout
        )
    except httpx.TimeoutException as exc:
        raise SearchUnavailable(provider, f"no answer within {limits.timeout:g} s") from exc
    except httpx.HTTPError as exc:
        raise SearchUnavailable(provider, f"request failed: {type(exc).__name__}") from exc


def _check(provider: str, response: httpx.Response) -> Any:
    status = response.status_code
    if status in (401, 403):
        raise SearchAuthError(provider, f"the API key was refused ({_detail(response)})")
    if status in (429, 432, 433):
        wait = retry_after_seconds(response.headers.get("retry-after"))
        raise SearchRateLimited(provider, f"rate limited ({_detail(response)})", retry_after=wait)
    if status >= 500:
        raise SearchUnavailable(provider, _detail(response))
    if status != 200:
        raise SearchBadResponse(provider, _detail(response))
    try:
        return response.json()
    except ValueError as exc:
        raise SearchBadResponse(provider, "the answer is not JSON") from exc


async def call_json(
    client: httpx.AsyncClient,
    provider: str,
    method: str,
    url: str,
    *,
    limits: CallLimits,
    params: Mapping[str, str | int] | None = None,
    headers: Mapping[str, str] | None = None,
    json_body: Any | None = None,
) -> Any:
    """The decoded JSON of one API call (one retry for short rate limits, 5xx, timeouts)."""
    for attempt in (1, 2):
        try:
            response = await _once(
                client, provider, method, url, limits=limits, params=params, headers=headers,
                json_body=json_body,
            )  # fmt: skip
            return _check(provider, response)
        except SearchRateLimited as exc:
            wait = exc.retry_after
            if attempt == 2 or wait is None or wait > limits.max_retry_wait:
                raise
            await asyncio.sleep(wait)
        except SearchUnavailable:
            if attempt == 2:
                raise
            await asyncio.sleep(limits.retry_backoff)
    raise AssertionError("unreachable")


def text_field(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    return " ".join(value.split()) if isinstance(value, str) else ""


def result_items(
    provider: str, container: Any, *, where: str = "results"
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(url, item) for each object of `container["results"]` whose `url` is http(s).

    A container without a `results` list is a malformed answer (SearchBadResponse, named by
    `where`); items that are not objects or carry no usable URL are skipped.
    """
    if not isinstance(container, dict) or not isinstance(container.get("results"), list):
        raise SearchBadResponse(provider, f'the answer has no "{where}" list')
    for item in container["results"]:
        if isinstance(item, dict) and (url := http_url(item.get("url"))):
            yield url, item


def http_url(value: object) -> str:
    """`value` when it is an http(s) URL, else ''."""
    if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
        return value.strip()
    return ""
