"""The generated runtime: memory per API key and session; http_fetch reaches global hosts only."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from infra_templates.runtime.app import App
from infra_templates.runtime.fetch import FetchError, FetchLimits, fetch_text, is_public_ip
from infra_templates.runtime.handler import handle_event
from infra_templates.runtime.models import OpenAIClient
from infra_templates.runtime.orchestrate import Runtime
from infra_templates.runtime.spec import parse_spec
from infra_templates.runtime.tools import ToolContext
from tests.deploy_render.peers import ChatPeer, chat_peer, text_reply
from tests.deploy_render.specs import architecture

PIPELINE_REPLIES = ("plan", "numbers", "answer")  # planner, analyst, writer


def _app(peer: ChatPeer, tmp_path: Path) -> App:
    spec = parse_spec(architecture().model_dump(mode="json"))
    client = OpenAIClient(base_url=peer.base_url, model="m", timeout=10)
    return App(Runtime(spec, client, tool_context=ToolContext(documents_dir=tmp_path)))


def _seen(request: dict[str, Any]) -> str:
    return json.dumps(request["messages"])


def test_two_keys_sending_one_session_id_do_not_share_memory(tmp_path: Path) -> None:
    """Key B's `session_id: s` starts empty; key A's own later turn still remembers A's secret."""
    replies = [text_reply(r) for _ in range(3) for r in PIPELINE_REPLIES]
    with chat_peer(*replies) as peer:
        app = _app(peer, tmp_path)
        body = b'{"input": "my secret is 4711", "session_id": "s"}'
        assert app.invoke("/invoke", body, caller="key-a")[0] == 200
        status, answer = app.invoke(
            "/invoke", b'{"input": "what is my secret?", "session_id": "s"}', caller="key-b"
        )
        assert status == 200 and answer["session_id"] == "s"
        assert app.invoke("/invoke", b'{"input": "again?", "session_id": "s"}', caller="key-a")[0]
    first_of_b, first_of_a_again = peer.requests[3], peer.requests[6]
    assert "4711" not in _seen(first_of_b)
    assert "4711" in _seen(first_of_a_again)


def test_lambda_events_are_scoped_by_the_api_key_id(tmp_path: Path) -> None:
    """On API Gateway the key is requestContext.identity.apiKeyId: two keys, two memories."""
    replies = [text_reply(r) for _ in range(2) for r in PIPELINE_REPLIES]

    def event(key_id: str, text: str) -> dict[str, Any]:
        return {
            "resource": "/invoke",
            "body": json.dumps({"input": text, "session_id": "shared"}),
            "requestContext": {"identity": {"apiKeyId": key_id, "sourceIp": "203.0.113.9"}},
        }

    with chat_peer(*replies) as peer:
        app = _app(peer, tmp_path)
        assert handle_event(app, event("k1", "remember 9931"))["statusCode"] == 200
        assert handle_event(app, event("k2", "what did I say?"))["statusCode"] == 200
    assert "9931" not in _seen(peer.requests[3])


REFUSED = [
    "100.64.0.1",  # CGNAT (shared address space)
    "100.127.255.254",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::",  # 6to4 of the metadata address
    "2002:0a00:0001::1",  # 6to4 of 10.0.0.1
    "::ffff:127.0.0.1",  # IPv4-mapped loopback
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
    "2001:0:4136:e378:8000:63bf:f5ff:fffe",  # Teredo whose client is 10.0.0.1
    "169.254.169.254",
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "192.0.2.1",  # documentation
    "198.18.0.1",  # benchmarking
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "::1",
    "fe80::1",
    "fc00::1",
    "2001:db8::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_non_global_addresses_are_refused(address: str) -> None:
    """Every non-global address, also inside IPv6 forms that embed an IPv4 address."""
    assert not is_public_ip(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"])
def test_global_addresses_are_allowed(address: str) -> None:
    assert is_public_ip(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://100.64.0.1/",
        "http://[2002:7f00:1::1]/",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        "http://2130706433/",  # decimal 127.0.0.1
        "http://0177.0.0.1/",  # octal 127.0.0.1
    ],
)
def test_http_fetch_refuses_them_before_connecting(url: str) -> None:
    """The URL is refused at resolution: no connection is attempted."""
    with pytest.raises(FetchError, match="non-public"):
        fetch_text(url, limits=FetchLimits(timeout=2))
