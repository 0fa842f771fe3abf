"""Report sources the chat refuses: each ends with a clear chat_error and no model call."""

from __future__ import annotations

import httpx
import pytest

from agents.report_loader import ReportSourcePolicy
from tests.chat.helpers import chat_request, make_deps, run_turn
from tests.chat.memory_store import MemoryArtifactStore, MemoryChatSessionStore
from tests.netsafe.conftest import LoopbackServer
from tests.support.scripted_llm import ScriptedLLM

pytestmark = pytest.mark.anyio


async def _error_for(
    url: str, http_client: httpx.AsyncClient, policy: ReportSourcePolicy | None = None
) -> tuple[str, str, ScriptedLLM]:
    artifacts = MemoryArtifactStore()
    await artifacts.put("ws2/p1/report.md", b"# Theirs\n\nconfidential", "text/markdown")
    llm = ScriptedLLM()
    deps = make_deps(llm, MemoryChatSessionStore(), artifacts, http_client, report_sources=policy)
    events = await run_turn(deps, chat_request("q?", s3_report_url=url))
    assert [e.type for e in events] == ["chat_status", "chat_error"]
    error = events[-1]
    return error.error, error.message, llm  # type: ignore[attr-defined]


async def test_private_address_is_refused_even_when_allow_listed(
    http_client: httpx.AsyncClient, loopback_server: LoopbackServer
) -> None:
    """An allow-listed host at a loopback address is not fetched: INVALID_REPORT_URL."""
    code, message, llm = await _error_for(
        loopback_server.url("/ok"),
        http_client,
        ReportSourcePolicy(allowed_hosts=frozenset({"127.0.0.1"})),
    )
    assert code == "INVALID_REPORT_URL"
    assert "non-public" in message
    assert loopback_server.hosts_seen == []
    assert llm.requests == []


async def test_cloud_metadata_address_is_refused(http_client: httpx.AsyncClient) -> None:
    """The link-local metadata endpoint is refused (not on the allow-list, not ours)."""
    code, message, _llm = await _error_for("http://169.254.169.254/latest/meta-data/", http_client)
    assert code == "INVALID_REPORT_URL"
    assert "allow-list" in message


async def test_non_artifact_host_is_refused(http_client: httpx.AsyncClient) -> None:
    """A public host that is neither this service's store nor allow-listed is refused."""
    code, message, _llm = await _error_for(
        "https://elsewhere.example.org/report.md",
        http_client,
        ReportSourcePolicy(allowed_hosts=frozenset({"reports.example.com"})),
    )
    assert code == "INVALID_REPORT_URL"
    assert "not an artifact of this service" in message


async def test_file_url_is_refused(http_client: httpx.AsyncClient) -> None:
    """file:// is refused by scheme."""
    code, message, _llm = await _error_for("file:///etc/passwd", http_client)
    assert code == "INVALID_REPORT_URL"
    assert "scheme" in message


async def test_other_workspaces_artifact_is_not_found(http_client: httpx.AsyncClient) -> None:
    """Another workspace's artifact answers REPORT_NOT_FOUND, worded like a missing one."""
    theirs = await _error_for("https://artifacts.test/a/ws2/p1/report.md", http_client)
    missing = await _error_for("https://artifacts.test/a/ws1/p1/report.md", http_client)
    assert theirs[0] == missing[0] == "REPORT_NOT_FOUND"
    assert theirs[1].replace("ws2", "ws1") == missing[1]
    assert "confidential" not in theirs[1]


async def test_blank_report_is_refused(http_client: httpx.AsyncClient) -> None:
    """A raw report of only whitespace is INVALID_REPORT."""
    llm = ScriptedLLM()
    deps = make_deps(llm, MemoryChatSessionStore(), MemoryArtifactStore(), http_client)
    events = await run_turn(deps, chat_request("q?", report="   \n "))
    assert events[-1].error == "INVALID_REPORT"  # type: ignore[attr-defined]
    assert llm.requests == []
