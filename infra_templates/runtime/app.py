"""The request contract shared by the Lambda handler and the local HTTP server.

POST body {"input": "...", "session_id": optional} ->
  200 {"output": "...", "agents": [trace...], "session_id": "..."}
  400 {"error": "..."} for a bad body, 404 for an unknown path, 502 when a model call fails.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .fetch import FetchLimits
from .memory import MemoryStore
from .models import ModelClient, ModelError, client_from_env
from .orchestrate import Runtime
from .spec import Spec, load_spec
from .tools import ToolContext

ROOT = Path(__file__).resolve().parent.parent
INVOKE_PATH = "/invoke"
MAX_INPUT_CHARS = 100_000
_SESSION_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")


class BadRequest(ValueError):
    pass


def parse_body(body: bytes | str | None) -> tuple[str, str | None]:
    if body is None or body in ("", b""):
        raise BadRequest('request body is empty; send JSON {"input": "..."}')
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest('request body is not valid JSON; send {"input": "..."}') from None
    if not isinstance(data, dict):
        raise BadRequest('request body must be a JSON object like {"input": "..."}')
    unknown = sorted(set(data) - {"input", "session_id"})
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}; allowed: input, session_id")
    text = data.get("input")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("'input' is required and must be a non-empty string")
    if len(text) > MAX_INPUT_CHARS:
        raise BadRequest(f"'input' is longer than {MAX_INPUT_CHARS} characters")
    session_id = data.get("session_id")
    if session_id is not None and (
        not isinstance(session_id, str) or not _SESSION_ID.match(session_id)
    ):
        raise BadRequest("'session_id' must be 1-128 characters of letters, digits, _ . : -")
    return text, session_id


ANONYMOUS = "-"  # no API key identity (the runtime run by hand, outside a gateway)


class App:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @property
    def spec(self) -> Spec:
        return self.runtime.spec

    def paths(self) -> list[str]:
        return sorted({INVOKE_PATH, *self.spec.targets})

    def invoke(
        self, path: str, body: bytes | str | None, *, caller: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Run `path`; memory is kept per (caller, session): `caller` is the API key's id.

        Two keys of the same app that send the same session_id never see each other's
        conversation (session ids cannot contain "/", so the scoped key is unambiguous).
        """
        path = "/" + path.strip("/")
        if path != INVOKE_PATH and path not in self.spec.targets:
            return 404, {"error": f"no such path {path}; POST to {INVOKE_PATH}"}
        try:
            text, session_id = parse_body(body)
        except BadRequest as exc:
            return 400, {"error": str(exc)}
        session_id = session_id or uuid.uuid4().hex
        scoped = f"{caller or ANONYMOUS}/{session_id}"
        try:
            if path == INVOKE_PATH:
                result = self.runtime.run(text, session_id=scoped)
            else:
                result = self.runtime.run_agent(self.spec.targets[path], text, session_id=scoped)
        except ModelError as exc:
            return 502, {"error": f"model call failed: {exc}", "session_id": session_id}
        return 200, {"output": result.output, "agents": result.trace, "session_id": session_id}


def build_app(
    *,
    env: Mapping[str, str] | None = None,
    client: ModelClient | None = None,
    store: MemoryStore | None = None,
) -> App:
    """Build from the environment: SPEC_PATH, DOCUMENTS_DIR, OPENAI_* (see README)."""
    env = os.environ if env is None else env
    spec = load_spec(Path(env.get("SPEC_PATH") or ROOT / "spec.json"))
    context = ToolContext(
        documents_dir=Path(env.get("DOCUMENTS_DIR") or ROOT / "documents"),
        fetch_limits=FetchLimits(
            timeout=float(env.get("HTTP_FETCH_TIMEOUT", "10")),
            max_bytes=int(env.get("HTTP_FETCH_MAX_BYTES", "1000000")),
        ),
        allow_private_fetch=env.get("HTTP_FETCH_ALLOW_PRIVATE") == "1",
    )
    runtime = Runtime(
        spec,
        client if client is not None else client_from_env(env),
        tool_context=context,
        store=store,
        buffer_turns=int(env.get("MEMORY_BUFFER_TURNS", "10")),
    )
    return App(runtime)
