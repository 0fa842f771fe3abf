"""The production wiring: every endpoint has its pipeline; console, gateway, artifacts mounted."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from agents.protocol import ENDPOINTS
from tests.conftest import make_settings
from tests.support.server import run_server

pytestmark = pytest.mark.anyio


@pytest.mark.allow_model_requests  # it calls qubitz's own model endpoint on loopback
async def test_default_wiring_serves_every_endpoint_and_route(tmp_path: Path) -> None:
    with run_server(make_settings(tmp_path, QUBITZ_LOCAL_MODEL="tiny")) as srv:
        assert set(srv.services.pipelines) == set(ENDPOINTS)
        async with httpx.AsyncClient(base_url=srv.http) as http:
            console = await http.get("/")
            proxy = await http.post("/v1/chat/completions", json={"messages": []})
            app = await http.post("/apps/no-such-app/invoke", json={"input": "x"})
            artifact = await http.get("/artifacts/ws/p/missing.md")
            unknown = await http.get("/nothing-here")
    assert console.status_code == 200 and "text/html" in console.headers["content-type"]
    assert proxy.status_code == 401, "the model endpoint needs the token given to local apps"
    assert app.status_code in {403, 404}
    assert artifact.status_code == 403, "artifact URLs are signed by default"
    assert (tmp_path / "artifact-url.key").exists(), "the signing key is kept in the data dir"
    assert unknown.status_code == 404
