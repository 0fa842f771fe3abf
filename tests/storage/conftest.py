"""Loopback peers for the storage tests: moto's S3 server and a flaky proxy in front of it."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from moto.server import ThreadedMotoServer

REGION = "eu-west-1"


@pytest.fixture(autouse=True)
def _aws_test_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials so boto3 signs requests without looking for real ones."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3-compatible server on 127.0.0.1 (random port), for the whole session."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_admin(endpoint: str):  # type: ignore[no-untyped-def]
    """A plain boto3 client for setting up and inspecting buckets behind the store's back."""
    return boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


_bucket_counter = iter(range(1_000_000))


@pytest.fixture
def bucket(moto_endpoint: str) -> str:
    """A fresh, empty bucket on the moto server."""
    name = f"qubitz-test-{next(_bucket_counter)}"
    s3_admin(moto_endpoint).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return name


@dataclass
class FlakyProxy:
    """Answers the first `fail_first` requests (or all, with fail_always) with an S3 error,
    and forwards the others to the real S3 server."""

    url: str
    upstream: str
    fail_first: int = 0
    fail_always: bool = False
    status: int = 503
    error_code: str = "SlowDown"
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _make_handler(proxy_ref: list[FlakyProxy]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            proxy = proxy_ref[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with proxy.lock:
                proxy.requests.append(f"{self.command} {self.path}")
                fail = proxy.fail_always or len(proxy.requests) <= proxy.fail_first
            if fail:
                payload = (
                    f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{proxy.error_code}"
                    "</Code><Message>Please reduce your request rate.</Message></Error>"
                ).encode()
                self.send_response(proxy.status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            upstream = proxy.upstream.removeprefix("http://")
            conn = http.client.HTTPConnection(upstream, timeout=10)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            conn.close()
            self.send_response(response.status)
            for name, value in response.getheaders():
                if name.lower() not in {"transfer-encoding", "connection", "content-length"}:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def flaky_proxy(moto_endpoint: str) -> Iterator[FlakyProxy]:
    """A loopback HTTP proxy to moto whose failures the test configures."""
    ref: list[FlakyProxy] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(ref))
    ref.append(
        FlakyProxy(url=f"http://127.0.0.1:{server.server_address[1]}", upstream=moto_endpoint)
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ref[0]
    finally:
        server.shutdown()
        server.server_close()
