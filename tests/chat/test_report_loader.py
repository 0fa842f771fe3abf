"""Loading a report by URL: own artifacts by workspace, allow-listed hosts, the rest refused."""

from __future__ import annotations

import httpx
import pytest

from agents.errors import InvalidRequest, NotFound, UpstreamError
from agents.netsafe import FetchPolicy
from agents.report_loader import ReportSourcePolicy, load_report
from tests.chat.memory_store import MemoryArtifactStore
from tests.netsafe.conftest import LoopbackServer

pytestmark = pytest.mark.anyio

NO_HOSTS = ReportSourcePolicy()


@pytest.fixture
async def store() -> MemoryArtifactStore:
    s = MemoryArtifactStore()
    await s.put("ws1/p1/report.md", b"# Mine\n\nbody", "text/markdown")
    await s.put("ws2/p9/report.md", b"# Theirs\n\nsecret", "text/markdown")
    return s


async def test_own_artifact_is_read_from_the_store(
    store: MemoryArtifactStore, http_client: httpx.AsyncClient
) -> None:
    """A URL of this service's artifact in the caller's workspace is read from the store."""
    text = await load_report(
        store.url_for("ws1/p1/report.md"),
        workspace_id="ws1",
        store=store,
        client=http_client,
        policy=NO_HOSTS,
    )
    assert text == "# Mine\n\nbody"


async def test_other_workspaces_artifact_is_not_found_like_a_missing_one(
    store: MemoryArtifactStore, http_client: httpx.AsyncClient
) -> None:
    """Another workspace's artifact answers exactly as a missing artifact does."""
    with pytest.raises(NotFound) as theirs:
        await load_report(
            store.url_for("ws2/p9/report.md"),
            workspace_id="ws1",
            store=store,
            client=http_client,
            policy=NO_HOSTS,
        )
    with pytest.raises(NotFound) as missing:
        await load_report(
            store.url_for("ws1/p9/report.md"),
            workspace_id="ws1",
            store=store,
            client=http_client,
            policy=NO_HOSTS,
        )
    assert theirs.value.code == missing.value.code == "REPORT_NOT_FOUND"
    assert theirs.value.message.replace("ws2", "ws1") == missing.value.message
    assert "secret" not in theirs.value.message


async def test_workspace_prefix_must_be_a_whole_segment(
    store: MemoryArtifactStore, http_client: httpx.AsyncClient
) -> None:
    """Workspace 'ws' does not own keys of 'ws1' (prefix match is by path segment)."""
    with pytest.raises(NotFound):
        await load_report(
            store.url_for("ws1/p1/report.md"),
            workspace_id="ws",
            store=store,
            client=http_client,
            policy=NO_HOSTS,
        )


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "s3://bucket/key.md", "ftp://reports.example.com/r.md"]
)
async def test_non_http_urls_are_refused(
    store: MemoryArtifactStore, http_client: httpx.AsyncClient, url: str
) -> None:
    """file://, s3:// (not ours) and other schemes are refused with INVALID_REPORT_URL."""
    with pytest.raises(InvalidRequest) as err:
        await load_report(
            url,
            workspace_id="ws1",
            store=store,
            client=http_client,
            policy=ReportSourcePolicy(allowed_hosts=frozenset({"reports.example.com"})),
        )
    assert err.value.code == "INVALID_REPORT_URL"
    assert "scheme" in err.value.message


async def test_host_not_in_allow_list_is_refused_without_fetching(
    store: MemoryArtifactStore, http_client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """A URL that is neither ours nor on an allow-listed host is refused, naming both reasons."""
    with pytest.raises(InvalidRequest) as err:
        await load_report(
            loopback_server.url("/ok"),
            workspace_id="ws1",
            store=store,
            client=http_client,
            policy=ReportSourcePolicy(
                allowed_hosts=frozenset({"reports.example.com"}),
                fetch=FetchPolicy(allow_private=True),
            ),
        )
    assert err.value.code == "INVALID_REPORT_URL"
    assert "not an artifact of this service" in err.value.message
    assert "allow-list" in err.value.message
    assert loopback_server.hosts_seen == []


async def test_allow_listed_host_at_a_private_address_is_still_refused(
    store: MemoryArtifactStore, http_client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """Allow-listing a host does not lift the private-address check of the fetch policy."""
    with pytest.raises(InvalidRequest) as err:
        await load_report(
            loopback_server.url("/ok"),
            workspace_id="ws1",
            store=store,
            client=http_client,
            policy=ReportSourcePolicy(allowed_hosts=frozenset({"127.0.0.1"})),
        )
    assert err.value.code == "INVALID_REPORT_URL"
    assert "non-public" in err.value.message
    assert loopback_server.hosts_seen == []


async def test_allow_listed_host_is_fetched(
    store: MemoryArtifactStore, http_client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """An allow-listed host (here loopback, with private addresses permitted) is fetched."""
    policy = ReportSourcePolicy(
        allowed_hosts=frozenset({"127.0.0.1"}), fetch=FetchPolicy(allow_private=True)
    )
    text = await load_report(
        loopback_server.url("/ok"),
        workspace_id="ws1",
        store=store,
        client=http_client,
        policy=policy,
    )
    assert text == "# Report\n\nhello"
    with pytest.raises(NotFound) as err:
        await load_report(
            loopback_server.url("/gone"),
            workspace_id="ws1",
            store=store,
            client=http_client,
            policy=policy,
        )
    assert err.value.code == "REPORT_NOT_FOUND"


async def test_fetch_failure_is_reported_as_upstream(
    store: MemoryArtifactStore, http_client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """A report larger than the fetch limit fails with REPORT_FETCH_FAILED."""
    policy = ReportSourcePolicy(
        allowed_hosts=frozenset({"127.0.0.1"}),
        fetch=FetchPolicy(allow_private=True, max_bytes=100),
    )
    with pytest.raises(UpstreamError) as err:
        await load_report(
            loopback_server.url("/big-declared?n=500"),
            workspace_id="ws1",
            store=store,
            client=http_client,
            policy=policy,
        )
    assert err.value.code == "REPORT_FETCH_FAILED"
