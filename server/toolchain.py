"""The external programs /deploy needs (Node.js, the AWS CDK CLI, git), and how to install them.

Used by `qubitz doctor`, the startup summary, and the deploy synth check, which fails at once
with the install command instead of `cannot start cdk: [Errno 2] No such file or directory`.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.deploy.synth import STEP_SYNTH, SynthCheckFailed

CDK_VERSION = "2.1148"  # the Makefile's CDK_VERSION
NODE_MAJOR = 20
INSTALL_NODE = "apt-get install -y nodejs npm   (or any Node.js >= 20 on PATH)"
INSTALL_CDK = f"npm install --prefix .cache/cdk aws-cdk@{CDK_VERSION}   (or set QUBITZ_CDK_CLI)"
INSTALL_GIT = "apt-get install -y git"
INSTALL_DEPLOY_EXTRA = 'pip install "qubitz[deploy]"'


@dataclass(frozen=True)
class Tool:
    name: str
    path: str | None  # where it was found; None when missing
    version: str | None
    problem: str | None  # why it cannot be used; None when usable
    fix: str | None


def _which(program: str, path: str | None) -> str | None:
    if os.sep in program:
        return program if os.access(program, os.X_OK) and Path(program).is_file() else None
    return shutil.which(program, path=path)


def _version(argv: Sequence[str], *, path: str | None, timeout: float) -> str | None:
    env = {**os.environ, **({"PATH": path} if path else {}), "CDK_DISABLE_VERSION_CHECK": "true"}
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return (done.stdout.strip() or done.stderr.strip()).splitlines()[0][:80] or None


def node(path: str | None = None, *, timeout: float = 10.0) -> Tool:
    found = _which("node", path)
    if found is None:
        return Tool("Node.js", None, None, "node is not on PATH", INSTALL_NODE)
    version = _version([found, "--version"], path=path, timeout=timeout)
    major = re.match(r"v?(\d+)", version or "")
    if major is None or int(major.group(1)) < NODE_MAJOR:
        return Tool(
            "Node.js", found, version, f"Node.js >= {NODE_MAJOR} is needed (found {version})",
            INSTALL_NODE,
        )  # fmt: skip
    return Tool("Node.js", found, version, None, None)


def cdk(cdk_cli: Sequence[str], path: str | None = None, *, timeout: float = 30.0) -> Tool:
    """The CDK CLI `cdk_cli` (from server.wiring.find_cdk_cli); runs `--version` when asked."""
    if not cdk_cli:
        return Tool("AWS CDK CLI", None, None, "no CDK CLI configured", INSTALL_CDK)
    found = _which(cdk_cli[0], path)
    if found is None:
        return Tool(
            "AWS CDK CLI", None, None,
            f"{cdk_cli[0]!r} was not found (looked at QUBITZ_CDK_CLI, ./.cache/cdk and PATH)",
            INSTALL_CDK,
        )  # fmt: skip
    if timeout <= 0:
        return Tool("AWS CDK CLI", found, None, None, None)
    version = _version([found, *cdk_cli[1:], "--version"], path=path, timeout=timeout)
    if version is None:
        return Tool("AWS CDK CLI", found, None, f"{found} --version failed", INSTALL_CDK)
    return Tool("AWS CDK CLI", found, version, None, None)


def git(path: str | None = None) -> Tool:
    found = _which("git", path)
    if found is None:
        return Tool("git", None, None, "git is not on PATH", INSTALL_GIT)
    return Tool("git", found, None, None, None)


def cdk_library() -> Tool:
    """The Python CDK libraries the generated app imports (the [deploy] extra)."""
    from server.extras import DEPLOY

    missing = [m for m in DEPLOY.missing() if m != "github"]  # PyGithub: github_aws only
    if missing:
        return Tool(
            "AWS CDK library", None, None,
            f"the [deploy] extra is not installed ({', '.join(missing)} missing)",
            INSTALL_DEPLOY_EXTRA,
        )  # fmt: skip
    return Tool("AWS CDK library", "aws_cdk", None, None, None)


def synth_check_with_hints(check: Any, *, cdk_cli: Sequence[str], path: str | None) -> Any:
    """`check` (the bound synth check), failing first with the install command when Node.js,
    the CDK CLI or the CDK library ([deploy]) is missing (checked on each deploy: installing
    them needs no restart)."""

    async def run(repo_dir: Path, **kwargs: Any) -> Any:
        tools = await asyncio.to_thread(
            lambda: (cdk_library(), cdk(cdk_cli, path, timeout=0), node(path))
        )
        for tool in tools:
            if tool.problem is not None:
                raise SynthCheckFailed(
                    f"{tool.name} is needed to check the generated CDK app: {tool.problem}. "
                    f"Install it with: {tool.fix}  (`qubitz doctor` checks everything)",
                    step=STEP_SYNTH,
                    details=[f"fix: {tool.fix}"],
                )
        return await check(repo_dir, **kwargs)

    return run
