"""`pip install qubitz` without extras imports and serves /research with an OpenAI-compatible model.

A fresh virtualenv gets the two distributions of this checkout (`clients/python`, then the
service) with their base dependencies only (pip's cache and the configured index; nothing of
the dev venv), then `qubitz keys create` and `qubitz serve` run from it on SQLite with
QUBITZ_LLM=openai pointed at a loopback OpenAI-compatible peer (tests/support/openai_peer.py).
The Python client drives one research job to its final event. Most of the time is the install
(pip, from its cache); on a machine shared by several full test runs it took over 5 min.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from qubitz_client import QubitzClient
from qubitz_client.events import ResearchComplete, S3UploadComplete, UseCasesComplete

from tests.research.support import research_answer
from tests.support.openai_peer import OpenAIPeer, last_user_message, openai_peer, schema_name
from tests.support.server import free_port

pytestmark = [pytest.mark.slow, pytest.mark.anyio, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "server", "agents", "infra_templates")
# What the extras bring; none of it may be in the base install.
EXTRA_MODULES = ("asyncpg", "redis", "boto3", "botocore", "aws_cdk", "cdk_nag", "github",
                 "llama_cpp")  # fmt: skip


def _copy_checkout(dest: Path) -> Path:
    """The files the two distributions are built from (a copy: no build/ left in the repo)."""
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "*.egg-info")
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    shutil.copytree(ROOT / "clients" / "python", dest / "clients" / "python", ignore=ignore)
    return dest


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{argv[:3]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("base-install")
    checkout = _copy_checkout(work / "src")
    venv = work / "venv"
    started = time.monotonic()
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    # The dev venv's pip installs into the new venv (`--python`): no pip bootstrap there.
    _run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
         str(checkout / "clients" / "python"), str(checkout)],
        env={k: v for k, v in os.environ.items() if not k.startswith("PIP_NO_CACHE")},
        cwd=work,
    )  # fmt: skip
    print(f"base install: {time.monotonic() - started:.1f} s")
    return venv


def test_base_install_has_no_extra_and_one_qubitz_client(base_venv: Path) -> None:
    probe = (
        "import importlib.util as u, importlib.metadata as m, json, qubitz_client; "
        f"print(json.dumps([[n for n in {EXTRA_MODULES!r} if u.find_spec(n)], "
        "sorted(d.metadata['Name'] for d in m.distributions() "
        "if any(str(f).startswith('qubitz_client/') for f in (d.files or ())))]))"
    )
    done = _run([str(base_venv / "bin" / "python"), "-c", probe], cwd=base_venv)
    present, shipping_client = json.loads(done.stdout)
    assert present == [], f"the base install pulled extras: {present}"
    assert shipping_client == ["qubitz-client"], "qubitz_client comes from one distribution"


def test_a_backend_whose_extra_is_missing_exits_2_naming_it(
    base_venv: Path, tmp_path: Path
) -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "QUBITZ_DATABASE_URL": "postgresql+asyncpg://qubitz@127.0.0.1:1/qubitz",
        "QUBITZ_REDIS_URL": "redis://127.0.0.1:1/0",
    }
    done = subprocess.run(
        [str(base_venv / "bin" / "qubitz"), "serve", "--data-dir", str(tmp_path / "d")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert 'pip install "qubitz[postgres]"' in done.stderr
    assert "QUBITZ_REDIS_URL needs the [redis] extra" in done.stderr
    assert "Traceback" not in done.stderr


@dataclass
class Served:
    url: str
    key: str
    peer: OpenAIPeer


@pytest.fixture
def served(base_venv: Path, tmp_path: Path) -> Iterator[Served]:
    """`qubitz serve` of the base install on SQLite, its model the loopback peer."""
    answer = lambda body: research_answer(schema_name(body), last_user_message(body))  # noqa: E731
    with openai_peer(answer) as peer:
        data = tmp_path / "data"
        port = free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "QUBITZ_LLM": "openai",
            "QUBITZ_OPENAI_BASE_URL": peer.base_url,
            "QUBITZ_MODEL": peer.model,
            "QUBITZ_RESEARCH_POLITENESS_DELAY": "0",
        }
        qubitz = str(base_venv / "bin" / "qubitz")
        keys = [qubitz, "keys", "create", "--scope", "uct", "--name", "t", "--data-dir", str(data)]
        key = _run(keys, env=env, cwd=tmp_path).stdout.strip().splitlines()[-1]
        log_path = tmp_path / "serve.log"
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [qubitz, "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--data-dir", str(data)],
                env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                deadline = time.monotonic() + 180
                while True:
                    assert server.poll() is None, log_path.read_text()[-3000:]
                    try:
                        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                        if ready.status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    assert time.monotonic() < deadline, "qubitz serve was not ready in 180 s"
                    time.sleep(0.2)
                yield Served(f"http://127.0.0.1:{port}", key, peer)
            finally:
                server.terminate()
                server.wait(30)


async def test_base_install_serves_research_with_an_openai_compatible_model(
    served: Served,
) -> None:
    async with QubitzClient(served.url, served.key) as client:
        stream = client.research(
            prompt="AI adoption in banking and fraud detection",
            company_name="TestCompany",
            # a private address, refused by the fetch rules at once: the corpus is used
            company_url=f"http://127.0.0.1:{free_port()}/",
            user_id="u1",
            session_id="s1",
            depth="quick",
        )
        events = await stream.events()
        final = await stream.result()
    assert isinstance(final, ResearchComplete), final
    uploads = [e for e in events if isinstance(e, S3UploadComplete)]
    assert len(uploads) >= 6 and all("/artifacts/" in e.s3_url for e in uploads)
    assert any(isinstance(e, UseCasesComplete) and e.total_use_cases == 3 for e in events)
    asked = {schema_name(body) for body in served.peer.requests}
    assert {"research_plan", "research_claims", "use_cases", None} <= asked
    assert all(body["model"] == served.peer.model for body in served.peer.requests)
