"""A rendered repository as data: what the deploy's render step records, so that the synth and
push steps (on whichever replica runs them after a failover) can write it out again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rendered:
    """Every file of the repository: (posix path, bytes, executable)."""

    files: tuple[tuple[str, bytes, bool], ...]


def read_repository(root: Path) -> Rendered:
    files: list[tuple[str, bytes, bool]] = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            rel = path.relative_to(root).as_posix()
            files.append((rel, path.read_bytes(), os.access(path, os.X_OK)))
    return Rendered(tuple(files))


def write_repository(rendered: Rendered, root: Path) -> None:
    for rel, data, executable in rendered.files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if executable:
            path.chmod(0o755)


@contextlib.asynccontextmanager
async def checkout(work_dir: Path, rendered: Rendered, app_name: str) -> AsyncIterator[Path]:
    """The repository written out under `work_dir`, removed afterwards."""
    await asyncio.to_thread(work_dir.mkdir, parents=True, exist_ok=True)
    tmp = await asyncio.to_thread(tempfile.mkdtemp, prefix="render-", dir=work_dir)
    try:
        repo_dir = Path(tmp) / app_name
        await asyncio.to_thread(write_repository, rendered, repo_dir)
        yield repo_dir
    finally:
        await asyncio.to_thread(shutil.rmtree, Path(tmp), ignore_errors=True)
