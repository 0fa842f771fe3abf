"""console_routes: which files are served, with which types, without shadowing other routes."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from server.console import console_routes, content_type_for, default_clients_dir


def make_clients(root: Path) -> Path:
    (root / "web").mkdir(parents=True)
    (root / "js" / ".test").mkdir(parents=True)
    (root / "web" / "index.html").write_text("<!doctype html><title>t</title>")
    (root / "web" / "app.js").write_text("export {};")
    (root / "web" / ".secret.js").write_text("no")
    (root / "web" / "notes.unknownext").write_text("no")
    (root / "js" / "qubitz.js").write_text("export class QubitzClient {}")
    (root / "js" / "qubitz.d.ts").write_text("export declare class QubitzClient {}")
    (root / "js" / ".test" / "package.json").write_text("{}")
    return root


def test_only_present_known_files_are_routed(tmp_path: Path) -> None:
    """Each present file with a known type gets a route; dot-files, dot-folders and unknown
    types do not; a one-segment route added after the console is still reachable."""

    async def other(_: Request) -> Response:
        return PlainTextResponse("other")

    root = make_clients(tmp_path / "clients")
    app = Starlette(routes=[*console_routes(root), Route("/other", other)])
    with TestClient(app) as http:
        assert http.get("/").headers["content-type"] == "text/html; charset=utf-8"
        assert http.get("/app.js").text == "export {};"
        assert http.get("/js/qubitz.d.ts").headers["content-type"] == (
            "application/typescript; charset=utf-8"
        )
        assert http.head("/js/qubitz.js").status_code == 200
        for missing in ["/.secret.js", "/notes.unknownext", "/js/.test/package.json", "/x.js"]:
            assert http.get(missing).status_code == 404, missing
        assert http.get("/other").text == "other"
        assert http.post("/app.js").status_code == 405
        (root / "web" / "app.js").unlink()
        assert http.get("/app.js").status_code == 404


def test_missing_clients_folder_gives_no_routes(tmp_path: Path) -> None:
    """Without a clients folder nothing is mounted (and nothing breaks)."""
    assert console_routes(tmp_path / "absent") == []


def test_the_repository_console_is_found_and_typed() -> None:
    """The default folder is the repository's clients/ with the console and the JS client."""
    root = default_clients_dir()
    assert (root / "web" / "index.html").is_file()
    assert (root / "js" / "qubitz.js").is_file()
    assert content_type_for("qubitz.js") == "text/javascript; charset=utf-8"
    assert content_type_for("style.css") == "text/css; charset=utf-8"
    assert content_type_for("favicon.svg") == "image/svg+xml"
    assert content_type_for("x.exe") is None
