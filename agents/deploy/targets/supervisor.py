"""Owns the processes of apps deployed to the local target.

Each app runs as its own process (`python -m runtime.serve --port N` in its checkout) on a free
loopback port. A redeploy starts the new process next to the old one; the old one is stopped
after a grace period so requests already in flight there can finish. `shutdown()` stops all.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from agents.deploy.process import terminate_group
from agents.deploy.targets.base import DeployError

__all__ = ["AppProcess", "AppStartFailed", "ProcessSupervisor"]


class AppStartFailed(DeployError):
    code = "app_start_failed"


@dataclass(eq=False)
class AppProcess:
    app_id: str
    port: int
    checkout: Path
    log_path: Path
    process: asyncio.subprocess.Process = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process.returncode is None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 30) -> list[str]:
    try:
        return path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return []


class ProcessSupervisor:
    def __init__(
        self,
        *,
        python: str,
        base_env: Mapping[str, str] | None = None,
        # Timeouts
        health_timeout: float = 30.0,
        stop_timeout: float = 10.0,
        # Limits
        start_attempts: int = 3,
    ) -> None:
        self._python = python
        self._base_env = dict(base_env or {})
        self._health_timeout = health_timeout
        self._stop_timeout = stop_timeout
        self._attempts = start_attempts
        self._current: dict[str, AppProcess] = {}
        self._retiring: set[asyncio.Task[None]] = set()
        self._all: set[AppProcess] = set()

    def current(self, app_id: str) -> AppProcess | None:
        return self._current.get(app_id)

    def checkouts_in_use(self) -> set[Path]:
        """The work trees of every process started and not yet stopped (current or retiring)."""
        return {app.checkout for app in self._all}

    async def start(self, app_id: str, checkout: Path, env: Mapping[str, str]) -> AppProcess:
        """Start the app's runtime and wait until /health answers 200 (or raise)."""
        last: AppStartFailed | None = None
        for _ in range(self._attempts):
            app = await self._spawn(app_id, checkout, env)
            try:
                await self._wait_healthy(app)
                return app
            except AppStartFailed as exc:
                last = exc
                await self.stop(app)
                if "address already in use" not in "\n".join(exc.details or []).lower():
                    break  # only a port clash (free-port race) is worth another attempt
            except BaseException:  # cancelled while starting: the process must not outlive it
                await asyncio.shield(self._terminate(app))
                raise
        assert last is not None
        raise last

    async def _spawn(self, app_id: str, checkout: Path, env: Mapping[str, str]) -> AppProcess:
        port = free_port()
        log_dir = checkout.parent / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"{checkout.name}-{port}.log"
        with log_path.open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                self._python,
                "-m",
                "runtime.serve",
                "--port",
                str(port),
                cwd=checkout,
                env={**self._base_env, "PYTHONUNBUFFERED": "1", **env},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        app = AppProcess(app_id, port, checkout, log_path, proc)
        self._all.add(app)
        return app

    async def _wait_healthy(self, app: AppProcess) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._health_timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                if not app.running:
                    raise AppStartFailed(
                        f"the app process exited with code {app.process.returncode}",
                        step="health",
                        details=_tail(app.log_path),
                    )
                with contextlib.suppress(httpx.HTTPError):
                    resp = await client.get(f"{app.url}/health")
                    if resp.status_code == 200:
                        return
                if loop.time() >= deadline:
                    raise AppStartFailed(
                        f"the app did not answer /health within {self._health_timeout:g}s",
                        step="health",
                        details=_tail(app.log_path),
                    )
                await asyncio.sleep(0.1)

    def promote(self, app: AppProcess, *, retire_after: float) -> None:
        """Make `app` current; stop the previous process of the same app after a grace period."""
        old = self._current.get(app.app_id)
        self._current[app.app_id] = app
        if old is not None and old is not app:
            task = asyncio.create_task(self.stop(old, grace=retire_after))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)

    async def stop_app(self, app_id: str) -> bool:
        """Stop the app's current process; False when it had none."""
        app = self._current.pop(app_id, None)
        if app is None:
            return False
        await self.stop(app)
        return True

    async def stop(self, app: AppProcess, *, grace: float = 0.0) -> None:
        """SIGTERM the process group after `grace` seconds; SIGKILL if it lingers."""
        try:
            if grace > 0:
                await asyncio.sleep(grace)
        finally:
            await self._terminate(app)

    async def _terminate(self, app: AppProcess) -> None:
        # the app's process group (it runs in its own session): what it started goes with it
        await terminate_group(app.process, self._stop_timeout)
        self._all.discard(app)

    async def shutdown(self) -> None:
        """Stop every process this supervisor started (service shutdown)."""
        for task in list(self._retiring):
            task.cancel()  # the task's `finally` still stops its process
        await asyncio.gather(*self._retiring, return_exceptions=True)
        self._current.clear()
        await asyncio.gather(*(self._terminate(a) for a in list(self._all)))
