"""The /chat pipeline end to end with a scripted model: events, usage, sessions, tools."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from agents.chat import ChatConfig
from agents.llm.errors import LLMRetriesExhaustedError, LLMServerError
from agents.llm.port import Capabilities, Usage
from agents.protocol import ChatComplete, event_to_dict
from server.db.base import Base, make_engine, make_sessionmaker
from server.db.chat import SqlChatSessionStore
from tests.chat.helpers import SearchingLLM, chat_request, make_deps, of_type, run_turn
from tests.chat.memory_store import MemoryArtifactStore, MemoryChatSessionStore
from tests.support.scripted_llm import Reply, ScriptedLLM

pytestmark = pytest.mark.anyio


@pytest.fixture
def artifacts() -> MemoryArtifactStore:
    return MemoryArtifactStore()


async def _sql_store(path: Path) -> tuple[SqlChatSessionStore, object]:
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return SqlChatSessionStore(make_sessionmaker(engine)), engine


@pytest.fixture
async def sql_store(tmp_path: Path) -> AsyncIterator[SqlChatSessionStore]:
    store, engine = await _sql_store(tmp_path / "chat.sqlite")
    yield store
    await engine.dispose()  # type: ignore[attr-defined]


async def test_answer_streams_in_chunks_and_ends_with_complete(
    http_client: httpx.AsyncClient, artifacts: MemoryArtifactStore
) -> None:
    """Status first, chunks that concatenate to the answer with only the last final, then
    chat_complete whose usage is exactly what the model reported."""
    llm = ScriptedLLM().enqueue(
        Reply(text="Revenue grew 12% [S2].", chunk_size=5, usage=Usage(321, 45))
    )
    deps = make_deps(llm, MemoryChatSessionStore(), artifacts, http_client)
    events = await run_turn(deps, chat_request("How did revenue develop?"))

    assert events[0].type == "chat_status"
    assert events[0].message == "Processing chat request..."  # type: ignore[attr-defined]
    chunks = of_type(events, "chat_chunk")
    assert "".join(c.chunk for c in chunks) == "Revenue grew 12% [S2]."
    assert [c.is_final for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert len(chunks) > 2
    complete = events[-1]
    assert isinstance(complete, ChatComplete)
    wire = event_to_dict(complete)
    assert wire["response"]["token_usage"] == {
        "input_tokens": 321,
        "output_tokens": 45,
        "total_tokens": 366,
    }
    assert wire["session_info"]["token_usage"] == {
        "input_tokens": 321,
        "output_tokens": 45,
        "total_tokens": 366,
        "limit": 250000,
        "limit_reached": False,
    }
    assert wire["session_info"]["message_count"] == 2
    assert wire["session_info"]["user_id"] == "u1"
    assert wire["response"]["metadata"]["tools_used"] == {
        "web_search": [],
        "report_generated": {"success": False},
    }
    assert wire["response"]["metadata"]["citations"] == ["S2: Report > Findings"]
    assert all(e.session_id == "s1" for e in events[:-1])  # type: ignore[attr-defined]
    assert wire["session_info"]["session_id"] == "s1"


async def test_report_is_grounding_in_the_system_prompt(
    http_client: httpx.AsyncClient, artifacts: MemoryArtifactStore
) -> None:
    """A short report goes into the prompt whole, labelled by section for citation."""
    llm = ScriptedLLM().enqueue("ok")
    deps = make_deps(llm, MemoryChatSessionStore(), artifacts, http_client)
    await run_turn(deps, chat_request("Anything?", company_name="Acme"))
    system = llm.requests[0].system
    assert "[S2] Report > Findings" in system
    assert "Revenue grew 12% in 2024." in system
    assert "Acme" in system
    assert llm.requests[0].web_search is None


async def test_multi_turn_continues_across_two_runs_sharing_the_session_store(
    http_client: httpx.AsyncClient, artifacts: MemoryArtifactStore
) -> None:
    """Two runs (two connections) on one session: the second sees the conversation and the
    session's counts add up."""
    sessions = MemoryChatSessionStore()
    llm = ScriptedLLM().enqueue(
        Reply(text="It grew 12%.", usage=Usage(100, 10)),
        Reply(text="Mostly from Europe.", usage=Usage(150, 20)),
    )
    deps = make_deps(llm, sessions, artifacts, http_client)
    await run_turn(deps, chat_request("How did revenue develop?"))
    second = await run_turn(
        deps,
        chat_request(
            "",
            messages=[
                {"role": "user", "content": "How did revenue develop?"},
                {"role": "assistant", "content": "It grew 12%."},
                {"role": "user", "content": "Where from?"},
            ],
        ),
    )
    assert [(m.role, m.content) for m in llm.requests[1].messages] == [
        ("user", "How did revenue develop?"),
        ("assistant", "It grew 12%."),
        ("user", "Where from?"),
    ]
    info = event_to_dict(second[-1])["session_info"]
    assert info["message_count"] == 4
    assert info["token_usage"]["input_tokens"] == 250
    assert info["token_usage"]["output_tokens"] == 30
    assert info["token_usage"]["total_tokens"] == 280
    turn = event_to_dict(second[-1])["response"]["token_usage"]
    assert turn == {"input_tokens": 150, "output_tokens": 20, "total_tokens": 170}


async def test_sqlite_session_survives_a_new_engine(
    tmp_path: Path, http_client: httpx.AsyncClient, artifacts: MemoryArtifactStore
) -> None:
    """Session counts persist in SQLite: a fresh engine (a restart) continues the totals."""
    db = tmp_path / "chat.sqlite"
    llm = ScriptedLLM().enqueue(
        Reply(text="one", usage=Usage(1000, 100)), Reply(text="two", usage=Usage(2000, 200))
    )
    store1, engine1 = await _sql_store(db)
    await run_turn(make_deps(llm, store1, artifacts, http_client), chat_request("first?"))
    await engine1.dispose()  # type: ignore[attr-defined]

    store2, engine2 = await _sql_store(db)
    try:
        events = await run_turn(
            make_deps(llm, store2, artifacts, http_client), chat_request("second?")
        )
        info = event_to_dict(events[-1])["session_info"]
        assert info["message_count"] == 4
        assert info["token_usage"]["total_tokens"] == 3300
        state = await store2.get("ws1", "s1")
        assert state is not None
        assert (state.input_tokens, state.output_tokens) == (3000, 300)
    finally:
        await engine2.dispose()  # type: ignore[attr-defined]


async def test_same_session_id_in_another_workspace_is_a_separate_session(
    sql_store: SqlChatSessionStore,
    http_client: httpx.AsyncClient,
    artifacts: MemoryArtifactStore,
) -> None:
    """Workspace ws2 using session id s1 neither sees nor adds to ws1's session."""
    llm = ScriptedLLM().enqueue(
        Reply(text="a", usage=Usage(500, 50)), Reply(text="b", usage=Usage(7, 3))
    )
    deps = make_deps(llm, sql_store, artifacts, http_client)
    await run_turn(deps, chat_request("q1"), workspace_id="ws1")
    other = await run_turn(deps, chat_request("q2"), workspace_id="ws2")
    assert event_to_dict(other[-1])["session_info"]["token_usage"]["total_tokens"] == 10
    ws1 = await sql_store.get("ws1", "s1")
    assert ws1 is not None
    assert ws1.total_tokens == 550
    assert await sql_store.get("ws3", "s1") is None


async def test_limit_reached_exactly_at_the_boundary_then_refused_before_the_model(
    sql_store: SqlChatSessionStore,
    http_client: httpx.AsyncClient,
    artifacts: MemoryArtifactStore,
) -> None:
    """A turn ending exactly at the limit reports limit_reached; the next is refused with
    TOKEN_LIMIT_EXCEEDED and the model is not called."""
    llm = ScriptedLLM().enqueue(
        Reply(text="first", usage=Usage(600, 99)),
        Reply(text="second", usage=Usage(250, 51)),
    )
    deps = make_deps(llm, sql_store, artifacts, http_client)
    first = await run_turn(deps, chat_request("q1?", token_limit=1000))
    usage = event_to_dict(first[-1])["session_info"]["token_usage"]
    assert (usage["total_tokens"], usage["limit_reached"]) == (699, False)

    second = await run_turn(deps, chat_request("q2?", token_limit=1000))
    usage = event_to_dict(second[-1])["session_info"]["token_usage"]
    assert (usage["total_tokens"], usage["limit"], usage["limit_reached"]) == (1000, 1000, True)

    third = await run_turn(deps, chat_request("q3?", token_limit=1000))
    assert [e.type for e in third] == ["chat_status", "chat_error"]
    assert third[-1].error == "TOKEN_LIMIT_EXCEEDED"  # type: ignore[attr-defined]
    assert "1000" in third[-1].message  # type: ignore[attr-defined]
    assert len(llm.requests) == 2
    state = await sql_store.get("ws1", "s1")
    assert state is not None
    assert state.total_tokens == 1000


async def test_turn_whose_prompt_would_pass_the_limit_is_refused_before_the_model(
    http_client: httpx.AsyncClient, artifacts: MemoryArtifactStore
) -> None:
    """With budget left but an estimated prompt larger than what remains, the turn is refused
    without a model call; a larger limit lets the same turn through with max_tokens capped."""
    report = "# R\n\n" + "Plain words about markets. " * 200  # ~1,800 estimated tokens
    llm = ScriptedLLM().enqueue(Reply(text="ok", usage=Usage(10, 2)))
    deps = make_deps(llm, MemoryChatSessionStore(), artifacts, http_client)
    refused = await run_turn(deps, chat_request("markets?", report=report, token_limit=500))
    assert refused[-1].type == "chat_error"
    assert refused[-1].error == "TOKEN_LIMIT_EXCEEDED"  # type: ignore[attr-defined]
    assert llm.requests == []

    allowed = await run_turn(deps, chat_request("markets?", report=report, token_limit=2500))
    assert allowed[-1].type == "chat_complete"
    request = llm.requests[0]
    assert 0 < request.max_tokens < 2500 - 1800


async def test_default_token_limit_comes_from_config_and_requests_are_capped(
    http_client: httpx.AsyncClient, artifacts: MemoryArtifactStore
) -> None:
    """Without token_limit the configured default applies; a request may lower the limit but
    never raise it (a larger asked limit gets the operator's)."""
    llm = ScriptedLLM().enqueue(Reply(text="a", usage=Usage(1, 1)), Reply(text="b"))
    config = ChatConfig(default_token_limit=5000, max_token_limit=8000)
    deps = make_deps(llm, MemoryChatSessionStore(), artifacts, http_client, config=config)
    first = await run_turn(deps, chat_request("q?"))
    assert event_to_dict(first[-1])["session_info"]["token_usage"]["limit"] == 5000
    second = await run_turn(deps, chat_request("q?", token_limit=90_000))
    assert event_to_dict(second[-1])["session_info"]["token_usage"]["limit"] == 5000


async def test_usage_is_estimated_only_when_the_provider_reports_none(
    http_client: httpx.AsyncClient, artifacts: MemoryArtifactStore
) -> None:
    """Zero reported usage falls back to estimates (so a budget still runs down)."""
    llm = ScriptedLLM().enqueue(Reply(text="an answer", usage=Usage(0, 0)))
    deps = make_deps(llm, MemoryChatSessionStore(), artifacts, http_client)
    events = await run_turn(deps, chat_request("q?"))
    turn = event_to_dict(events[-1])["response"]["token_usage"]
    assert turn["input_tokens"] > 0
    assert turn["output_tokens"] > 0


async def test_cache_tokens_count_as_input(
    http_client: httpx.AsyncClient, artifacts: MemoryArtifactStore
) -> None:
    """Prompt tokens read from or written to the provider's cache are counted as input."""
    llm = ScriptedLLM().enqueue(Reply(text="x", usage=Usage(10, 5, 1000, 200)))
    deps = make_deps(llm, MemoryChatSessionStore(), artifacts, http_client)
    events = await run_turn(deps, chat_request("q?"))
    turn = event_to_dict(events[-1])["response"]["token_usage"]
    assert turn == {"input_tokens": 1210, "output_tokens": 5, "total_tokens": 1215}


async def test_model_failure_ends_with_model_error_and_records_nothing(
    http_client: httpx.AsyncClient, artifacts: MemoryArtifactStore
) -> None:
    """A provider error after its retries becomes chat_error MODEL_ERROR; no usage recorded."""
    failure = LLMRetriesExhaustedError(
        "gave up after 4 attempts", last=LLMServerError("502", status_code=502), attempts=4
    )
    sessions = MemoryChatSessionStore()
    llm = ScriptedLLM().enqueue(Reply(error=failure))
    events = await run_turn(make_deps(llm, sessions, artifacts, http_client), chat_request("q?"))
    assert [e.type for e in events] == ["chat_status", "chat_error"]
    assert events[-1].error == "MODEL_ERROR"  # type: ignore[attr-defined]
    assert "gave up" in events[-1].message  # type: ignore[attr-defined]
    assert await sessions.get("ws1", "s1") is None


async def test_web_search_is_offered_and_listed_when_the_provider_has_it(
    http_client: httpx.AsyncClient, artifacts: MemoryArtifactStore
) -> None:
    """A provider with web search gets the tool; its queries appear in tools_used.web_search."""
    llm = SearchingLLM(
        capabilities=Capabilities(web_search=True, context_window=32000),
        queries=("acme revenue 2025", "acme europe"),
    ).enqueue("Newer numbers say 15%.")
    deps = make_deps(llm, MemoryChatSessionStore(), artifacts, http_client)
    events = await run_turn(deps, chat_request("Any newer revenue numbers?"))
    assert llm.requests[0].web_search is not None
    assert "search the web" in llm.requests[0].system
    tools = event_to_dict(events[-1])["response"]["metadata"]["tools_used"]
    assert tools["web_search"] == ["acme revenue 2025", "acme europe"]
    statuses = [e.message for e in of_type(events, "chat_status")]
    assert "Searched the web for 'acme revenue 2025'" in statuses


async def test_web_search_is_not_offered_when_disabled(
    http_client: httpx.AsyncClient, artifacts: MemoryArtifactStore
) -> None:
    """ChatConfig(web_search=False) withholds the tool even from a capable provider."""
    llm = SearchingLLM(capabilities=Capabilities(web_search=True)).enqueue("ok")
    deps = make_deps(
        llm,
        MemoryChatSessionStore(),
        artifacts,
        http_client,
        config=ChatConfig(web_search=False),
    )
    await run_turn(deps, chat_request("q?"))
    assert llm.requests[0].web_search is None


async def test_report_request_generates_and_stores_a_report(
    http_client: httpx.AsyncClient, artifacts: MemoryArtifactStore
) -> None:
    """'Write a revised report ...' produces a report, stored under the session's key, and
    tools_used.report_generated carries its URL; numbering continues per session."""
    text1 = "# Revised report\n\n## Europe\n\nGrowth came from Europe."
    text2 = "# Shorter report\n\nShort."
    llm = ScriptedLLM().enqueue(text1, "a plain answer", text2)
    deps = make_deps(llm, MemoryChatSessionStore(), artifacts, http_client)

    first = await run_turn(
        deps, chat_request("Write a revised report focusing on Europe", project_id="p1")
    )
    generated = event_to_dict(first[-1])["response"]["metadata"]["tools_used"]["report_generated"]
    (key1,) = artifacts.objects
    assert re.fullmatch(r"ws1/p1/chat-s1-1-[0-9a-f]{32}\.md", key1)
    assert generated == {"success": True, "url": artifacts.url_for(key1)}
    assert artifacts.objects[key1][0].decode() == text1
    assert "Write it in full" in llm.requests[0].system
    assert llm.requests[0].max_tokens > ChatConfig().max_output_tokens

    plain = await run_turn(deps, chat_request("What is in it?", project_id="p1"))
    assert event_to_dict(plain[-1])["response"]["metadata"]["tools_used"]["report_generated"] == {
        "success": False
    }
    third = await run_turn(deps, chat_request("Now make a shorter report"))
    generated = event_to_dict(third[-1])["response"]["metadata"]["tools_used"]["report_generated"]
    (key2,) = set(artifacts.objects) - {key1}
    assert re.fullmatch(r"ws1/chat/chat-s1-2-[0-9a-f]{32}\.md", key2)
    assert generated["url"] == artifacts.url_for(key2)


async def test_report_from_own_artifact_url(
    http_client: httpx.AsyncClient, artifacts: MemoryArtifactStore
) -> None:
    """s3_report_url of this workspace's artifact is read from the store and grounds the answer."""
    await artifacts.put("ws1/p1/report.md", b"# Stored\n\n## Pricing\n\nSeats cost $9.", "text/md")
    llm = ScriptedLLM().enqueue("Seats cost $9 [S2].")
    deps = make_deps(llm, MemoryChatSessionStore(), artifacts, http_client)
    events = await run_turn(
        deps, chat_request("Price?", s3_report_url=artifacts.url_for("ws1/p1/report.md"))
    )
    assert events[-1].type == "chat_complete"
    assert "Seats cost $9." in llm.requests[0].system
