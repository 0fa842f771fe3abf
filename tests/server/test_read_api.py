"""The read API (/v1/jobs, /v1/projects): keys, scopes, workspace isolation, cancel, OpenAPI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from qubitz_client import Cancelled, QubitzClient

from agents.deploy.targets.base import DeploymentRecord
from agents.protocol import Scope
from agents.research.store import NewProject, ReportRef
from server.api.models import JobDetail
from server.composition import Core, Wired
from server.db.base import make_engine, make_sessionmaker
from server.db.deployments import SqlDeploymentStore
from server.db.research import ResearchRepository
from server.db.specs import SqlSpecStore
from server.storage.local import LocalArtifactStore
from tests.clients.test_python_client import research_like
from tests.conftest import make_settings, mint
from tests.support.pipelines import default_pipelines, forever
from tests.support.server import RunningServer, run_server
from tests.support.wsclient import PAYLOADS

ENDPOINTS = [
    ("GET", "/v1/jobs"),
    ("GET", "/v1/jobs/job_x"),
    ("GET", "/v1/jobs/job_x/events"),
    ("POST", "/v1/jobs/job_x/cancel"),
    ("GET", "/v1/projects"),
    ("GET", "/v1/projects/p1"),
]


def wiring_with_store(pipelines: dict[str, Any]) -> Any:
    """Test pipelines, plus a signing local artifact store (as server.wiring sets one)."""

    @contextlib.asynccontextmanager
    async def wiring(core: Core) -> AsyncIterator[Wired]:
        settings = core.settings
        store = LocalArtifactStore(
            settings.data_dir / "artifacts", settings.resolved_public_url, signing_key=b"k" * 16
        )
        yield Wired(pipelines=pipelines, artifacts=store)

    return wiring


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[RunningServer]:
    pipelines = {**default_pipelines(), "research": research_like(3, 0), "chat": forever()}
    settings = make_settings(
        tmp_path / "data", QUBITZ_CONNECT_RATE_PER_MINUTE="6000", QUBITZ_AUTH_FAIL_BURST="1000"
    )
    with run_server(settings, wiring_with_store(pipelines)) as server:
        yield server


def api(srv: RunningServer, key: str | None, *, header: str = "bearer") -> httpx.Client:
    headers = {}
    if key is not None:
        headers = {"Authorization": f"Bearer {key}"} if header == "bearer" else {"X-API-Key": key}
    return httpx.Client(base_url=srv.http, headers=headers, timeout=10)


def run_job(srv: RunningServer, key: str, endpoint: str) -> str:
    async def go() -> str:
        stream = QubitzClient(srv.http, key).stream(endpoint, PAYLOADS[endpoint])
        await stream.result()
        assert stream.job_id is not None
        return stream.job_id

    return asyncio.run(go())


def wait_for(client: httpx.Client, job_id: str, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        body = client.get(f"/v1/jobs/{job_id}").json()
        if body.get("state") == state:
            return dict(body)
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_every_endpoint_needs_a_valid_key(srv: RunningServer) -> None:
    """No key, a malformed key, an unknown key and a revoked key all get 401 with a Bearer
    challenge, on every endpoint; both header forms are accepted."""
    good = mint(srv, Scope.UCT)
    revoked_key, record = srv.call(srv.services.keys.create(Scope.UCT, workspace_id="ws1"))
    srv.call(srv.services.keys.revoke(record.id))
    for method, path in ENDPOINTS:
        for key in (None, "nonsense", "qk_uct_" + "A" * 43, revoked_key):
            with api(srv, key) as client:
                response = client.request(method, path)
            assert response.status_code == 401, (method, path, key)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["detail"]
    for header in ("bearer", "x-api-key"):
        with api(srv, good, header=header) as client:
            assert client.get("/v1/jobs").status_code == 200


def test_jobs_are_seen_only_by_their_scope_and_workspace(srv: RunningServer) -> None:
    """A research key of the workspace sees the research job (state, timestamps, last seq,
    progress, outcome with the final event, events as JSON lines); a ControlHub key of the same
    workspace and a research key of another workspace get 404 for it on every job endpoint."""
    uct, ch = mint(srv, Scope.UCT), mint(srv, Scope.CONTROL_HUB)
    other = mint(srv, Scope.UCT, workspace="ws2")
    research = run_job(srv, uct, "research")
    spec = run_job(srv, ch, "getspec")

    with api(srv, uct) as client:
        job = wait_for(client, research, "succeeded")
        JobDetail.model_validate(job)
        assert (job["route"], job["last_seq"], job["progress_percent"]) == ("research", 4, 100)
        assert job["finished_at"] >= job["created_at"]
        assert job["outcome"]["close_code"] == 1000
        assert job["outcome"]["final_event"]["type"] == "complete"
        assert job["outcome"]["final_event"]["project_id"] == job["project_id"] == "p1"
        assert job["attach_url"].endswith(f"/research?job_id={research}&since=4")
        listed = client.get("/v1/jobs").json()["jobs"]
        assert [j["job_id"] for j in listed] == [research]
        events = client.get(f"/v1/jobs/{research}/events", params={"since": 1})
        assert events.headers["content-type"].startswith("application/x-ndjson")
        assert events.headers["x-qubitz-job-state"] == "succeeded"
        assert events.headers["x-qubitz-last-seq"] == "4"
        lines = [json.loads(line) for line in events.text.splitlines()]
        assert [e["seq"] for e in lines] == [2, 3, 4]
        assert all(e["job_id"] == research for e in lines)
        page = client.get(f"/v1/jobs/{research}/events", params={"since": 1, "limit": 1})
        assert [json.loads(x)["seq"] for x in page.text.splitlines()] == [2]
        assert client.get(f"/v1/jobs/{spec}").status_code == 404
        assert client.get("/v1/jobs", params={"route": "getspec"}).json() == {"jobs": []}

    with api(srv, ch) as client:
        assert [j["job_id"] for j in client.get("/v1/jobs").json()["jobs"]] == [spec]
        assert client.get(f"/v1/jobs/{spec}").json()["state"] == "succeeded"
    for key in (ch, other):
        with api(srv, key) as client:
            for method, path in ENDPOINTS[1:4]:
                response = client.request(method, path.replace("job_x", research))
                assert response.status_code == 404, (method, path)
                assert research in response.json()["detail"]
    with api(srv, other) as client:
        assert client.get("/v1/jobs").json() == {"jobs": []}


def test_cancel_over_http_ends_a_running_job(srv: RunningServer) -> None:
    """POST /cancel answers 202 and the job ends as cancelled (the socket following it gets
    the cancelled error); a second cancel is a 409; state filters list it."""
    uct = mint(srv, Scope.UCT)

    async def scenario() -> str:
        stream = QubitzClient(srv.http, uct).stream("chat", PAYLOADS["chat"])
        events = aiter(stream)
        first = await anext(events)
        assert first.job_id is not None
        async with httpx.AsyncClient(
            base_url=srv.http, headers={"X-API-Key": uct}, timeout=10
        ) as client:
            # The API reads the durable log: the newest events arrive within a flush interval.
            for _ in range(100):
                running = (await client.get(f"/v1/jobs/{first.job_id}")).json()
                if running["last_seq"] >= 1:
                    break
                await asyncio.sleep(0.05)
            assert running["state"] == "running" and running["outcome"] is None
            assert running["message"].startswith(("started", "tick"))
            response = await client.post(f"/v1/jobs/{first.job_id}/cancel")
            assert response.status_code == 202, response.text
            assert response.json() == {
                "job_id": first.job_id,
                "state": "running",
                "cancel_requested": True,
            }
        async for _event in events:
            pass
        with pytest.raises(Cancelled):
            await stream.result()
        return first.job_id

    job_id = asyncio.run(scenario())
    with api(srv, uct) as client:
        wait_for(client, job_id, "cancelled")
        again = client.post(f"/v1/jobs/{job_id}/cancel")
        assert again.status_code == 409 and "already ended" in again.json()["detail"]
        cancelled = client.get("/v1/jobs", params={"state": "cancelled"}).json()["jobs"]
        assert [j["job_id"] for j in cancelled] == [job_id]
        assert client.get("/v1/jobs", params={"state": "running"}).json() == {"jobs": []}


def _seed_projects(srv: RunningServer) -> dict[str, str]:
    async def go() -> dict[str, str]:
        engine = make_engine(srv.settings.resolved_database_url)
        sessions = make_sessionmaker(engine)
        try:
            research = ResearchRepository(sessions)
            new = NewProject("u", "s", "Acme", "https://acme.example/", "AI in logistics")
            mine = await research.create_project("ws1", new)
            await research.add_report(
                "ws1",
                mine,
                ReportRef("deep_research_markdown", f"ws1/{mine}/deep_research.md",
                          "http://stored/deep_research.md", "text/markdown", 12),
            )  # fmt: skip
            await research.complete_project("ws1", mine, use_cases=[{"title": "T"}], usage={})
            theirs = await research.create_project("ws2", new)
            specs = SqlSpecStore(sessions)
            for version, action in ((1, "generate"), (2, "update")):
                await specs.append(
                    "ws1", "triage", user_id="u", action=action,  # type: ignore[arg-type]
                    instruction=f"v{version}", spec_json='{"agents_config": {}}',
                )  # fmt: skip
            await specs.mark_deployed("ws1", "triage", 2)
            await SqlDeploymentStore(sessions).save(
                DeploymentRecord(
                    workspace_id="ws1", project_id="triage", app_id="app-triage",
                    target="local", status="deployed", repo_url="file:///repo",
                    endpoint="http://127.0.0.1/apps/app-triage/invoke", spec_version=2,
                )
            )  # fmt: skip
            return {"mine": mine, "theirs": theirs}
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_projects_show_reports_to_research_keys_and_specs_to_control_hub_keys(
    srv: RunningServer,
) -> None:
    ids = _seed_projects(srv)
    uct, ch = mint(srv, Scope.UCT), mint(srv, Scope.CONTROL_HUB)
    with api(srv, uct) as client:
        listed = client.get("/v1/projects").json()["projects"]
        assert [(p["project_id"], p["kind"], p["status"]) for p in listed] == [
            (ids["mine"], "research", "complete")
        ]
        detail = client.get(f"/v1/projects/{ids['mine']}").json()
        assert detail["spec"] is None and detail["deployment"] is None
        report = detail["research"]["reports"][0]
        assert report["file_type"] == "deep_research_markdown"
        # A fresh URL from the service's artifact store, not the stored one.
        assert report["url"].startswith(f"{srv.settings.resolved_public_url}/artifacts/ws1/")
        assert "sig=" in report["url"]
        assert detail["research"]["use_cases"] == [{"title": "T"}]
        assert client.get(f"/v1/projects/{ids['theirs']}").status_code == 404
        assert client.get("/v1/projects/triage").status_code == 404
    with api(srv, ch) as client:
        listed = client.get("/v1/projects").json()["projects"]
        assert [(p["project_id"], p["kind"], p["status"]) for p in listed] == [
            ("triage", "spec", "deployed")
        ]
        detail = client.get("/v1/projects/triage").json()
        assert detail["research"] is None
        assert [
            (v["version"], v["current"], v["deployed"]) for v in detail["spec"]["versions"]
        ] == [
            (1, False, False),
            (2, True, True),
        ]
        assert detail["deployment"]["endpoint"] == "http://127.0.0.1/apps/app-triage/invoke"
        assert client.get(f"/v1/projects/{ids['mine']}").status_code == 404
    with api(srv, mint(srv, Scope.CONTROL_HUB, workspace="ws2")) as client:
        assert client.get("/v1/projects/triage").status_code == 404
        assert client.get("/v1/projects").json() == {"projects": []}


def test_bad_parameters_are_client_errors(srv: RunningServer) -> None:
    uct = mint(srv, Scope.UCT)
    with api(srv, uct) as client:
        for params in ({"limit": "0"}, {"limit": "x"}, {"limit": "201"}, {"state": "done"}):
            response = client.get("/v1/jobs", params=params)
            assert response.status_code == 422, params
            assert response.json()["detail"].startswith(next(iter(params)))
        assert client.get("/v1/jobs/job_x/events", params={"since": "-1"}).status_code == 404
        assert client.get("/v1/jobs/%00%01").status_code == 404
        assert client.get("/v1/projects/" + "p" * 300).status_code == 404


def test_openapi_document_comes_from_the_models(srv: RunningServer) -> None:
    with httpx.Client(base_url=srv.http) as client:
        doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {
        "/v1/jobs",
        "/v1/jobs/{job_id}",
        "/v1/jobs/{job_id}/events",
        "/v1/jobs/{job_id}/cancel",
        "/v1/projects",
        "/v1/projects/{project_id}",
    }
    schema = doc["components"]["schemas"]["JobDetail"]
    assert set(schema["properties"]) == set(JobDetail.model_fields)
    assert doc["components"]["securitySchemes"]["apiKey"]["name"] == "X-API-Key"


@pytest.mark.slow
def test_schemathesis_finds_no_server_errors(srv: RunningServer, tmp_path: Path) -> None:
    """schemathesis generates requests from /openapi.json against the running service (with a
    valid key, after real jobs exist): no 5xx, and every answer matches the document."""
    import shutil
    import subprocess
    import sys

    uct = mint(srv, Scope.UCT)
    run_job(srv, uct, "research")
    _seed_projects(srv)
    st = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert st is not None, "schemathesis is in the dev extra"
    done = subprocess.run(
        [
            st,
            "run",
            f"{srv.http}/openapi.json",
            "--checks",
            "not_a_server_error,status_code_conformance,"
            "content_type_conformance,response_schema_conformance",
            "--header",
            f"Authorization: Bearer {uct}",
            "--max-examples",
            "30",
            "--seed",
            "17",
            "--request-timeout",
            "10",
            "--generation-database",
            "none",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Tested: 6" in done.stdout, done.stdout[-3000:]
