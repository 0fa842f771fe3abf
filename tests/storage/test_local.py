"""LocalArtifactStore and its /artifacts route (Starlette TestClient and a real uvicorn)."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.testclient import TestClient

from agents.errors import InvalidRequest, NotFound
from server.storage import LocalArtifactStore, StorageError, artifact_routes, build_store

BASE = "http://testserver"


def signed(store: LocalArtifactStore, key: str) -> str:
    """The path and query of the signed URL the store hands out for `key`."""
    return store.url_for(key).removeprefix(BASE)


@pytest.fixture
def store(tmp_path: Path) -> LocalArtifactStore:
    built = build_store("local", root=tmp_path / "artifacts", public_base_url=BASE + "/")
    assert isinstance(built, LocalArtifactStore)
    return built


@pytest.fixture
def client(store: LocalArtifactStore) -> Iterator[TestClient]:
    with TestClient(Starlette(routes=artifact_routes(store))) as test_client:
        yield test_client


def test_round_trip_and_url(store: LocalArtifactStore) -> None:
    """put writes the file under root and returns <base>/artifacts/<key>; get reads it back;
    key_for_url maps the URL to the key."""
    stored = asyncio.run(store.put("ws/p1/report.md", b"# Report\n", "text/markdown"))
    assert stored.url.startswith(f"{BASE}/artifacts/ws/p1/report.md?expires=")
    assert stored.size == 9
    assert (store.root / "ws" / "p1" / "report.md").read_bytes() == b"# Report\n"
    assert asyncio.run(store.get("ws/p1/report.md")) == b"# Report\n"
    assert store.key_for_url(stored.url) == "ws/p1/report.md"
    assert store.key_for_url(stored.url + "?download=1") == "ws/p1/report.md"


def test_overwrite_is_atomic_and_leaves_no_temp_files(store: LocalArtifactStore) -> None:
    """Rewriting a key replaces the whole file and leaves only the final file behind."""
    asyncio.run(store.put("ws/p/a.md", b"old contents, longer", "text/markdown"))
    asyncio.run(store.put("ws/p/a.md", b"new", "text/markdown"))
    assert asyncio.run(store.get("ws/p/a.md")) == b"new"
    assert sorted(os.listdir(store.root / "ws" / "p")) == ["a.md"]


def test_missing_key_is_not_found(store: LocalArtifactStore) -> None:
    """get of a key never stored raises NotFound."""
    with pytest.raises(NotFound):
        asyncio.run(store.get("ws/p/none.md"))


@pytest.mark.parametrize(
    "key",
    ["../escape.md", "/etc/passwd", "a/../../b", "a/./b", ".hidden", "a b", "a\\b", "", "a//b",
     "ws/p/ü.md", "ws/p/x.md%00"],
)  # fmt: skip
def test_unsafe_keys_are_refused(store: LocalArtifactStore, key: str) -> None:
    """Keys outside [A-Za-z0-9._-] segments, or with '.', '..' or hidden segments, raise
    InvalidRequest and write nothing."""
    with pytest.raises(InvalidRequest):
        asyncio.run(store.put(key, b"x", "text/plain"))
    assert not store.root.exists() or not any(store.root.rglob("*"))


def test_write_failure_raises_storage_error(tmp_path: Path) -> None:
    """A filesystem failure (root is a file) is a StorageError with code upload_failed."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    store = LocalArtifactStore(blocker, "http://127.0.0.1:8008")
    with pytest.raises(StorageError) as info:
        asyncio.run(store.put("ws/a.md", b"x", "text/markdown"))
    assert info.value.code == "upload_failed"


def test_key_for_url_rejects_foreign_urls(store: LocalArtifactStore) -> None:
    """URLs on other origins or paths, or naming unsafe keys, are not this store's."""
    assert store.key_for_url("http://other.example/artifacts/ws/a.md") is None
    assert store.key_for_url(f"{BASE}/files/ws/a.md") is None
    assert store.key_for_url(f"{BASE}/artifacts/ws/..%2f..%2fsecret") is None
    assert store.key_for_url(f"{BASE}/artifacts/") is None


def test_route_serves_content_types(store: LocalArtifactStore, client: TestClient) -> None:
    """Markdown is served as text/markdown; charset=utf-8, PDF as application/pdf, with an ETag,
    Last-Modified and nosniff/sandbox headers."""
    asyncio.run(store.put("ws/p/report.md", "# Ünïcode".encode(), "text/markdown"))
    asyncio.run(store.put("ws/p/report.pdf", b"%PDF-1.7 test", "application/pdf"))

    md = client.get(signed(store, "ws/p/report.md"))
    assert md.status_code == 200
    assert md.headers["content-type"] == "text/markdown; charset=utf-8"
    assert md.text == "# Ünïcode"
    assert md.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in md.headers["content-security-policy"]
    assert md.headers["last-modified"]

    pdf = client.get(signed(store, "ws/p/report.pdf"))
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content == b"%PDF-1.7 test"

    head = client.head(signed(store, "ws/p/report.pdf"))
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(b"%PDF-1.7 test"))


def test_route_answers_304_for_a_matching_etag(
    store: LocalArtifactStore, client: TestClient
) -> None:
    """A conditional GET with the current ETag gets 304 and no body."""
    asyncio.run(store.put("ws/p/a.md", b"abc", "text/markdown"))
    url = signed(store, "ws/p/a.md")
    etag = client.get(url).headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = client.get(url, headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200


def test_route_refuses_traversal_and_hidden_files(
    tmp_path: Path, store: LocalArtifactStore, client: TestClient
) -> None:
    """Encoded '..' segments, hidden (temporary) files, directories, symlinks out of the root
    and missing keys are never served: 403 unsigned, 404 when signed but not a stored file."""
    (tmp_path / "secret.txt").write_text("top secret")
    asyncio.run(store.put("ws/p/a.md", b"ok", "text/markdown"))
    (store.root / "ws" / ".tmp-partial.part").write_text("half written")
    (store.root / "ws" / "link.txt").symlink_to(tmp_path / "secret.txt")

    for path in (
        "/artifacts/..%2fsecret.txt",
        "/artifacts/ws/..%2f..%2fsecret.txt",
        "/artifacts/%2e%2e/secret.txt",
        "/artifacts/ws%2f..%2f..%2fsecret.txt",
        "/artifacts/ws/.tmp-partial.part",
        "/artifacts/ws/link.txt",
        "/artifacts/ws/p",
        "/artifacts/ws/p/missing.md",
        "/artifacts/",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "top secret" not in response.text
    for key in ("ws/.tmp-partial.part", "ws/link.txt", "ws/p", "ws/p/missing.md"):
        response = client.get(_signed_any(store, key))
        assert response.status_code in (403, 404), key
        assert "top secret" not in response.text
    assert client.get(signed(store, "ws/p/a.md")).text == "ok"


@pytest.fixture
def live_server(store: LocalArtifactStore) -> Iterator[int]:
    """The artifact route on a real uvicorn bound to 127.0.0.1 (random port)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(
        Starlette(routes=artifact_routes(store)), log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _signed_any(store: LocalArtifactStore, key: str) -> str:
    """A correctly signed URL even for keys the store would not write (hidden segments)."""
    expires = int(time.time()) + 60
    return f"/artifacts/{key}?expires={expires}&sig={store._signature(key, expires)}"


def _raw_get(port: int, target: str) -> tuple[int, bytes]:
    """Send a request line exactly as written (no client-side path normalisation)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def test_real_server_refuses_raw_traversal(
    tmp_path: Path, store: LocalArtifactStore, live_server: int
) -> None:
    """Over a real socket, literal and encoded '..' request targets never reach files outside
    the root, while a stored artifact is served."""
    (tmp_path / "secret.txt").write_text("top secret")
    asyncio.run(store.put("ws/p/a.md", b"served", "text/markdown"))
    assert _raw_get(live_server, signed(store, "ws/p/a.md")) == (200, b"served")
    for target in (
        "/artifacts/../secret.txt",
        "/artifacts/ws/../../secret.txt",
        "/artifacts/..%2fsecret.txt",
        "/artifacts/..%2Fsecret.txt",
        "/artifacts/%2e%2e%2fsecret.txt",
        "/artifacts/ws/p/..%5c..%5c..%5csecret.txt",
    ):
        status, body = _raw_get(live_server, target)
        assert status in (403, 404), target
        assert b"top secret" not in body


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_signed_urls_expire_and_resist_tampering(tmp_path: Path) -> None:
    """With a signing key, the returned URL opens the file until it expires; a URL for another
    key, a changed expiry or no signature gets 403; key_for_url still recognises the URL."""
    clock = _Clock(1_700_000_000.0)
    store = LocalArtifactStore(
        tmp_path, BASE, signing_key=b"0123456789abcdef-secret", url_ttl=60, clock=clock
    )
    stored = asyncio.run(store.put("ws/p/a.md", b"signed", "text/markdown"))
    asyncio.run(store.put("ws/p/b.md", b"other", "text/markdown"))
    path, query = stored.url.removeprefix(BASE).split("?", 1)
    assert store.key_for_url(stored.url) == "ws/p/a.md"

    with TestClient(Starlette(routes=artifact_routes(store))) as client:
        assert client.get(f"{path}?{query}").text == "signed"
        assert client.get(path).status_code == 403
        assert client.get(f"/artifacts/ws/p/b.md?{query}").status_code == 403
        later = query.replace("expires=1700000060", "expires=1800000000")
        assert later != query
        assert client.get(f"{path}?{later}").status_code == 403
        clock.now += 61
        assert client.get(f"{path}?{query}").status_code == 403


def test_build_store_rejects_incomplete_configuration(tmp_path: Path) -> None:
    """The factory refuses a local store without root or URL, a non-http URL, a short signing
    key and an unknown kind."""
    with pytest.raises(ValueError, match="root"):
        build_store("local", public_base_url=BASE)
    with pytest.raises(ValueError, match="public_base_url"):
        build_store("local", root=tmp_path)
    with pytest.raises(ValueError, match="http"):
        build_store("local", root=tmp_path, public_base_url="ftp://host")
    with pytest.raises(ValueError, match="16 bytes"):
        build_store("local", root=tmp_path, public_base_url=BASE, signing_key=b"short")
    with pytest.raises(ValueError, match="unknown"):
        build_store("ftp", root=tmp_path, public_base_url=BASE)  # type: ignore[arg-type]


def test_a_signature_is_bound_to_its_workspace_and_key(tmp_path: Path) -> None:
    """A valid signature of workspace a's artifact opens neither workspace b's file of the
    same name nor another file of a; an unsigned URL is 403 whether or not the file exists."""
    store = LocalArtifactStore(tmp_path, BASE, signing_key=b"0123456789abcdef-secret")
    asyncio.run(store.put("a/p/report.md", b"of a", "text/markdown"))
    asyncio.run(store.put("b/p/report.md", b"of b", "text/markdown"))
    query = store.url_for("a/p/report.md").split("?", 1)[1]
    with TestClient(Starlette(routes=artifact_routes(store))) as client:
        assert client.get(f"/artifacts/a/p/report.md?{query}").text == "of a"
        assert client.get(f"/artifacts/b/p/report.md?{query}").status_code == 403
        assert client.get("/artifacts/b/p/report.md").status_code == 403
        assert client.get("/artifacts/b/p/nothing.md").status_code == 403


def test_a_store_without_a_configured_key_still_signs(tmp_path: Path) -> None:
    """No signing key given: URLs are signed with a random key, never served unsigned."""
    store = LocalArtifactStore(tmp_path, BASE)
    stored = asyncio.run(store.put("ws/p/a.md", b"x", "text/markdown"))
    assert "sig=" in stored.url and "expires=" in stored.url
    with TestClient(Starlette(routes=artifact_routes(store))) as client:
        assert client.get("/artifacts/ws/p/a.md").status_code == 403
        assert client.get(stored.url.removeprefix(BASE)).text == "x"
