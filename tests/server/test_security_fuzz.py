"""Hostile inputs: property-based fuzzing of every request model and of the socket paths
(request, resume by message, resume by query string). Whatever arrives, validation raises only
ValidationError, the server never closes 1011, and nothing logs a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from agents.protocol import ENDPOINTS, ResumeMessage, Scope
from server.session import close_reason
from tests.conftest import make_settings, mint
from tests.support.pipelines import as_wiring, default_pipelines
from tests.support.server import RunningServer, run_server
from tests.support.wsclient import PAYLOADS

ROUTES = sorted(ENDPOINTS)
ALLOWED_CLOSES = {1000, 1007, 1008, 1009, 1013}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["", "../../etc/passwd", "\x00", "a" * 3000, "http://169.254.169.254/"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def mutated(route: str) -> st.SearchStrategy[dict[str, Any]]:
    """The route's valid payload with each field kept, dropped or replaced, plus extra keys."""
    base = PAYLOADS[route]
    fields = sorted(set(base) | set(ENDPOINTS[route].request.model_fields))

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in fields:
            choice = draw(st.sampled_from(["keep", "drop", "replace"]))
            if choice == "keep" and name in base:
                out[name] = base[name]
            elif choice == "replace":
                out[name] = draw(json_values)
        out.update(draw(st.dictionaries(st.text(max_size=8), json_values, max_size=2)))
        return out

    return build()


@pytest.mark.parametrize("route", ROUTES)
def test_request_models_raise_only_validation_errors(route: str) -> None:
    model = ENDPOINTS[route].request

    @settings(max_examples=150, deadline=None)
    @given(payload=mutated(route) | json_values)
    def check(payload: Any) -> None:
        with contextlib.suppress(ValidationError):
            model.model_validate(payload)

    check()


@settings(max_examples=150, deadline=None)
@given(payload=st.dictionaries(st.sampled_from(["resume", "job_id", "since"]), json_values))
def test_the_resume_message_raises_only_validation_errors(payload: dict[str, Any]) -> None:
    with contextlib.suppress(ValidationError):
        ResumeMessage.model_validate({"resume": payload})


class _Tracebacks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)


@pytest.fixture(scope="module")
def fuzz_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RunningServer, _Tracebacks]]:
    handler = _Tracebacks()
    logging.getLogger().addHandler(handler)
    settings_ = make_settings(
        tmp_path_factory.mktemp("fuzz"),
        QUBITZ_CONNECT_BURST="100000",
        QUBITZ_AUTH_FAIL_BURST="100000",
        QUBITZ_MAX_MESSAGE_BYTES="65536",
        QUBITZ_FIRST_MESSAGE_TIMEOUT="2",
    )
    try:
        with run_server(settings_, as_wiring(default_pipelines())) as srv:
            yield srv, handler
    finally:
        logging.getLogger().removeHandler(handler)


async def _exchange(url: str, frame: str | bytes | None) -> int | None:
    async with connect(url, max_size=None, open_timeout=10) as ws:
        try:
            if frame is not None:
                await ws.send(frame)
            async with asyncio.timeout(10):
                async for _ in ws:
                    pass
        except ConnectionClosed:
            pass
        return ws.close_code


def _check(fuzz: tuple[RunningServer, _Tracebacks], url: str, frame: str | bytes | None) -> None:
    _srv, handler = fuzz
    code = asyncio.run(_exchange(url, frame))
    assert code in ALLOWED_CLOSES, (url, frame, code)
    assert not handler.records, [r.getMessage() for r in handler.records]


frames = (
    st.builds(json.dumps, json_values)
    | st.text(max_size=200)
    | st.binary(max_size=200)
    | st.builds(lambda n: "[" * n + "]" * n, st.integers(1, 5000))
    | st.builds(lambda n: '{"a":' * n + "1" + "}" * n, st.integers(1, 3000))
)


@pytest.mark.parametrize("route", ROUTES)
def test_fuzzed_requests_never_break_the_server(
    fuzz_server: tuple[RunningServer, _Tracebacks], route: str
) -> None:
    srv, _ = fuzz_server
    key = mint(srv, ENDPOINTS[route].scope)
    url = f"{srv.ws}/{route}?api_key={key}"

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(frame=mutated(route).map(json.dumps) | frames)
    def check(frame: str | bytes) -> None:
        _check(fuzz_server, url, frame)

    check()


def test_fuzzed_resumes_never_break_the_server(
    fuzz_server: tuple[RunningServer, _Tracebacks],
) -> None:
    srv, _ = fuzz_server
    key = mint(srv, Scope.UCT)
    query = st.text(st.characters(codec="ascii", exclude_characters="&#"), max_size=40)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        job_id=query,
        since=query | st.integers(-(2**70), 2**70).map(str),
        body=st.dictionaries(st.sampled_from(["job_id", "since"]), json_values),
        by_query=st.booleans(),
    )
    def check(job_id: str, since: str, body: dict[str, Any], by_query: bool) -> None:
        from urllib.parse import quote

        if by_query:
            url = f"{srv.ws}/research?api_key={key}&job_id={quote(job_id)}&since={quote(since)}"
            _check(fuzz_server, url, None)
        else:
            _check(fuzz_server, f"{srv.ws}/research?api_key={key}", json.dumps({"resume": body}))

    check()


def test_a_long_non_ascii_refusal_still_closes_cleanly(
    fuzz_server: tuple[RunningServer, _Tracebacks],
) -> None:
    """Found by the fuzzer: a validation message quoting non-ASCII field names used to make a
    close reason over 123 bytes, so the close frame was invalid and the client saw 1006."""
    srv, _ = fuzz_server
    key = mint(srv, Scope.UCT)
    frame = json.dumps({**PAYLOADS["chat"], "\u0080" * 4: None, "é" * 60: 1})
    _check(fuzz_server, f"{srv.ws}/chat?api_key={key}", frame)
    assert close_reason("é" * 100).encode() == ("é" * 61).encode()
