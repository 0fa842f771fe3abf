"""Git through run_process (agents/deploy/process.py): commit a directory to a bare repository,
check out a revision.

Errors surface as `GitError` (a DeployError) carrying git's stderr in `details`.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path

from agents.deploy.process import run_process
from agents.deploy.targets.base import DeployError

BRANCH = "main"
AUTHOR_NAME = "qubitz"
AUTHOR_EMAIL = "qubitz@localhost"
# Build outputs the synth check may leave beside the sources; never committed.
EXCLUDES = ("node_modules/", "cdk.out/", "__pycache__/", ".venv/", "*.pyc", ".pytest_cache/")

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class GitError(DeployError):
    code = "git_failed"


def safe_segment(value: str) -> str:
    """A path segment derived from an identifier (no separators, no dot-dot)."""
    cleaned = _SAFE.sub("_", value).strip("._") or "_"
    return cleaned[:100]


async def git(
    *args: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    time_limit: float = 120.0,
) -> str:
    """Run `git args...`; return stdout stripped; raise GitError on failure or timeout."""
    full_env = {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(cwd or Path(tempfile.gettempdir())),
        "PATH": os.defpath,
        "LC_ALL": "C",
        **(env or {}),
    }
    try:
        done = await run_process(
            ["git", *args], cwd=cwd, env=full_env, time_limit=time_limit, stderr="separate"
        )
    except OSError as exc:
        raise GitError(f"cannot run git: {exc}", step="git", details=[str(exc)]) from exc
    if done.timed_out:
        raise GitError(f"git {args[0]} timed out", step="git")
    if done.returncode != 0:
        raise GitError(
            f"git {args[0]} failed", step="git", details=done.errors.strip().splitlines()[-20:]
        )
    return done.output.strip()


async def ensure_bare(path: Path) -> None:
    """Create a bare repository at `path` (HEAD on `main`) unless it exists."""
    if (path / "HEAD").is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    await git("init", "--quiet", "--bare", "--initial-branch", BRANCH, str(path))
    (path / "info").mkdir(exist_ok=True)
    (path / "info" / "exclude").write_text("\n".join(EXCLUDES) + "\n")


async def head_of(bare: Path) -> str | None:
    try:
        return await git(
            "--git-dir", str(bare), "rev-parse", "--verify", "--quiet", f"refs/heads/{BRANCH}"
        )
    except GitError:
        return None


async def commit_directory(bare: Path, source: Path, message: str) -> str:
    """Commit every (non-ignored) file under `source` as ONE commit on `main`; return its sha.

    Uses a private index file, so neither `source` nor the bare repo needs a work tree; the ref
    update is compare-and-swap against the parent, so concurrent commits cannot be lost silently.
    When `main` already holds exactly this tree with this message (the same deploy pushed again,
    e.g. after a failover), nothing is committed and the head's sha is returned.
    """
    await ensure_bare(bare)
    parent = await head_of(bare)
    stamp = {
        "GIT_AUTHOR_NAME": AUTHOR_NAME,
        "GIT_AUTHOR_EMAIL": AUTHOR_EMAIL,
        "GIT_COMMITTER_NAME": AUTHOR_NAME,
        "GIT_COMMITTER_EMAIL": AUTHOR_EMAIL,
    }
    with tempfile.TemporaryDirectory(prefix="qubitz-index-") as tmp:
        env = {**stamp, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
        base = ("--git-dir", str(bare), "--work-tree", str(source))
        await git(*base, "add", "--all", ".", cwd=source, env=env)
        tree = await git("--git-dir", str(bare), "write-tree", env=env)
        if parent and await _same_commit(bare, parent, tree, message):
            return parent
        parents = ("-p", parent) if parent else ()
        sha = await git(
            "--git-dir", str(bare), "commit-tree", tree, *parents, "-m", message, env=env
        )
        await git(
            "--git-dir",
            str(bare),
            "update-ref",
            f"refs/heads/{BRANCH}",
            sha,
            parent or "0" * 40,
            env=env,
        )
    return sha


async def _same_commit(bare: Path, sha: str, tree: str, message: str) -> bool:
    head = await git("--git-dir", str(bare), "show", "-s", "--format=%T%n%B", sha)
    head_tree, _, head_message = head.partition("\n")
    return head_tree == tree and head_message.strip() == message.strip()


async def checkout(bare: Path, revision: str, dest: Path) -> None:
    """A fresh work tree of `revision` at `dest` (replacing a partial one)."""
    if await asyncio.to_thread(dest.exists):
        if (dest / ".git").is_dir() and await git("rev-parse", "HEAD", cwd=dest) == revision:
            return
        raise GitError(f"checkout directory {dest} exists with other content", step="checkout")
    dest.parent.mkdir(parents=True, exist_ok=True)
    await git("clone", "--quiet", "--no-checkout", str(bare), str(dest))
    await git("-c", "advice.detachedHead=false", "checkout", "--quiet", revision, cwd=dest)
