"""`qubitz doctor`, the startup summary, and the deploy check's install hint."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from agents.deploy.synth import SynthCheckFailed
from server.doctor import Check, healthy, run_checks
from server.toolchain import INSTALL_CDK, INSTALL_NODE, synth_check_with_hints
from tests.conftest import make_settings
from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]


def by_what(checks: list[Check]) -> dict[str, Check]:
    return {f"{c.part}/{c.what}": c for c in checks}


def fake_program(folder: Path, name: str, output: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{output}'\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
    ):
        monkeypatch.setenv(name, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint).create_bucket(
        Bucket="present"
    )
    try:
        yield endpoint
    finally:
        server.stop()


def test_missing_tools_and_unreachable_backends_fail_with_the_command_that_fixes_them(
    tmp_path: Path, s3: str
) -> None:
    """No Node.js, no CDK CLI, no git on PATH; PostgreSQL, Redis and an S3 bucket that do not
    answer: each part fails with its fix; the corpus and fetch are fine."""
    dead = free_port()
    settings = make_settings(
        tmp_path / "data",
        PATH=str(tmp_path / "empty-bin"),
        QUBITZ_CDK_CLI=str(tmp_path / "no" / "cdk"),
        QUBITZ_DATABASE_URL=f"postgresql+asyncpg://postgres@127.0.0.1:{dead}/x",
        QUBITZ_REDIS_URL=f"redis://127.0.0.1:{dead}/0",
        QUBITZ_S3_BUCKET="missing",
        QUBITZ_S3_ENDPOINT_URL=s3,
        QUBITZ_S3_REGION="us-east-1",
    )
    checks = by_what(asyncio.run(run_checks(settings)))
    node = checks["deploy/local: Node.js"]
    assert (node.ok, node.fix) == (False, INSTALL_NODE)
    cdk = checks["deploy/local: AWS CDK CLI"]
    assert (cdk.ok, cdk.fix) == (False, INSTALL_CDK)
    assert "npm install --prefix .cache/cdk aws-cdk@" in INSTALL_CDK
    assert checks["deploy/local: git"].fix == "apt-get install -y git"
    database = checks[f"database/PostgreSQL postgresql+asyncpg://127.0.0.1:{dead}/x"]
    assert not database.ok and "QUBITZ_DATABASE_URL" in (database.fix or "")
    redis = checks[f"event log/Redis Streams redis://127.0.0.1:{dead}/0"]
    assert not redis.ok and "QUBITZ_REDIS_URL" in (redis.fix or "")
    storage = checks[f"storage/s3://missing at {s3}"]
    assert not storage.ok and storage.fix == f"aws s3 mb s3://missing --endpoint-url {s3} " + (
        "(and check the AWS credentials)"
    )
    assert checks["sources/document corpus (bundled sample)"].ok
    assert not healthy(list(checks.values()))


def test_working_backends_and_tools_are_reported_usable(
    tmp_path: Path, s3: str, pg_url: str, redis_url: str
) -> None:
    """Real PostgreSQL, Redis and S3 (moto) on loopback, and Node.js/CDK/git stand-ins that
    answer --version: every one of those parts is ok."""
    bin_dir = tmp_path / "bin"
    fake_program(bin_dir, "node", "v22.1.0")
    cdk = fake_program(bin_dir, "cdk", "2.1148.0 (build test)")
    fake_program(bin_dir, "git", "git version 2.39")
    settings = make_settings(
        tmp_path / "data",
        PATH=str(bin_dir),
        QUBITZ_CDK_CLI=str(cdk),
        QUBITZ_DATABASE_URL=pg_url,
        QUBITZ_REDIS_URL=redis_url,
        QUBITZ_S3_BUCKET="present",
        QUBITZ_S3_ENDPOINT_URL=s3,
        QUBITZ_S3_REGION="us-east-1",
    )
    checks = asyncio.run(run_checks(settings))
    wanted = {c.part: c for c in checks if c.part in {"database", "event log", "storage"}}
    assert {part: c.ok for part, c in wanted.items()} == {
        "database": True,
        "event log": True,
        "storage": True,
    }, wanted
    deploy = {c.what: (c.ok, c.detail) for c in checks if c.part == "deploy"}
    assert deploy["local: Node.js"] == (True, f"v22.1.0 {bin_dir / 'node'}")
    assert deploy["local: AWS CDK CLI"] == (True, f"2.1148.0 (build test) {cdk}")
    assert deploy["local: git"][0] is True


def test_deploy_check_fails_at_once_with_the_install_command(tmp_path: Path) -> None:
    """Without the CDK CLI the synth check does not start anything: it fails naming the
    command that installs it (not `cannot start cdk: [Errno 2]`)."""
    calls: list[Any] = []

    async def check(repo_dir: Path, **kwargs: Any) -> str:
        calls.append(repo_dir)
        return "checked"

    missing = synth_check_with_hints(check, cdk_cli=("cdk",), path=str(tmp_path))
    with pytest.raises(SynthCheckFailed) as failed:
        asyncio.run(missing(tmp_path))
    assert INSTALL_CDK in failed.value.message and calls == []

    bin_dir = tmp_path / "bin"
    fake_program(bin_dir, "node", "v20.11.0")
    cdk = fake_program(bin_dir, "cdk", "2.1148.0")
    present = synth_check_with_hints(check, cdk_cli=(str(cdk),), path=str(bin_dir))
    assert asyncio.run(present(tmp_path)) == "checked"
    old_node = synth_check_with_hints(check, cdk_cli=(str(cdk),), path=str(tmp_path / "old"))
    fake_program(tmp_path / "old", "node", "v18.0.0")
    with pytest.raises(SynthCheckFailed) as too_old:
        asyncio.run(old_node(tmp_path))
    assert "Node.js >= 20" in too_old.value.message and INSTALL_NODE in too_old.value.message


def test_doctor_command_and_the_startup_summary(tmp_path: Path) -> None:
    """`qubitz doctor` prints one line per part and exits 1 when something is missing;
    `qubitz serve` logs the same summary, with the fix, before it serves."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUBITZ_")}
    env.update(
        PATH=str(tmp_path / "empty"),
        QUBITZ_CDK_CLI=str(tmp_path / "cdk"),
        QUBITZ_LOCAL_MODEL="tiny",
    )
    data = str(tmp_path / "data")
    doctor = subprocess.run(
        [sys.executable, "-m", "server.cli", "doctor", "--data-dir", data],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    assert "FAIL deploy    local: AWS CDK CLI" in doctor.stdout
    assert f"fix: {INSTALL_CDK}" in doctor.stdout
    assert "ok   database  SQLite" in doctor.stdout

    port = free_port()
    serve = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--data-dir", data],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        seen = ""
        deadline = time.monotonic() + 60
        assert serve.stderr is not None
        while "Uvicorn running" not in seen and "qubitz on http" not in seen:
            assert time.monotonic() < deadline and serve.poll() is None, seen
            seen += serve.stderr.readline()
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
    summary = seen[: seen.index("qubitz on http")]
    assert "WARNING qubitz.startup" in summary
    assert f"AWS CDK CLI: '{tmp_path / 'cdk'}' was not found" in summary
    assert f"(fix: {INSTALL_CDK})" in summary
    assert "INFO qubitz.startup [-] database  SQLite" in summary


def test_github_aws_target_needs_its_token_and_permissions_boundary(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path / "data", QUBITZ_DEPLOY_TARGET="github_aws", QUBITZ_GITHUB_TOKEN="t"
    )
    checks = by_what(asyncio.run(run_checks(settings)))
    assert checks["deploy/github_aws: QUBITZ_GITHUB_TOKEN"].ok
    boundary = checks["deploy/github_aws: QUBITZ_AWS_PERMISSIONS_BOUNDARY_ARN"]
    assert (boundary.ok, boundary.fix) == (False, "export QUBITZ_AWS_PERMISSIONS_BOUNDARY_ARN=…")
    assert "deploy/github_aws: AWS CDK CLI" in checks


def test_search_providers_are_checked(tmp_path: Path) -> None:
    """SearXNG is asked at its URL (a loopback HTTP server answers; a dead port does not);
    with no search API configured the doctor warns with the settings to set."""
    import http.server
    import threading

    class Searx(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"searxng")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Searx)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        live = f"http://127.0.0.1:{server.server_address[1]}"
        dead = f"http://127.0.0.1:{free_port()}"
        for url, ok in ((live, True), (dead, False)):
            settings = make_settings(
                tmp_path / "data", QUBITZ_SEARCH_PROVIDER="searxng", QUBITZ_SEARXNG_URL=url
            )
            check = by_what(asyncio.run(run_checks(settings)))[f"sources/SearXNG {url}"]
            assert check.ok is ok, check
            assert (check.fix is None) is ok
    finally:
        server.shutdown()
    none = by_what(asyncio.run(run_checks(make_settings(tmp_path / "data"))))
    warning = none["sources/web search API"]
    assert (warning.ok, warning.required) == (False, False)
    assert "QUBITZ_SEARCH_PROVIDER=searxng" in (warning.fix or "")
