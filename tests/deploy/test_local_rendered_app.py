"""The real generated repository on the local target: its tests run, its runtime serves.

Renders the repository from a hand-written spec with the real renderer, deploys it with the
local target (which runs the repository's own runtime tests), and invokes the endpoint; the
runtime calls an OpenAI-compatible chat-completions double on loopback.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from agents.deploy.render import render_repository
from agents.deploy.targets.base import DeployJob, new_app_id
from agents.deploy.targets.local import LocalTarget, LocalTargetConfig
from agents.deploy.targets.supervisor import ProcessSupervisor
from agents.spec.schema import AgentConfig, Architecture
from tests.deploy.support import RouterDouble

pytestmark = pytest.mark.anyio

ARCH = Architecture(
    agents_config={
        "greeter": AgentConfig(
            name="Greeter",
            description="Greets people",
            model="openai:tiny",
            prompt="Greet the user.",
        )
    }
)


class ChatCompletionsDouble:
    """POST /v1/chat/completions → one assistant message naming the model and the last input."""

    def __init__(self) -> None:
        seen = self.requests = []  # type: list[dict[str, object]]

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                seen.append(body)
                last = body["messages"][-1]["content"]
                reply = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {
                                "role": "assistant",
                                "content": f"Hello! ({body['model']}: {last})",
                            },
                        }
                    ],
                }
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def model() -> Iterator[ChatCompletionsDouble]:
    m = ChatCompletionsDouble()
    yield m
    m.close()


async def test_rendered_app_deploys_locally_and_answers(
    tmp_path: Path, model: ChatCompletionsDouble
) -> None:
    """Render → publish → run (incl. the repo's unittest suite) → invoke answers via the model."""
    router = RouterDouble()
    sup = ProcessSupervisor(python=sys.executable, health_timeout=30)
    try:
        target = LocalTarget(
            LocalTargetConfig(
                data_dir=tmp_path / "data",
                public_url=router.url,
                python=sys.executable,
                model_base_url=model.url,
                model_name="served-model",
            ),
            router=router,
            supervisor=sup,
        )
        app = new_app_id("greeter-project")
        job = DeployJob("ws1", "greeter-project", app, spec_version=1)
        rendered = render_repository(ARCH, app_name=app, out_dir=tmp_path / "repo", spec_version=1)
        published = await target.publish(job, rendered.root)
        steps = [p.step async for p in target.run(job, published)]
        assert "Runtime tests" in steps
        endpoint = (await target.endpoint(job, published)).url
        async with httpx.AsyncClient(timeout=30) as client:
            resp = await client.post(endpoint, json={"input": "I am Ada", "session_id": "s1"})
        assert resp.status_code == 200, resp.text
        assert resp.json()["output"] == "Hello! (served-model: I am Ada)"
        assert model.requests[-1]["model"] == "served-model"
    finally:
        await sup.shutdown()
        router.close()
