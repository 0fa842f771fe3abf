"""Two workspaces, every resource kind: nothing of workspace A can be read, written, or even
detected from workspace B (jobs, resume, cancel, reports, artifacts, chat sessions, specs and
versions, deployments, app keys, gateway routes).

"No existence leak" is checked by comparing B's answer for A's thing with B's answer for a
thing that does not exist at all: same close code, same error code, same message (ids aside).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents.protocol import Scope
from tests.conftest import make_settings, mint
from tests.gateway.support import serve_asgi
from tests.gateway.upstream import make_upstream
from tests.server.isolation_world import World, world_wiring
from tests.support.server import RunningServer, run_server
from tests.support.wsclient import CHAT, RESEARCH, Outcome, run

pytestmark = pytest.mark.anyio
A, B = "ws-a", "ws-b"


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def srv(tmp_path: Path, world: World) -> Iterator[RunningServer]:
    with run_server(make_settings(tmp_path / "data"), world_wiring(world)) as s:
        yield s


class Keys:
    def __init__(self, srv: RunningServer) -> None:
        self.uct = {A: mint(srv, Scope.UCT, A), B: mint(srv, Scope.UCT, B)}
        self.ch = {A: mint(srv, Scope.CONTROL_HUB, A), B: mint(srv, Scope.CONTROL_HUB, B)}


async def ws(srv: RunningServer, route: str, key: str, payload: Any = None, **q: Any) -> Outcome:
    query = "".join(f"&{k}={v}" for k, v in q.items())
    return await run(f"{srv.ws}/{route}?api_key={key}{query}", payload)


def last_error(out: Outcome) -> dict[str, Any]:
    event = out.events[-1]
    assert event["type"] in {"error", "chat_error"}, out
    return event.get("data", event)


def same_refusal(mine: Outcome, none: Outcome, *ids: str) -> None:
    """Identical answers once the ids that differ are blanked out."""
    assert mine.close_code == none.close_code

    def norm(out: Outcome) -> str:
        text = str([{k: v for k, v in e.items() if k not in ("job_id", "seq")} for e in out.events])
        for i in ids:
            text = text.replace(i, "<id>")
        return re.sub(r"job_[0-9a-f]{20}", "<job>", text)

    assert norm(mine) == norm(none)


async def test_jobs_resume_and_cancel_do_not_cross_workspaces(srv: RunningServer) -> None:
    k = Keys(srv)
    a_job = await ws(srv, "research", k.uct[A], RESEARCH)
    assert a_job.close_code == 1000
    job_id = a_job.events[0]["job_id"]
    fake = "job_" + secrets.token_hex(10)

    theirs = await ws(srv, "research", k.uct[B], job_id=job_id, since=0)
    nothing = await ws(srv, "research", k.uct[B], job_id=fake, since=0)
    assert theirs.close_code == 1007 and len(theirs.events) == 1
    same_refusal(theirs, nothing, job_id, fake)
    theirs_msg = await ws(srv, "research", k.uct[B], {"resume": {"job_id": job_id, "since": 0}})
    same_refusal(theirs_msg, nothing, job_id, fake)
    assert await srv.services.runner.find(job_id, B) is None
    assert not await srv.services.runner.cancel(job_id, B)
    mine = await ws(srv, "research", k.uct[A], job_id=job_id, since=0)
    assert mine.close_code == 1000 and len(mine.events) == len(a_job.events)


async def test_reports_and_artifacts_of_a_are_not_readable_by_b(srv: RunningServer) -> None:
    k = Keys(srv)
    done = (await ws(srv, "research", k.uct[A], RESEARCH)).events[-1]
    assert done["type"] == "complete", done
    url = done["s3_deep_research_report_url"]
    async with httpx.AsyncClient() as http:
        assert (await http.get(url)).status_code == 200
        bare = url.split("?", 1)[0]
        assert (await http.get(bare)).status_code == 403
    missing = url.split("?", 1)[0].replace(f"/{A}/", f"/{B}/")
    for target in (url, missing):
        out = await ws(srv, "chat", k.uct[B], {**CHAT, "report": None, "s3_report_url": target})
        assert last_error(out)["error"] == "REPORT_NOT_FOUND"
    theirs = await ws(srv, "chat", k.uct[B], {**_chat_without_report(), "s3_report_url": url})
    nothing = await ws(srv, "chat", k.uct[B], {**_chat_without_report(), "s3_report_url": missing})
    same_refusal(theirs, nothing, url, missing)
    mine = await ws(srv, "chat", k.uct[A], {**_chat_without_report(), "s3_report_url": url})
    assert mine.events[-1]["type"] == "chat_complete"


def _chat_without_report() -> dict[str, Any]:
    return {k: v for k, v in CHAT.items() if k != "report"}


async def test_chat_sessions_with_the_same_id_are_separate(srv: RunningServer) -> None:
    k = Keys(srv)
    for _ in range(2):
        a = await ws(srv, "chat", k.uct[A], CHAT)
        assert a.events[-1]["type"] == "chat_complete"
    assert a.events[-1]["session_info"]["message_count"] == 4
    b = await ws(srv, "chat", k.uct[B], CHAT)
    info = b.events[-1]["session_info"]
    assert info["message_count"] == 2
    assert (
        info["token_usage"]["total_tokens"]
        == b.events[-1]["response"]["token_usage"]["total_tokens"]
    )


SPEC = {"user_id": "u", "use_case_name": "n", "use_case_description": "d"}


async def test_specs_and_versions_of_a_are_invisible_to_b(srv: RunningServer) -> None:
    k = Keys(srv)
    made = await ws(srv, "getspec", k.ch[A], {**SPEC, "project_id": "proj1"})
    assert made.events[-1]["type"] == "architecture", made
    never = "proj-" + secrets.token_hex(4)
    for payload in (
        {"user_id": "u", "user_input": "add an agent"},
        {"user_id": "u", "rollback_to": 1},
    ):
        theirs = await ws(srv, "updatespec", k.ch[B], {**payload, "project_id": "proj1"})
        nothing = await ws(srv, "updatespec", k.ch[B], {**payload, "project_id": never})
        assert last_error(theirs)["error"] == "no_architecture"
        same_refusal(theirs, nothing, "proj1", never)
    theirs = await ws(srv, "deploy", k.ch[B], {"user_id": "u", "project_id": "proj1"})
    nothing = await ws(srv, "deploy", k.ch[B], {"user_id": "u", "project_id": never})
    assert last_error(theirs)["error"] == "no_architecture"
    same_refusal(theirs, nothing, "proj1", never)
    mine = await ws(
        srv, "updatespec", k.ch[A], {"user_id": "u", "project_id": "proj1", "rollback_to": 1}
    )
    assert "no_architecture" not in str(mine.events), "A still sees its own spec"


async def test_deployments_app_keys_and_gateway_routes_do_not_cross(
    srv: RunningServer, world: World
) -> None:
    k = Keys(srv)
    async with (
        serve_asgi(make_upstream("app-a")) as up_a,
        serve_asgi(make_upstream("app-b")) as up_b,
    ):
        srv.call(world.deploy_app(A, "proj1", "app-a-1", up_a, srv.http))
        srv.call(world.deploy_app(B, "proj2", "app-b-1", up_b, srv.http))
        never = "proj-" + secrets.token_hex(4)

        # Deployments: B can neither destroy nor key A's project; the answers leak nothing.
        destroy = {"user_id": "u", "action": "destroy"}
        theirs = await ws(srv, "deploy", k.ch[B], {**destroy, "project_id": "proj1"})
        nothing = await ws(srv, "deploy", k.ch[B], {**destroy, "project_id": never})
        assert last_error(theirs)["error"] == "not_deployed"
        same_refusal(theirs, nothing, "proj1", never)
        assert srv.call(world.deployments.get(A, "proj1")).status == "deployed"
        theirs = await ws(srv, "createapikey", k.ch[B], {"user_id": "u", "project_id": "proj1"})
        nothing = await ws(srv, "createapikey", k.ch[B], {"user_id": "u", "project_id": never})
        assert last_error(theirs)["error"] == "not_deployed"
        same_refusal(theirs, nothing, "proj1", never)

        # App keys: each workspace keys its own app; B cannot delete A's key.
        a_key = await ws(srv, "createapikey", k.ch[A], {"user_id": "u", "project_id": "proj1"})
        a_data = a_key.events[0]["data"]
        b_key = await ws(srv, "createapikey", k.ch[B], {"user_id": "u", "project_id": "proj2"})
        b_data = b_key.events[0]["data"]
        fake_id = "key_" + secrets.token_hex(6)
        for project in ("proj1", "proj2"):
            theirs = await ws(
                srv, "deleteapikey", k.ch[B],
                {"user_id": "u", "project_id": project, "api_key_id": a_data["api_key_id"]},
            )  # fmt: skip
            nothing = await ws(
                srv, "deleteapikey", k.ch[B],
                {"user_id": "u", "project_id": project, "api_key_id": fake_id},
            )  # fmt: skip
            assert last_error(theirs)["error"] == "key_not_found"
            same_refusal(theirs, nothing, a_data["api_key_id"], fake_id)

        # Gateway routes: a key opens its own app only.
        async with httpx.AsyncClient() as http:

            async def call(app: str, value: str) -> httpx.Response:
                return await http.post(
                    f"{srv.http}/apps/{app}/invoke", json={"q": 1}, headers={"x-api-key": value}
                )

            own_a = await call("app-a-1", a_data["api_key_value"])
            own_b = await call("app-b-1", b_data["api_key_value"])
            cross = await call("app-a-1", b_data["api_key_value"])
            cross_back = await call("app-b-1", a_data["api_key_value"])
            unknown = await call("app-a-1", "gw_" + secrets.token_urlsafe(32))
        assert own_a.status_code == 200 and own_a.json()["upstream"] == "app-a"
        assert own_b.status_code == 200 and own_b.json()["upstream"] == "app-b"
        assert cross.status_code == cross_back.status_code == unknown.status_code == 403
        assert cross.json() == unknown.json()
