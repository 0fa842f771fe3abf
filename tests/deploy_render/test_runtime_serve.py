"""`python -m runtime.serve` in a rendered repository answers /invoke and /health."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agents.deploy.render import render_repository
from tests.deploy_render.peers import chat_peer, text_reply
from tests.deploy_render.specs import architecture


@contextmanager
def serve(repo: Path, env: dict[str, str]) -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "runtime.serve", "--port", "0"],
        cwd=repo,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), line
        yield line.split()[-1]
    finally:
        proc.terminate()
        proc.wait(10)


def call(url: str, body: bytes | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_runtime_server_invokes_the_pipeline(tmp_path: Path) -> None:
    """POST /invoke runs every agent through the configured OpenAI-compatible endpoint."""
    render_repository(architecture(), app_name="demo-app", out_dir=tmp_path, spec_version=1)
    with (
        chat_peer(
            text_reply("plan"),
            text_reply("numbers"),
            text_reply("done"),
            text_reply("only analyst"),
        ) as peer,
        serve(tmp_path, {"OPENAI_BASE_URL": peer.base_url, "OPENAI_MODEL": "tiny"}) as base,
    ):
        status, health = call(f"{base}/health")
        assert status == 200
        assert health == {
            "status": "ok",
            "agents": ["analyst", "planner", "writer"],
            "paths": ["/analyse", "/invoke"],
        }
        status, body = call(
            f"{base}/invoke", json.dumps({"input": "go", "session_id": "abc"}).encode()
        )
        assert status == 200
        assert body["output"] == "done" and body["session_id"] == "abc"
        assert [a["agent"] for a in body["agents"]] == ["planner", "analyst", "writer"]
        status, body = call(f"{base}/analyse", b'{"input": "numbers please"}')
        assert (status, body["output"]) == (200, "only analyst")
        assert len(body["session_id"]) == 32
        status, body = call(f"{base}/invoke", b'{"input": 5}')
        assert status == 400 and "'input'" in body["error"]
    assert [r["model"] for r in peer.requests] == ["tiny"] * 4
