"""The JS client as an npm package: its generated protocol types match the served AsyncAPI
document, and the `npm pack` tarball installs into an empty folder, imports by name, runs jobs
against a real server in Node, and type-checks a user's TypeScript program."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.protocol import Scope
from server.settings import Settings
from tests.conftest import mint
from tests.console.fakes import console_wiring
from tests.js.test_js_client import counts
from tests.support.server import RunningServer, run_server

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "clients" / "js"
HERE = Path(__file__).resolve().parent
NODE = shutil.which("node")
NPM = shutil.which("npm")
TSC = PACKAGE / "node_modules" / ".bin" / "tsc"

pytestmark = pytest.mark.skipif(NODE is None or NPM is None, reason="node/npm not installed")


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=240, env={**os.environ, **(env or {})}
    )
    assert done.returncode == 0, f"{cmd}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def js_server(settings: Settings) -> Iterator[RunningServer]:
    with run_server(settings, console_wiring()) as srv:
        yield srv


def test_protocol_types_are_generated_from_the_served_document(js_server: RunningServer) -> None:
    """protocol.d.ts is what the generator makes of the live /asyncapi.json (no drift)."""
    assert NODE is not None
    check = subprocess.run(
        [NODE, "scripts/generate-types.mjs", f"{js_server.http}/asyncapi.json", "--check"],
        cwd=PACKAGE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr


def test_generator_reports_a_drifted_file(js_server: RunningServer, tmp_path: Path) -> None:
    """--check fails, naming the first differing line, when the committed file is stale."""
    assert NODE is not None
    stale = tmp_path / "protocol.d.ts"
    text = (PACKAGE / "protocol.d.ts").read_text()
    stale.write_text(text.replace("  project_id: string;\n", "  project_id?: string;\n", 1))
    document = f"{js_server.http}/asyncapi.json"
    check = subprocess.run(
        [NODE, "scripts/generate-types.mjs", document, str(stale), "--check"],
        cwd=PACKAGE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 1 and "out of date" in check.stderr, check.stderr


def test_npm_pack_installs_and_works_in_node(js_server: RunningServer, tmp_path: Path) -> None:
    assert NPM is not None and NODE is not None
    assert TSC.exists(), "clients/js dev dependencies missing: run `make install-dev`"
    packed = json.loads(_run([NPM, "pack", "--json", "--pack-destination", str(tmp_path)], PACKAGE))
    files = sorted(f["path"] for f in packed[0]["files"])
    assert files == ["README.md", "package.json", "protocol.d.ts", "qubitz.d.ts", "qubitz.js"]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert packed[0]["version"] == version, "clients/js/package.json and pyproject.toml differ"

    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text('{"name": "app", "private": true, "type": "module"}\n')
    # Offline: the tarball has no dependencies; `ws` (for Node 20) is linked from the dev folder.
    tarball = tmp_path / packed[0]["filename"]
    ws = PACKAGE / "node_modules" / "ws"
    _run([NPM, "install", "--offline", "--no-audit", "--no-fund", str(tarball), str(ws)], app)
    for name in ("installed.test.mjs", "usage.ts", "tsconfig.json"):
        shutil.copy(HERE / "package" / name, app / name)

    env = {
        "QUBITZ_URL": js_server.http,
        "QUBITZ_UCT_KEY": mint(js_server, Scope.UCT),
        "QUBITZ_CH_KEY": mint(js_server, Scope.CONTROL_HUB),
        "QUBITZ_EXPECT_VERSION": version,
    }
    # No --experimental-websocket: on Node 20 the package falls back to `ws` by itself.
    result = subprocess.run(
        [NODE, "--test", "--test-reporter=spec", "installed.test.mjs"],
        cwd=app,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert counts(result.stdout) == {"pass": 4, "fail": 0}, result.stdout

    _run([str(TSC), "-p", "tsconfig.json"], app)
