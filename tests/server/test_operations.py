"""Health, readiness, metrics, the AsyncAPI document, and the keys CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from agents.protocol import ENDPOINTS, Scope
from tests.conftest import mint
from tests.support.server import RunningServer
from tests.support.wsclient import RESEARCH, run

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


async def test_health_and_readiness(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
        assert (await http.get("/readyz")).json() == {"status": "ok"}


async def test_metrics_count_connections_jobs_events_and_auth_failures(
    server: RunningServer,
) -> None:
    key = mint(server, Scope.UCT)
    await run(f"{server.ws}/research?api_key={key}", RESEARCH)
    await run(f"{server.ws}/research?api_key=qk_uct_wrong", RESEARCH)
    async with httpx.AsyncClient(base_url=server.http) as http:
        body = (await http.get("/metrics")).text
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }
    assert values[("qubitz_jobs_total", (("route", "research"), ("state", "succeeded")))] == 1
    assert values[("qubitz_auth_failures_total", (("reason", "unknown"),))] == 1
    assert values[("qubitz_events_sent_total", ())] == 5
    assert values[("qubitz_connections_total", (("route", "research"),))] == 2
    assert values[("qubitz_open_connections", ())] == 0
    duration = (
        "qubitz_job_duration_seconds_count",
        (("outcome", "succeeded"), ("route", "research")),
    )
    assert values[duration] == 1
    # events sent live carry their append time: the send lag is observed (once per batch)
    assert 1 <= values[("qubitz_event_send_lag_seconds_count", ())] <= 5
    assert values[("qubitz_job_queue_wait_seconds_count", (("route", "research"),))] == 1
    assert "process_resident_memory_bytes" in body


async def test_asyncapi_document_describes_every_route(server: RunningServer) -> None:
    async with httpx.AsyncClient(base_url=server.http) as http:
        doc = (await http.get("/asyncapi.json")).json()
    assert doc["asyncapi"].startswith("3.")
    assert set(doc["channels"]) == set(ENDPOINTS)
    research = doc["channels"]["research"]["messages"]
    assert "research.S3UploadComplete" in research
    schema = doc["components"]["schemas"]["research.S3UploadComplete"]
    assert {"file_type", "s3_url", "session_id", "job_id", "seq"} <= set(schema["properties"])
    assert "1008" in doc["info"]["description"]


def _cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args, "--data-dir", str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ},
        check=False,
    )


def test_keys_cli_creates_lists_and_revokes(tmp_path: Path) -> None:
    created = _cli(
        "keys", "create", "--scope", "ch", "--name", "ci", "--workspace", "team", data_dir=tmp_path
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("qk_ch_") and len(key) >= len("qk_ch_") + 43
    key_id = created.stderr.split("id=")[1].split()[0]
    listed = _cli("keys", "list", data_dir=tmp_path)
    assert key_id in listed.stdout and "active" in listed.stdout
    assert key[8:] not in listed.stdout, "secrets are never listed"
    assert _cli("keys", "revoke", key_id, data_dir=tmp_path).returncode == 0
    assert "revoked" in _cli("keys", "list", data_dir=tmp_path).stdout
    assert _cli("keys", "revoke", key_id, data_dir=tmp_path).returncode == 2  # not found
    db = (tmp_path / "qubitz.db").read_bytes()
    assert key.encode() not in db, "only the hash is stored"
