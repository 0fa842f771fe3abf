"""Three qubitz replicas (their own processes) behind HAProxy, on one PostgreSQL and Redis.

All on loopback. The replicas run the scripted test pipelines (tests.support.serve_app
"stepped": research jobs of 4 durable steps). Replicas can be SIGKILLed, SIGTERMed and started
again (with a new replica id, as a new container would get).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.replicas import ROOT, make_key
from tests.support.server import free_port

FAILOVER_SECONDS = 3.0


@dataclass
class Replica:
    index: int
    port: int
    generation: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def replica_id(self) -> str:
        return f"r{self.index}-g{self.generation}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    replicas: list[Replica]
    lb_port: int
    key: str = ""
    haproxy: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    @property
    def lb(self) -> str:
        return f"ws://127.0.0.1:{self.lb_port}"

    def start(self, replica: Replica, *, wait: bool = True) -> None:
        replica.generation += 1
        env = {**self.env, "QUBITZ_REPLICA_ID": replica.replica_id}
        data_dir = self.root / f"r{replica.index}"
        command = ["tests.support.serve_app", str(data_dir), str(replica.port), "stepped"]
        replica.proc = subprocess.Popen(
            [sys.executable, "-m", *command],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(self.root / f"{replica.replica_id}.log").open("wb"),
        )
        if wait:
            self.wait_ready(replica)

    def wait_ready(self, replica: Replica, timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{replica.port}/readyz"
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            if not replica.alive:
                raise RuntimeError(f"replica {replica.replica_id} exited at start")
            time.sleep(0.1)
        raise RuntimeError(f"replica {replica.replica_id} did not become ready")

    def kill(self, replica: Replica) -> None:
        assert replica.proc is not None
        replica.proc.send_signal(signal.SIGKILL)
        replica.proc.wait(10)

    def terminate(self, replica: Replica) -> None:
        assert replica.proc is not None
        replica.proc.send_signal(signal.SIGTERM)
        replica.proc.wait(30)

    def stop_all(self) -> None:
        for replica in self.replicas:
            if replica.alive and replica.proc is not None:
                replica.proc.kill()
                replica.proc.wait(10)
        if self.haproxy is not None:
            self.haproxy.kill()
            self.haproxy.wait(10)


def haproxy_config(lb_port: int, replicas: list[Replica]) -> str:
    servers = "\n".join(
        f"  server r{r.index} 127.0.0.1:{r.port} check inter 300ms fall 1 rise 1" for r in replicas
    )
    return f"""global
  maxconn 2000
defaults
  mode http
  timeout connect 1s
  timeout client 60s
  timeout server 60s
  timeout tunnel 120s
  retries 3
  option redispatch
frontend qubitz
  bind 127.0.0.1:{lb_port}
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /readyz
{servers}
"""


@contextlib.contextmanager
def running_cluster(root: Path, pg_url: str, redis_url: str, size: int = 3) -> Iterator[Cluster]:
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    env = {
        **os.environ,
        "QUBITZ_DATABASE_URL": pg_url,
        "QUBITZ_REDIS_URL": redis_url,
        "QUBITZ_FAILOVER_SECONDS": str(FAILOVER_SECONDS),
        "QUBITZ_JOB_CANCEL_POLL_SECONDS": "0.3",
        "QUBITZ_SHUTDOWN_GRACE": "1",
        "QUBITZ_CONNECT_RATE_PER_MINUTE": "100000",
        "QUBITZ_CONNECT_BURST": "100000",
    }
    replicas = [Replica(i, free_port()) for i in range(size)]
    cluster = Cluster(root, env, replicas, free_port())
    try:
        cluster.key = make_key(root / "keys", env)  # also creates the schema, once
        cluster.start(replicas[0])
        for replica in replicas[1:]:
            cluster.start(replica, wait=False)
        for replica in replicas[1:]:
            cluster.wait_ready(replica)
        config = root / "haproxy.cfg"
        config.write_text(haproxy_config(cluster.lb_port, replicas))
        cluster.haproxy = subprocess.Popen(
            [binary, "-f", str(config), "-db"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{cluster.lb_port}/readyz").status_code == 200:
                    break
            time.sleep(0.1)
        yield cluster
    finally:
        cluster.stop_all()


@dataclass
class JobTrace:
    """Everything one client saw of one job, across reconnects."""

    events: list[dict[str, Any]] = field(default_factory=list)
    closes: list[int | None] = field(default_factory=list)
    reconnects: int = 0

    @property
    def job_id(self) -> str:
        return str(self.events[0]["job_id"])

    @property
    def last_seq(self) -> int:
        seqs = [e["seq"] for e in self.events if "seq" in e]
        return seqs[-1] if seqs else 0

    def logged(self) -> list[dict[str, Any]]:
        return [e for e in self.events if "seq" in e]


async def follow_job(
    first_url: str,
    resume_base: str,
    key: str,
    payload: dict[str, Any],
    *,
    trace: JobTrace | None = None,
    deadline: float = 90.0,
) -> JobTrace:
    """Start a research job at `first_url`, and resume it through `resume_base` whenever the
    connection ends before the job does, until it ends with 1000."""
    trace = trace or JobTrace()
    stop_at = time.monotonic() + deadline
    url = f"{first_url}/research?api_key={key}"
    send: dict[str, Any] | None = payload
    while time.monotonic() < stop_at:
        try:
            async with connect(url, open_timeout=5, max_size=None) as ws:
                if send is not None:
                    await ws.send(json.dumps(send))
                with contextlib.suppress(ConnectionClosed):
                    async for raw in ws:
                        trace.events.append(json.loads(raw))
                code = ws.close_code
        except (OSError, InvalidStatus, TimeoutError, ConnectionClosed):
            code = None
        trace.closes.append(code)
        if code == 1000:
            return trace
        if not trace.events:
            if send is None:
                raise AssertionError(f"job vanished: {trace}")
            await asyncio.sleep(0.2)
            continue  # refused before the job started: submit again
        send = None
        trace.reconnects += 1
        url = f"{resume_base}/research?api_key={key}&job_id={trace.job_id}&since={trace.last_seq}"
        await asyncio.sleep(0.2)
    raise AssertionError(f"job did not finish in {deadline}s: {trace}")
