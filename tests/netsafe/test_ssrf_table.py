"""The SSRF table: every way of naming a non-public address is refused by agents.netsafe.

Rows: private, loopback, link-local, cloud metadata, CGNAT, 6to4, IPv4-mapped, IPv4 written in
decimal/octal/hex/short form, redirect to a private address, and a DNS answer that changes
between the check and the connection (rebinding).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from agents.netsafe import FetchBlocked, FetchPolicy, fetch_url
from tests.netsafe.conftest import LoopbackServer

pytestmark = pytest.mark.anyio
STRICT = FetchPolicy(timeout=5.0)

TABLE = {
    "private-10": "http://10.0.0.1/",
    "private-172": "http://172.16.5.4/",
    "private-192": "http://192.168.0.1/",
    "private-fc00": "http://[fd12:3456::1]/",
    "loopback": "http://127.0.0.1/",
    "loopback-127/8": "http://127.8.9.10/",
    "loopback-v6": "http://[::1]/",
    "loopback-name": "http://localhost/",
    "unspecified": "http://0.0.0.0/",
    "link-local": "http://169.254.10.20/",
    "link-local-v6": "http://[fe80::1]/",
    "metadata-aws": "http://169.254.169.254/latest/meta-data/iam/",
    "metadata-aws-v6": "http://[fd00:ec2::254]/latest/meta-data/",
    "metadata-alibaba": "http://100.100.100.200/latest/meta-data/",
    "cgnat": "http://100.64.0.1/",
    "cgnat-top": "http://100.127.255.254/",
    "6to4-loopback": "http://[2002:7f00:1::1]/",
    "6to4-private": "http://[2002:c0a8:1::1]/",
    "6to4-metadata": "http://[2002:a9fe:a9fe::1]/",
    "ipv4-mapped-loopback": "http://[::ffff:127.0.0.1]/",
    "ipv4-mapped-metadata": "http://[::ffff:169.254.169.254]/",
    "ipv4-mapped-hex": "http://[::ffff:7f00:1]/",
    "ipv4-compatible": "http://[::127.0.0.1]/",
    "nat64-metadata": "http://[64:ff9b::a9fe:a9fe]/",
    "teredo": "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # embeds 127.0.0.1
    "decimal": "http://2130706433/",
    "decimal-metadata": "http://2852039166/",
    "octal": "http://0177.0.0.1/",
    "octal-dword": "http://017700000001/",
    "hex": "http://0x7f000001/",
    "hex-dotted": "http://0x7f.0.0.1/",
    "short": "http://127.1/",
    "short-private": "http://10.1/",
    "trailing-dot": "http://127.0.0.1./",
}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as c:
        yield c


@pytest.mark.parametrize("row", sorted(TABLE))
async def test_non_public_targets_are_refused(client: httpx.AsyncClient, row: str) -> None:
    with pytest.raises(FetchBlocked):
        await fetch_url(client, TABLE[row], policy=STRICT)


@pytest.mark.parametrize("target", ["http://10.0.0.1/", "http://127.1/", "http://[::ffff:7f00:1]/"])
async def test_a_redirect_to_a_private_address_is_refused(
    client: httpx.AsyncClient, loopback_server: LoopbackServer, target: str
) -> None:
    start = loopback_server.url(f"/redirect?to={target}", host="localhost")
    policy = FetchPolicy(allowed_hosts=frozenset({"localhost"}), timeout=5.0)
    with pytest.raises(FetchBlocked):
        await fetch_url(client, start, policy=policy)
    assert len(loopback_server.hosts_seen) == 1, "only the first hop was sent"


async def test_a_dns_answer_that_changes_after_the_check_is_never_used(
    client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """rebind.test first answers the address that is vetted (127.0.0.1 here, which the policy
    admits), then 10.9.9.9. The connection goes to the vetted address: the name is resolved once
    and the second answer is never used (the test's network guard would fail on 10.9.9.9)."""
    loop = asyncio.get_running_loop()
    original = loop.getaddrinfo
    answers = ["127.0.0.1", "10.9.9.9"]
    asked: list[str] = []

    async def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.test":
            return await original(host, port, *args, **kwargs)
        asked.append(host)
        ip = answers[min(len(asked) - 1, 1)]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]

    loop.getaddrinfo = rebinding  # type: ignore[method-assign]
    try:
        url = f"http://rebind.test:{loopback_server.port}/host"
        doc = await fetch_url(client, url, policy=FetchPolicy(allow_private=True, timeout=5.0))
        with pytest.raises(FetchBlocked, match=r"10\.9\.9\.9"):  # a later answer is vetted afresh
            await fetch_url(client, url, policy=STRICT)
    finally:
        loop.getaddrinfo = original  # type: ignore[method-assign]
    assert doc.text == f"rebind.test:{loopback_server.port}"
    assert asked == ["rebind.test", "rebind.test"], "resolved once per fetch, at the check"
    assert loopback_server.hosts_seen == [f"rebind.test:{loopback_server.port}"]
