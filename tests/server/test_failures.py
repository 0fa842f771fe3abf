"""The failure map: every exception of the tree → (error event, close code, job state)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

import agents.errors as errors
from agents.errors import QubitzError
from agents.protocol import ENDPOINTS, FlatError, Scope
from agents.protocol_codes import CloseCode
from server.failures import JobEnd, outcome
from tests.conftest import make_settings, mint
from tests.support.pipelines import as_wiring, default_pipelines, raising
from tests.support.server import run_server
from tests.support.wsclient import RESEARCH, run

# class → (job state, close code, the error code on /research, on the ControlHub endpoints)
EXPECTED: dict[type[QubitzError], tuple[str, int, str, str]] = {
    errors.QubitzError: ("failed", 1000, "INTERNAL_ERROR", "internal_error"),
    errors.InvalidRequest: ("failed", 1000, "INVALID_REQUEST", "invalid_request"),
    errors.NotFound: ("failed", 1000, "NOT_FOUND", "not_found"),
    errors.Conflict: ("failed", 1000, "CONFLICT", "conflict"),
    errors.LimitExceeded: ("failed", 1000, "TOKEN_LIMIT_EXCEEDED", "token_limit_exceeded"),
    errors.UpstreamError: ("failed", 1000, "UPSTREAM_ERROR", "upstream_error"),
    errors.PipelineFailed: ("failed", 1000, "PIPELINE_FAILED", "pipeline_failed"),
    errors.JobCancelled: ("cancelled", 1000, "CANCELLED", "cancelled"),
    errors.SessionError: ("failed", 1011, "INTERNAL_ERROR", "internal_error"),
    errors.BadPayload: ("failed", 1007, "INVALID_REQUEST", "invalid_request"),
    errors.MessageTooLarge: ("failed", 1009, "MESSAGE_TOO_LARGE", "message_too_large"),
    errors.Unauthorized: ("failed", 1008, "UNAUTHORIZED", "unauthorized"),
    errors.Overloaded: ("failed", 1013, "OVERLOADED", "overloaded"),
    errors.ShuttingDown: ("failed", 1001, "SERVER_SHUTTING_DOWN", "server_shutting_down"),
    errors.HandedOver: ("failed", 1001, "HANDED_OVER", "handed_over"),
    errors.InternalError: ("failed", 1011, "INTERNAL_ERROR", "internal_error"),
    errors.JobLost: ("failed", 1011, "JOB_LOST", "job_lost"),
}


def _instance(cls: type[QubitzError]) -> QubitzError:
    if cls is errors.PipelineFailed:
        return errors.PipelineFailed("it broke", step="writing")
    if "message" in inspect.signature(cls).parameters:
        return cls("it broke")
    return cls()  # type: ignore[call-arg]


def test_every_exception_class_of_the_tree_is_in_the_table() -> None:
    defined = {
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, QubitzError)
    }
    assert defined == set(EXPECTED)


@pytest.mark.parametrize("cls", list(EXPECTED), ids=lambda c: c.__name__)
def test_an_exception_maps_to_its_event_close_code_and_state(cls: type[QubitzError]) -> None:
    state, close, flat_code, data_code = EXPECTED[cls]
    exc = _instance(cls)
    got = outcome(exc)
    assert (got.state, got.close_code) == (state, close)
    assert isinstance(got.close_code, CloseCode)
    assert got.end == JobEnd(state, CloseCode(close), data_code)

    research = got.event(ENDPOINTS["research"], "s1")
    assert research["type"] == "error" and research["error"] == flat_code
    assert research["message"] == exc.message and research["session_id"] == "s1"
    assert research.get("step") == ("writing" if cls is errors.PipelineFailed else None)
    chat = got.event(ENDPOINTS["chat"], "s1")
    assert chat == {"type": "chat_error", "error": flat_code, "message": exc.message,
                    "session_id": "s1"}  # fmt: skip
    for name in ("getspec", "updatespec", "deploy", "createapikey", "deleteapikey"):
        assert got.event(ENDPOINTS[name], "s1") == {
            "type": "error",
            "data": {"error": data_code, "message": exc.message},
        }


def test_a_normal_end_succeeds_with_no_event() -> None:
    got = outcome(None)
    assert (got.state, got.close_code, got.end) == (
        "succeeded",
        1000,
        JobEnd("succeeded", CloseCode.NORMAL),
    )
    with pytest.raises(ValueError, match="no error event"):
        got.event(ENDPOINTS["research"])


def test_an_exception_outside_the_tree_is_an_internal_error_without_its_text() -> None:
    got = outcome(RuntimeError("secret detail"))
    event = got.event(ENDPOINTS["research"])
    assert (got.state, got.close_code) == ("failed", 1011)
    assert event == {
        "type": "error",
        "error": "INTERNAL_ERROR",
        "message": "Internal server error.",
    }


def test_codes_and_details_of_an_instance_win_over_the_class() -> None:
    exc = errors.BadPayload("not JSON", code="invalid_json", details=["line 1"])
    got = outcome(exc)
    assert got.close_code == 1007
    assert got.event(ENDPOINTS["deploy"])["data"] == {
        "error": "invalid_json",
        "message": "not JSON",
        "details": ["line 1"],
    }


def test_a_stored_end_reads_back_as_a_close_code() -> None:
    assert JobEnd.stored("succeeded", None, None).close_code is CloseCode.NORMAL
    assert JobEnd.stored("failed", 1011, "internal_error").close_code is CloseCode.INTERNAL_ERROR


def test_close_codes_are_integers_only_in_the_enum() -> None:
    """Outside agents/protocol_codes.py no module of server/ or agents/ spells a close code as a
    number (a line naming a close code's number and a close or a code)."""
    root = Path(__file__).resolve().parents[2]
    number = re.compile(r"\b(1000|1001|1007|1008|1009|1011|1013)\b")
    about_closing = re.compile(r"close|code|JobEnd", re.IGNORECASE)
    allowed = root / "agents" / "protocol_codes.py"
    offenders: list[str] = []
    for package in ("server", "agents"):
        for path in sorted((root / package).rglob("*.py")):
            if path == allowed:
                continue
            for index, line in enumerate(path.read_text().splitlines(), 1):
                if number.search(line) and about_closing.search(line):
                    offenders.append(f"{path.relative_to(root)}:{index}: {line.strip()}")
    assert offenders == []


@pytest.mark.anyio
async def test_the_runner_and_the_session_use_the_map(tmp_path: Path) -> None:
    """A raised PipelineFailed keeps its step on /research and is stored as the job's end; a
    pipeline that yields its own error event is refused (one writer of error events)."""

    async def yields_error(request: Any, ctx: Any) -> Any:
        yield FlatError(error="OOPS", message="hand-made", session_id=request.session_id)

    failing = raising(errors.PipelineFailed("Step 'writing' failed: boom", step="writing"))
    pipelines = {**default_pipelines(), "research": failing, "chat": yields_error}
    with run_server(make_settings(tmp_path), as_wiring(pipelines)) as srv:
        key = mint(srv, Scope.UCT)
        out = await run(f"{srv.ws}/research?api_key={key}", RESEARCH)
        job_id = out.events[0]["job_id"]
        record = srv.call(srv.services.runner._jobs.get_any(job_id))
        chat = await run(
            f"{srv.ws}/chat?api_key={key}",
            {"messages": [{"role": "user", "content": "hi"}], "user_id": "u", "session_id": "s",
             "report": "# R"},
        )  # fmt: skip
    assert out.close_code == 1000
    assert out.events[-1]["error"] == "PIPELINE_FAILED" and out.events[-1]["step"] == "writing"
    assert record is not None
    assert (record.state, record.close_code, record.error) == ("failed", 1000, "pipeline_failed")
    assert chat.close_code == 1011 and chat.events[-1]["type"] == "chat_error"
    assert chat.events[-1]["error"] == "INTERNAL_ERROR"
    assert not any(e.get("error") == "OOPS" for e in chat.events)
