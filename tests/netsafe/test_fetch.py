"""SSRF-safe fetch: what is refused, what is allowed, and the limits, against a loopback server."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import httpx
import pytest

from agents.errors import QubitzError
from agents.netsafe import (
    FetchBlocked,
    FetchFailed,
    FetchPolicy,
    fetch_url,
    host_matches,
    is_public_address,
)
from tests.netsafe.conftest import LoopbackServer

pytestmark = pytest.mark.anyio

STRICT = FetchPolicy()
PRIVATE_OK = FetchPolicy(allow_private=True, timeout=5.0)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as c:
        yield c


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "2002:7f00:1::1",
        "64:ff9b::a9fe:a9fe",
    ],
)
def test_non_public_addresses_are_recognised(address: str) -> None:
    """Private, loopback, link-local, multicast, reserved and embedded-IPv4 forms are not public."""
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111"])
def test_public_addresses_are_recognised(address: str) -> None:
    """Ordinary global unicast addresses are public."""
    assert is_public_address(ipaddress.ip_address(address))


def test_host_patterns_match_exactly_or_by_subdomain_wildcard() -> None:
    """'name' matches only itself; '*.name' matches subdomains but not the bare name."""
    assert host_matches("Reports.Example.com.", ["reports.example.com"])
    assert not host_matches("evil-reports.example.com", ["reports.example.com"])
    assert host_matches("a.b.example.com", ["*.example.com"])
    assert not host_matches("example.com", ["*.example.com"])
    assert not host_matches("badexample.com", ["*.example.com"])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost/",
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://2130706433/",
    ],
)
async def test_private_and_loopback_urls_are_refused(client: httpx.AsyncClient, url: str) -> None:
    """A URL whose host is or resolves to a non-public address is refused before connecting."""
    with pytest.raises(FetchBlocked, match="non-public address"):
        await fetch_url(client, url, policy=STRICT)


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://example.com/", "/relative"]
)
async def test_other_schemes_are_refused(client: httpx.AsyncClient, url: str) -> None:
    """Only http and https are fetched; file:// and friends are refused."""
    with pytest.raises(FetchBlocked, match="scheme"):
        await fetch_url(client, url, policy=STRICT)


async def test_errors_belong_to_the_domain_tree(client: httpx.AsyncClient) -> None:
    """FetchBlocked is a QubitzError, so the server maps it like every other domain error."""
    with pytest.raises(QubitzError):
        await fetch_url(client, "file:///etc/passwd", policy=STRICT)


async def test_loopback_server_is_refused_by_default(
    client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """A live loopback server is not reached under the default policy (no request arrives)."""
    with pytest.raises(FetchBlocked):
        await fetch_url(client, loopback_server.url("/ok"), policy=STRICT)
    assert loopback_server.hosts_seen == []


async def test_loopback_server_is_fetched_with_allow_private(
    client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """allow_private lets the fetch reach a loopback server and returns status, type and body."""
    doc = await fetch_url(client, loopback_server.url("/ok"), policy=PRIVATE_OK)
    assert doc.status == 200
    assert doc.ok
    assert doc.content_type == "text/markdown"
    assert doc.text == "# Report\n\nhello"
    assert doc.final_url == loopback_server.url("/ok")


async def test_allow_listed_host_is_exempt_from_the_address_check(
    client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """A host in allowed_hosts may resolve to a private address; others still may not."""
    policy = FetchPolicy(allowed_hosts=frozenset({"localhost"}), timeout=5.0)
    doc = await fetch_url(client, loopback_server.url("/ok", host="localhost"), policy=policy)
    assert doc.status == 200
    with pytest.raises(FetchBlocked):
        await fetch_url(client, loopback_server.url("/ok"), policy=policy)


async def test_connection_is_pinned_to_the_vetted_address_with_the_original_host_header(
    client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """A named host is fetched at its resolved IP while the server still sees the name."""
    doc = await fetch_url(client, loopback_server.url("/host", host="localhost"), policy=PRIVATE_OK)
    assert doc.text == f"localhost:{loopback_server.port}"


async def test_redirect_to_a_private_address_is_refused(
    client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """Every redirect hop is vetted: a hop to a metadata address is refused, not followed."""
    policy = FetchPolicy(allowed_hosts=frozenset({"localhost"}), timeout=5.0)
    start = loopback_server.url("/redirect?to=http://169.254.169.254/latest/", host="localhost")
    with pytest.raises(FetchBlocked, match=r"169\.254\.169\.254"):
        await fetch_url(client, start, policy=policy)


async def test_redirect_to_file_scheme_is_refused(
    client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """A redirect cannot switch to a non-http scheme."""
    start = loopback_server.url("/redirect?to=file:///etc/passwd")
    with pytest.raises(FetchBlocked, match="scheme"):
        await fetch_url(client, start, policy=PRIVATE_OK)


async def test_allowed_redirects_are_followed(
    client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """A relative redirect to an allowed place is followed and final_url records it."""
    doc = await fetch_url(client, loopback_server.url("/redirect?to=/ok"), policy=PRIVATE_OK)
    assert doc.status == 200
    assert doc.final_url == loopback_server.url("/ok")
    assert doc.url == loopback_server.url("/redirect?to=/ok")


async def test_redirect_loops_stop_at_the_limit(
    client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """More than max_redirects hops fail, after exactly max_redirects + 1 requests."""
    policy = FetchPolicy(allow_private=True, max_redirects=3, timeout=5.0)
    with pytest.raises(FetchFailed, match="redirects"):
        await fetch_url(client, loopback_server.url("/loop"), policy=policy)
    assert len(loopback_server.hosts_seen) == 4


async def test_declared_oversize_body_is_refused(
    client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """A Content-Length above max_bytes is refused."""
    policy = FetchPolicy(allow_private=True, max_bytes=1000, timeout=5.0)
    with pytest.raises(FetchFailed, match="limit"):
        await fetch_url(client, loopback_server.url("/big-declared?n=5000"), policy=policy)
    doc = await fetch_url(client, loopback_server.url("/big-declared?n=1000"), policy=policy)
    assert len(doc.body) == 1000


async def test_undeclared_oversize_body_is_cut_off_while_streaming(
    client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """A body without Content-Length is abandoned once it passes max_bytes."""
    policy = FetchPolicy(allow_private=True, max_bytes=4096, timeout=5.0)
    with pytest.raises(FetchFailed, match="larger than"):
        await fetch_url(client, loopback_server.url("/big-undeclared?n=1048576"), policy=policy)


async def test_stalled_response_times_out(
    client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """A server that stops sending mid-body ends in FetchFailed once the timeout passes."""
    policy = FetchPolicy(allow_private=True, timeout=0.5)
    with pytest.raises(FetchFailed, match=r"took longer|timed out"):
        await fetch_url(client, loopback_server.url("/stall"), policy=policy)


async def test_non_success_status_is_returned_for_the_caller_to_judge(
    client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """A 404 is a document with status 404 (not an exception) and ok is False."""
    doc = await fetch_url(client, loopback_server.url("/nothing"), policy=PRIVATE_OK)
    assert doc.status == 404
    assert not doc.ok


async def test_charset_from_content_type_is_used_for_text(
    client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """The text property decodes with the declared charset."""
    doc = await fetch_url(client, loopback_server.url("/latin1"), policy=PRIVATE_OK)
    assert doc.text == "café"


async def test_unresolvable_host_fails_cleanly(client: httpx.AsyncClient) -> None:
    """A name that does not resolve is FetchFailed (no request made)."""
    with pytest.raises(FetchFailed, match="resolve"):
        await fetch_url(client, "http://does-not-exist.invalid/", policy=STRICT)
