"""The Python client's typed events match the AsyncAPI document the service serves."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from qubitz_client import QubitzClient
from qubitz_client.events import (
    EVENTS,
    ArchitectureEvent,
    DataError,
    DeploymentStarted,
    DeployStatus,
    Event,
    ResearchError,
    ResearchStatus,
    parse_event,
)

from agents.protocol import Scope
from tests.conftest import mint
from tests.support.server import RunningServer
from tests.support.wsclient import PAYLOADS

pytestmark = pytest.mark.anyio

# Served by the base class's helpers on every event (top level or inside `data`).
HELPERS = {"message", "progress_percent"}
BASE_FIELDS = {"type", "job_id", "seq"}


def _document(server: RunningServer) -> dict[str, Any]:
    return httpx.get(f"{server.http}/asyncapi.json").json()  # type: ignore[no-any-return]


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return _resolve(doc, doc["components"]["schemas"][ref.rsplit("/", 1)[-1]])
    for option in schema.get("anyOf", []):
        if option.get("type") != "null":
            return _resolve(doc, option)
    return schema


def _compare(
    doc: dict[str, Any], name: str, schema: dict[str, Any], model: type[BaseModel]
) -> list[str]:
    """Differences between a JSON schema object and a client model (recursing into objects)."""
    problems: list[str] = []
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    fields = model.model_fields
    top = issubclass(model, Event)
    wanted = set(props) - (BASE_FIELDS | HELPERS if top else set())
    missing = wanted - set(fields)
    problems += [f"{name}.{f}: in the document, not in {model.__name__}" for f in sorted(missing)]
    extra = set(fields) - set(props) - BASE_FIELDS
    problems += [f"{name}.{f}: in {model.__name__}, not in the document" for f in sorted(extra)]
    for field in sorted(wanted & set(fields)):
        info = fields[field]
        if (field in required) != info.is_required() and field in required:
            problems.append(f"{name}.{field}: required in the document, optional in the client")
        sub = _resolve(doc, props[field])
        annotation = info.annotation
        nested = [
            a
            for a in getattr(annotation, "__args__", (annotation,))
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if sub.get("type") == "object" and "properties" in sub and nested:
            problems += _compare(doc, f"{name}.{field}", sub, nested[0])
    return problems


def test_every_message_of_the_document_has_a_matching_client_class(
    server: RunningServer,
) -> None:
    doc = _document(server)
    problems: list[str] = []
    for endpoint, channel in doc["channels"].items():
        classes = {c.model_fields["type"].default: c for c in EVENTS[endpoint]}
        for message in channel["messages"]:
            if "." not in message:
                continue  # requests, resume and cancel: sent by the client, not received
            schema = doc["components"]["schemas"][message]
            event_type = schema["properties"]["type"]["const"]
            model = classes.pop(event_type, None)
            if model is None:
                problems.append(f"{message}: no client class for {endpoint}/{event_type}")
                continue
            problems += _compare(doc, message, schema, model)
        problems += [f"{endpoint}/{t}: a client class the document lacks" for t in classes]
    assert problems == []


def test_events_parse_into_the_endpoints_classes() -> None:
    status = parse_event({"type": "status", "message": "m", "session_id": "s"}, "research")
    assert isinstance(status, ResearchStatus) and status.message == "m"
    deploy = parse_event(
        {
            "type": "status",
            "data": {"status": "deploying", "message": "cdk", "progress_percent": 65},
        },
        "deploy",
    )
    assert isinstance(deploy, DeployStatus)
    assert deploy.data.progress_percent == 65 and deploy.progress_percent == 65
    assert deploy.message == "cdk"
    error = parse_event({"type": "error", "error": "INVALID_QUERY", "message": "no"}, "research")
    assert isinstance(error, ResearchError) and error.error_code == "INVALID_QUERY"
    spec_error = parse_event({"type": "error", "data": {"error": "x", "message": "y"}}, "getspec")
    assert isinstance(spec_error, DataError) and spec_error.data.error == "x"


def test_unknown_types_and_shapes_still_arrive_as_plain_events() -> None:
    new_type = parse_event({"type": "brand_new", "seq": 3, "x": 1}, "research")
    assert type(new_type) is Event and new_type.get("x") == 1 and new_type.seq == 3
    odd = parse_event({"type": "status", "data": "not an object"}, "deploy")
    assert type(odd) is Event and odd.payload == {}
    extended = parse_event(
        {"type": "status", "message": "m", "session_id": "s", "resumed": True}, "research"
    )
    assert isinstance(extended, ResearchStatus) and extended.get("resumed") is True


async def test_the_client_yields_typed_events_from_a_live_service(server: RunningServer) -> None:
    async with QubitzClient(server.http, mint(server, Scope.UCT)) as client:
        events = await client.research(**PAYLOADS["research"]).events()
    assert events and all(isinstance(e, ResearchStatus) for e in events)
    assert [e.message for e in events] == [f"step {i}" for i in range(1, 6)]
    async with QubitzClient(server.http, mint(server, Scope.CONTROL_HUB)) as client:
        spec = await client.get_spec(**PAYLOADS["getspec"]).result()
        deploy = await client.deploy(**PAYLOADS["deploy"]).events()
    assert isinstance(spec, ArchitectureEvent)
    assert spec.data.architecture["agents_config"]
    assert [type(e).__name__ for e in deploy] == ["DeploymentStarted", "Complete"]
    assert isinstance(deploy[0], DeploymentStarted) and deploy[0].data.message == "started"


def test_client_reads_url_and_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUBITZ_URL", "https://qubitz.example:9000")
    monkeypatch.setenv("QUBITZ_API_KEY", "qk_uct_env")
    client = QubitzClient()
    assert client.ws_base == "wss://qubitz.example:9000" and client.api_key == "qk_uct_env"
    explicit = QubitzClient("http://127.0.0.1:1", "qk_ch_arg")
    assert explicit.ws_base == "ws://127.0.0.1:1" and explicit.api_key == "qk_ch_arg"
    monkeypatch.delenv("QUBITZ_API_KEY")
    with pytest.raises(ValueError, match="QUBITZ_API_KEY"):
        QubitzClient()
