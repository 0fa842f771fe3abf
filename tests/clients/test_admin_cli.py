"""`qubitz --version`, `keys ...` output and exit codes, and quiet migrations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from tests.clients.test_cli import ROOT


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUBITZ_")}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args, "--data-dir", str(data_dir)]
        if args[0] != "--version"
        else [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version_prints_the_installed_version(tmp_path: Path) -> None:
    done = run("--version", data_dir=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"qubitz {version('qubitz')}"


def test_keys_migrate_once_then_stay_quiet_and_list_as_json(tmp_path: Path) -> None:
    """The first command on a new data dir says once that it migrated; later ones print only
    their own output (no Alembic lines). `keys list --json` never shows secrets; revoking an
    unknown key id exits 2 (not found), revoking a real one 0."""
    first = run("keys", "create", "--scope", "uct", "--name", "me", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    secret = first.stdout.strip().splitlines()[-1]
    assert secret.startswith("qk_uct_")
    assert "database migrated" in first.stderr
    assert "alembic" not in first.stderr.lower()

    listed = run("keys", "list", "--json", data_dir=tmp_path)
    assert listed.returncode == 0
    assert listed.stderr == ""
    keys = json.loads(listed.stdout)
    assert [(k["scope"], k["name"], k["status"]) for k in keys] == [("uct", "me", "active")]
    assert secret not in listed.stdout and secret[:11] == keys[0]["prefix"]

    unknown = run("keys", "revoke", "key_0000000000000000", data_dir=tmp_path)
    assert unknown.returncode == 2
    assert "no active key key_0000000000000000" in unknown.stderr
    revoked = run("keys", "revoke", keys[0]["id"], data_dir=tmp_path)
    assert revoked.returncode == 0 and revoked.stderr == ""
    after = json.loads(run("keys", "list", "--json", data_dir=tmp_path).stdout)
    assert after[0]["status"] == "revoked"


def test_an_unreachable_database_exits_5_with_one_line(tmp_path: Path) -> None:
    from tests.support.server import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("QUBITZ_")}
    env["QUBITZ_DATABASE_URL"] = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/x"
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", "keys", "list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 5, done.stderr
    assert done.stderr.startswith("qubitz: cannot reach a backend:")
    assert "Traceback" not in done.stderr
