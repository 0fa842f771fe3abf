"""Load a report named by URL: this service's own artifact, or an allow-listed remote document.

`load_report(url, workspace_id=..., store=..., client=..., policy=...)` decides in this order:

1. `store.key_for_url(url)` recognises the URL as one of our artifacts -> read it from the store,
   but only when the key (`<workspace>/<project>/<name>`) belongs to `workspace_id`. Another
   workspace's artifact gets exactly the answer a missing one gets (NotFound, REPORT_NOT_FOUND).
2. Otherwise the URL must be http(s) and its host must be in `policy.allowed_hosts`; it is then
   fetched through `agents.netsafe` (address vetting, pinning, redirects, size and time limits).
3. Anything else is refused with InvalidRequest (INVALID_REPORT_URL) saying why.

Error codes set here: REPORT_NOT_FOUND (NotFound), INVALID_REPORT_URL (InvalidRequest, including a
blocked fetch), REPORT_FETCH_FAILED (UpstreamError: network, timeout, size, server error).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from agents import tenancy
from agents.artifacts import ArtifactStore
from agents.errors import InvalidRequest, NotFound, UpstreamError
from agents.netsafe import FetchBlocked, FetchFailed, FetchPolicy, fetch_url, host_matches

REPORT_NOT_FOUND = "REPORT_NOT_FOUND"
INVALID_REPORT_URL = "INVALID_REPORT_URL"
REPORT_FETCH_FAILED = "REPORT_FETCH_FAILED"


@dataclass(frozen=True)
class ReportSourcePolicy:
    # Remote hosts reports may be fetched from ("name" exact, "*.name" subdomains).
    allowed_hosts: frozenset[str] = frozenset()
    fetch: FetchPolicy = field(default_factory=lambda: FetchPolicy(max_bytes=5 * 1024 * 1024))


def _not_found(url: str) -> NotFound:
    return NotFound(f"report not found: {_shorten(url)}", code=REPORT_NOT_FOUND)


def _shorten(url: str) -> str:
    return url if len(url) <= 300 else url[:297] + "..."


def owns_key(key: str, workspace_id: str) -> bool:
    """True when an artifact key belongs to the workspace (agents.tenancy: exact, validated)."""
    return tenancy.owns_key(key, workspace_id)


async def load_report(
    url: str,
    *,
    workspace_id: str,
    store: ArtifactStore,
    client: httpx.AsyncClient,
    policy: ReportSourcePolicy,
) -> str:
    """The report's text (see module docstring for the order of decisions and the errors)."""
    url = url.strip()
    key = store.key_for_url(url)
    if key is not None:
        if not owns_key(key, workspace_id):
            raise _not_found(url)
        try:
            data = await store.get(key)
        except NotFound as exc:
            raise _not_found(url) from exc
        return data.decode("utf-8", errors="replace")

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidRequest(
            f"s3_report_url: scheme {scheme or '(none)'!r} is not allowed; give an http(s) URL "
            "of a report stored by this service or on an allow-listed host",
            code=INVALID_REPORT_URL,
        )
    host = (parts.hostname or "").lower()
    if not host or not host_matches(host, policy.allowed_hosts):
        raise InvalidRequest(
            f"s3_report_url: {_shorten(url)} is not an artifact of this service and its host "
            f"{host or '(none)'!r} is not in the report host allow-list",
            code=INVALID_REPORT_URL,
        )
    try:
        doc = await fetch_url(client, url, policy=policy.fetch)
    except FetchBlocked as exc:
        raise InvalidRequest(f"s3_report_url: {exc.message}", code=INVALID_REPORT_URL) from exc
    except FetchFailed as exc:
        raise UpstreamError(
            f"could not fetch the report: {exc.message}", code=REPORT_FETCH_FAILED
        ) from exc
    if doc.status in (401, 403, 404, 410):
        raise _not_found(url)
    if not doc.ok:
        raise UpstreamError(
            f"could not fetch the report: {doc.final_url} answered HTTP {doc.status}",
            code=REPORT_FETCH_FAILED,
        )
    return doc.text
