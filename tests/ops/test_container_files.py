"""The Dockerfile, ops/docker-compose.yml and ops/haproxy.cfg, checked offline (no Docker
engine runs here): compose-spec schema, the structure the replicas rely on, hadolint-style
rules, and `haproxy -c` when haproxy is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from server import toolchain
from tests.ops.dockerfile_rules import parse, problems

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "ops" / "docker-compose.yml"
HAPROXY = ROOT / "ops" / "haproxy.cfg"
DOCKERFILE = ROOT / "Dockerfile"


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def test_compose_file_matches_the_compose_specification() -> None:
    """check-jsonschema's vendored compose-spec schema (offline)."""
    cli = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert cli is not None, "check-jsonschema is in the dev extra"
    done = subprocess.run(
        [cli, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_compose_brings_the_real_backends_together() -> None:
    """PostgreSQL, Redis, MinIO, two replicas and HAProxy; the replicas share the database,
    Redis and the bucket, have distinct replica ids, start after the migration and the bucket,
    and every QUBITZ_ variable they set is a documented setting."""
    services = compose()["services"]
    assert {"postgres", "redis", "minio", "qubitz-1", "qubitz-2", "haproxy"} <= set(services)
    replicas = [services["qubitz-1"], services["qubitz-2"]]
    envs = [r["environment"] for r in replicas]
    shared = ("QUBITZ_DATABASE_URL", "QUBITZ_REDIS_URL", "QUBITZ_S3_BUCKET", "QUBITZ_PUBLIC_URL")
    for name in shared:
        assert envs[0][name] == envs[1][name], name
    assert envs[0]["QUBITZ_DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@postgres:5432/" in envs[0]["QUBITZ_DATABASE_URL"]
    assert envs[0]["QUBITZ_REDIS_URL"].startswith("redis://redis:6379")
    assert envs[0]["QUBITZ_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert envs[0]["QUBITZ_REPLICA_ID"] != envs[1]["QUBITZ_REPLICA_ID"]
    bucket = envs[0]["QUBITZ_S3_BUCKET"]
    assert f"local/{bucket}" in " ".join(services["minio-bucket"]["entrypoint"])
    documented = (ROOT / "docs" / "configuration.md").read_text()
    for env in envs:
        for name in env:
            if name.startswith("QUBITZ_"):
                assert f"`{name}`" in documented, f"{name} is not in docs/configuration.md"
    for replica in replicas:
        assert replica["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert replica["depends_on"]["minio-bucket"]["condition"] == (
            "service_completed_successfully"
        )
        assert replica["build"]["args"]["EXTRAS"] == "${QUBITZ_EXTRAS:-all}"
        assert any(v.endswith(":/data") for v in replica["volumes"])
    assert services["migrate"]["command"] == ["qubitz", "db", "upgrade"]
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, (name, dependency)
            if rule["condition"] == "service_healthy":
                healthy = "healthcheck" in services[dependency] or dependency.startswith("qubitz")
                assert healthy, f"{name} waits for {dependency}, which has no healthcheck"
        image = service.get("image", "")
        if "build" not in service:
            assert re.search(r":[\w.-]*\d", image) and not image.endswith(":latest"), image


def test_haproxy_balances_the_replicas_and_checks_readiness() -> None:
    services = compose()["services"]
    config = HAPROXY.read_text()
    servers = re.findall(r"^\s*server\s+(\S+)\s+(\S+):(\d+)", config, re.M)
    assert [(n, h) for n, h, _ in servers] == [("qubitz-1", "qubitz-1"), ("qubitz-2", "qubitz-2")]
    assert all(port == "8008" for _n, _h, port in servers)
    assert "uri /readyz" in config and "timeout tunnel" in config
    mount = services["haproxy"]["volumes"][0].split(":")[0]
    assert (COMPOSE.parent / mount).resolve() == HAPROXY
    assert services["haproxy"]["ports"] == ["8008:8008"]
    assert "%HP" in config and "%HU" not in config  # paths logged without ?api_key=…


def test_haproxy_accepts_the_configuration() -> None:
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if haproxy is None:
        pytest.skip("haproxy is not installed (apt-get install -y haproxy)")
    done = subprocess.run(
        [haproxy, "-c", "-f", str(HAPROXY)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Configuration file is valid" in done.stdout + done.stderr


def test_dockerfile_follows_the_rules() -> None:
    """Multi-stage, pinned bases, non-root user, HEALTHCHECK, /data volume, no compilers in
    the runtime stage; every COPY source exists; the CDK CLI is the version make installs."""
    text = DOCKERFILE.read_text()
    assert problems(text) == []
    _args, stages = parse(text)
    assert [s.name for s in stages] == ["cdk", "build", "runtime"]
    build = " ".join(i.args for i in stages[1].instructions if i.keyword == "RUN")
    assert "build-essential" in build  # compilers exist, in the build stage only
    for stage in stages:
        for ins in stage.instructions:
            if ins.keyword == "COPY" and "--from=" not in ins.args:
                for source in [w for w in ins.args.split() if not w.startswith("--")][:-1]:
                    assert (ROOT / source).exists(), source
    cdk_arg = next(i.args for i in stages[0].instructions if i.keyword == "ARG")
    makefile = (ROOT / "Makefile").read_text()
    version = re.search(r"^CDK_VERSION := (\S+)$", makefile, re.M).group(1)  # type: ignore[union-attr]
    assert cdk_arg == f"CDK_VERSION={version}" and version == toolchain.CDK_VERSION
    runtime_env = " ".join(i.args for i in stages[2].instructions if i.keyword == "ENV")
    assert "QUBITZ_DATA_DIR=/data" in runtime_env
    assert "QUBITZ_CDK_CLI=/opt/cdk/node_modules/.bin/cdk" in runtime_env


@pytest.mark.parametrize(
    ("dockerfile", "expected"),
    [
        ('FROM python:latest\nCMD ["x"]\n', "not a multi-stage build"),
        (
            'FROM python AS a\nFROM a\nUSER 1\nHEALTHCHECK CMD x\nVOLUME /data\nCMD ["x"]\n',
            "base image 'python' is not pinned",
        ),
        (
            'FROM python:3.11 AS a\nFROM a\nHEALTHCHECK CMD x\nVOLUME /data\nCMD ["x"]\n',
            "non-root USER",
        ),
        (
            "FROM python:3.11 AS a\nFROM a\nUSER root\nHEALTHCHECK CMD x\nVOLUME /data\nCMD x\n",
            "non-root USER",
        ),
        ('FROM python:3.11 AS a\nFROM a\nUSER 1\nVOLUME /data\nCMD ["x"]\n', "HEALTHCHECK"),
        (
            'FROM python:3.11 AS a\nFROM python:3.11\nUSER 1\nHEALTHCHECK CMD x\nCMD ["x"]\n',
            "/data VOLUME",
        ),
        (
            "FROM python:3.11 AS a\nFROM python:3.11\nRUN apt-get update && apt-get install -y \\\n"
            "  --no-install-recommends gcc git\nUSER 1\nHEALTHCHECK CMD x\nVOLUME /data\n"
            'CMD ["x"]\n',
            "installs gcc",
        ),
        (
            "FROM python:3.11 AS a\nFROM python:3.11\nUSER 1\nHEALTHCHECK CMD x\nVOLUME /data\n"
            "CMD qubitz serve\n",
            "exec (JSON array) form",
        ),
    ],
)
def test_the_dockerfile_rules_catch_each_mistake(dockerfile: str, expected: str) -> None:
    found = problems(dockerfile)
    assert any(expected in p for p in found), found


def _extras_of(names: str) -> set[str]:
    """The extras `names` (comma list) stand for, `all` expanded from pyproject.toml."""
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = declared["optional-dependencies"]
    out: set[str] = set()
    for name in filter(None, (n.strip() for n in names.split(","))):
        assert name in declared, f"no extra {name!r} in pyproject.toml"
        for requirement in declared[name]:
            inner = re.fullmatch(r"qubitz\[([\w,-]+)\]", requirement)
            if inner:
                out |= _extras_of(inner.group(1))
        out.add(name)
    return out


def test_the_image_installs_the_extras_of_every_backend_compose_configures(
    tmp_path: Path,
) -> None:
    """The backends the replicas are configured with (server.extras reads their settings) are
    all in the image's default EXTRAS, which compose passes on."""
    from server.extras import wanted
    from server.settings import load_settings

    _args, stages = parse(DOCKERFILE.read_text())
    default = next(
        i.args.partition("=")[2]
        for i in stages[1].instructions
        if i.keyword == "ARG" and i.args.startswith("EXTRAS=")
    )
    replica = compose()["services"]["qubitz-1"]
    passed = replica["build"]["args"]["EXTRAS"]
    assert passed == "${QUBITZ_EXTRAS:-" + default + "}", "compose builds the image's default"
    env = {k: str(v) for k, v in replica["environment"].items()}
    settings = load_settings(env={**env, "QUBITZ_DATA_DIR": str(tmp_path)})
    needed = {extra.name for _setting, extra in wanted(settings)}
    assert needed >= {"postgres", "redis", "aws"}, needed
    assert needed | {"deploy"} <= _extras_of(default), (needed, default)
