"""A pytest plugin: tests make no network model calls unless they opt in.

Enable it in tests/conftest.py with `pytest_plugins = ["tests.support.no_network_models"]`.

For every test:
- a socket connection to anything but loopback (127.0.0.0/8, ::1, localhost, Unix sockets) is
  refused before any packet leaves, whatever the marker;
- an HTTP request to a model API (Anthropic `/v1/messages`, OpenAI-style `/chat/completions`,
  OpenAI `/v1/responses`, Bedrock `/model/<id>/converse...` or `/invoke...`, or any request to
  a known cloud model host) made through httpx, httpx2 (the anthropic SDK) or botocore is
  refused unless the test carries `@pytest.mark.allow_model_requests` (then loopback model
  peers are fine).
A refused call raises `ModelRequestBlocked` and also fails the test at teardown, so an SDK that
wraps the exception cannot hide it.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

MARKER = "allow_model_requests"
MODEL_PATH = re.compile(
    r"(/v1/messages\b|/chat/completions\b|/completions\b|/v1/responses\b"
    r"|/model/[^/]+/(converse|invoke))"
)
MODEL_HOSTS = re.compile(
    r"(^|\.)(api\.anthropic\.com|api\.openai\.com|bedrock-runtime\.[a-z0-9-]+\.amazonaws\.com)$"
)


class ModelRequestBlocked(RuntimeError):
    pass


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def is_model_request(host: str, path: str) -> bool:
    return bool(MODEL_HOSTS.search(host.lower()) or MODEL_PATH.search(path))


class _Guard:
    def __init__(self, allow_models: bool) -> None:
        self.allow_models = allow_models
        self.violations: list[str] = []

    def refuse(self, what: str) -> ModelRequestBlocked:
        self.violations.append(what)
        return ModelRequestBlocked(what)

    def check_address(self, family: int, address: Any) -> None:
        if family not in (socket.AF_INET, socket.AF_INET6):
            return
        host = str(address[0]) if isinstance(address, tuple) else str(address)
        if not is_loopback(host):
            raise self.refuse(f"network connection to {host} (tests stay on loopback)")

    def check_url(self, host: str, path: str) -> None:
        if not self.allow_models and is_model_request(host, path):
            raise self.refuse(f"model request to {host}{path} without @pytest.mark.{MARKER}")
        if not is_loopback(host) and is_model_request(host, path):
            raise self.refuse(f"model request to non-loopback host {host}")


def _patch_sockets(monkeypatch: pytest.MonkeyPatch, guard: _Guard) -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        guard.check_address(self.family, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard.check_address(self.family, address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


def _patch_httpx(monkeypatch: pytest.MonkeyPatch, guard: _Guard, module_name: str) -> None:
    try:
        module = __import__(module_name)
    except ImportError:
        return
    for cls_name, method in (
        ("HTTPTransport", "handle_request"),
        ("AsyncHTTPTransport", "handle_async_request"),
    ):
        cls = getattr(module, cls_name, None)
        if cls is None or not hasattr(cls, method):
            continue
        real = getattr(cls, method)

        if method == "handle_request":

            def sync_wrapper(self: Any, request: Any, _real: Any = real) -> Any:
                guard.check_url(request.url.host, request.url.path)
                return _real(self, request)

            monkeypatch.setattr(cls, method, sync_wrapper)
        else:

            async def async_wrapper(self: Any, request: Any, _real: Any = real) -> Any:
                guard.check_url(request.url.host, request.url.path)
                return await _real(self, request)

            monkeypatch.setattr(cls, method, async_wrapper)


def _patch_botocore(monkeypatch: pytest.MonkeyPatch, guard: _Guard) -> None:
    try:
        from urllib.parse import urlsplit

        from botocore.httpsession import URLLib3Session
    except ImportError:
        return
    real_send = URLLib3Session.send

    def send(self: Any, request: Any) -> Any:
        parts = urlsplit(request.url)
        guard.check_url(parts.hostname or "", parts.path)
        return real_send(self, request)

    monkeypatch.setattr(URLLib3Session, "send", send)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}: the test may call a real model provider on loopback"
    )


@pytest.fixture(autouse=True)
def _no_network_models(request: pytest.FixtureRequest) -> Iterator[None]:
    guard = _Guard(allow_models=request.node.get_closest_marker(MARKER) is not None)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _patch_sockets(monkeypatch, guard)
        _patch_httpx(monkeypatch, guard, "httpx")
        _patch_httpx(monkeypatch, guard, "httpx2")
        _patch_botocore(monkeypatch, guard)
        yield
    if guard.violations:
        pytest.fail("blocked network use: " + "; ".join(guard.violations), pytrace=False)
