"""Pipeline and supervisor runs through the OpenAI-compatible client against a loopback peer."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra_templates.runtime.app import App
from infra_templates.runtime.models import ModelError, OpenAIClient
from infra_templates.runtime.orchestrate import Runtime
from infra_templates.runtime.spec import parse_spec
from infra_templates.runtime.tools import ToolContext
from tests.deploy_render.peers import ChatPeer, chat_peer, text_reply, tool_reply
from tests.deploy_render.specs import architecture


def make_runtime(
    peer: ChatPeer, tmp_path: Path, pattern: str = "pipeline", **orch: object
) -> Runtime:
    spec = parse_spec(architecture(pattern, **orch).model_dump(mode="json"))
    client = OpenAIClient(base_url=peer.base_url, model="local-model", api_key="k-test", timeout=10)
    return Runtime(spec, client, tool_context=ToolContext(documents_dir=tmp_path))


def _last_user(request: dict[str, object]) -> object:
    messages = request["messages"]
    assert isinstance(messages, list)
    return [m for m in messages if m["role"] == "user"][-1]["content"]


def test_pipeline_passes_each_output_to_the_next_agent(tmp_path: Path) -> None:
    """planner -> analyst -> writer, each request carrying the previous output and its tools."""
    with chat_peer(text_reply("plan"), text_reply("numbers"), text_reply("final answer")) as peer:
        result = make_runtime(peer, tmp_path).run("question", session_id="s1")
    assert result.output == "final answer"
    assert [t["agent"] for t in result.trace] == ["planner", "analyst", "writer"]
    seen = [_last_user(r) for r in peer.requests]
    assert seen[0] == "question"
    assert seen[1] == "User request:\nquestion\n\nOutput of the previous agent (Planner):\nplan"
    assert str(seen[2]).startswith("User request:\nquestion\n")
    assert str(seen[2]).endswith("):\nnumbers")
    assert [r["messages"][0] for r in peer.requests][1] == {
        "role": "system",
        "content": "You compute.",
    }
    assert {t["function"]["name"] for t in peer.requests[1]["tools"]} == {
        "calculator",
        "json_query",
    }
    assert all(r["model"] == "local-model" for r in peer.requests)
    assert peer.headers[0]["Authorization"] == "Bearer k-test"


def test_tool_calls_use_the_openai_tools_format(tmp_path: Path) -> None:
    """A tool call is executed and its result goes back as a role=tool message."""
    with chat_peer(
        text_reply("plan"),
        tool_reply("calculator", {"expression": "6 * 7"}, "call_9"),
        text_reply("it is 42"),
        text_reply("The answer is 42."),
    ) as peer:
        result = make_runtime(peer, tmp_path).run("what is 6*7?", session_id="s1")
    assert result.output == "The answer is 42."
    follow_up = peer.requests[2]["messages"]
    assert follow_up[-2]["tool_calls"][0]["function"] == {
        "name": "calculator",
        "arguments": '{"expression": "6 * 7"}',
    }
    assert follow_up[-1] == {"role": "tool", "tool_call_id": "call_9", "content": "42"}
    assert result.trace[1]["tool_calls"] == [
        {"tool": "calculator", "input": {"expression": "6 * 7"}, "status": "success"}
    ]


def test_supervisor_delegates_until_final(tmp_path: Path) -> None:
    """The entry agent picks agents with JSON decisions and ends with {"final": ...}."""
    with chat_peer(
        text_reply('{"next": "analyst", "input": "compute the total"}'),
        text_reply("total is 12"),
        text_reply('{"next": "writer", "input": "write it up"}'),
        text_reply("Total: 12."),
        text_reply('{"final": "Total: 12 (checked)."}'),
    ) as peer:
        result = make_runtime(peer, tmp_path, "supervisor").run("sum it", session_id="s2")
    assert result.output == "Total: 12 (checked)."
    assert [t["agent"] for t in result.trace] == [
        "planner",
        "analyst",
        "planner",
        "writer",
        "planner",
    ]
    assert _last_user(peer.requests[1]) == "compute the total"
    assert "Result from analyst:\ntotal is 12" in str(_last_user(peer.requests[2]))
    assert "analyst: Analyst. Computes figures." in peer.requests[0]["messages"][0]["content"]


def test_supervisor_stops_at_max_turns(tmp_path: Path) -> None:
    """Without a final decision the run ends after max_turns with the last agent output."""
    replies = []
    for i in range(2):
        replies += [text_reply('{"next": "analyst", "input": "again"}'), text_reply(f"round {i}")]
    with chat_peer(*replies) as peer:
        result = make_runtime(peer, tmp_path, "supervisor", max_turns=2).run(
            "loop", session_id="s3"
        )
    assert result.output == "round 1"
    assert result.trace[-1]["note"] == "max_turns reached"
    assert len(peer.requests) == 4


def test_session_memory_and_summary(tmp_path: Path) -> None:
    """The planner remembers earlier turns of the same session only; old turns get summarised."""
    spec = parse_spec(architecture().model_dump(mode="json"))
    replies = [
        text_reply(r)
        for r in ("p0", "a0", "w0", "p1", "summary 0", "a1", "w1", "p2", "summary 1", "a2", "w2")
    ]
    with chat_peer(*replies) as peer:
        client = OpenAIClient(base_url=peer.base_url, model="m", timeout=10)
        runtime = Runtime(
            spec, client, tool_context=ToolContext(documents_dir=tmp_path), buffer_turns=1
        )
        runtime.run("q0", session_id="same")
        runtime.run("q1", session_id="same")
        runtime.run("q2", session_id="same")
        with pytest.raises(ModelError):  # no replies left: only the request is checked
            runtime.run("other", session_id="new")
    assert [m["content"] for m in peer.requests[3]["messages"][1:]] == ["q0", "p0", "q1"]
    assert "User: q0\nAssistant: p0" in peer.requests[4]["messages"][1]["content"]
    third = [m["content"] for m in peer.requests[7]["messages"][1:]]
    assert third == [
        "Summary of our conversation so far:\nsummary 0",
        "Understood.",
        "q1",
        "p1",
        "q2",
    ]
    assert [m["content"] for m in peer.requests[11]["messages"][1:]] == ["other"]


def test_app_maps_model_failures_and_bad_bodies(tmp_path: Path) -> None:
    """A failing model is a 502 with a message; a bad body is a 400; unknown paths 404."""
    spec = parse_spec(architecture().model_dump(mode="json"))
    with chat_peer() as peer:  # no scripted replies: the peer answers 500
        client = OpenAIClient(base_url=peer.base_url, model="m", timeout=10)
        app = App(Runtime(spec, client, tool_context=ToolContext(documents_dir=tmp_path)))
        status, body = app.invoke("/invoke", b'{"input": "hi"}')
        assert status == 502 and "HTTP 500" in body["error"]
        assert app.invoke("/invoke", b'{"inpt": "hi"}')[0] == 400
        assert app.invoke("/nope", b'{"input": "hi"}')[0] == 404
    with pytest.raises(ModelError):
        OpenAIClient(base_url="http://127.0.0.1:9", timeout=2).converse(
            model="m", system="s", messages=[], tools=[]
        )
