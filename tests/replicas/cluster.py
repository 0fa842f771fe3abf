"""Three qubitz replicas (their own processes) behind HAProxy, on one PostgreSQL and Redis:
bench/replicas.py's harness running the scripted test pipelines (tests.support.serve_app
"stepped": research jobs of 4 durable steps), and a client that follows a job across replicas.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bench import replicas as harness
from bench.replicas import Cluster, Replica

__all__ = ["FAILOVER_SECONDS", "Cluster", "JobTrace", "Replica", "follow_job", "running_cluster"]

FAILOVER_SECONDS = 3.0


def stepped_replica(port: int, data_dir: Path) -> list[str]:
    return ["tests.support.serve_app", str(data_dir), str(port), "stepped"]


@contextlib.contextmanager
def running_cluster(root: Path, pg_url: str, redis_url: str, size: int = 3) -> Iterator[Cluster]:
    with harness.running_cluster(
        root,
        pg_url,
        redis_url,
        failover_seconds=FAILOVER_SECONDS,
        size=size,
        server_args=stepped_replica,
        extra_env={"QUBITZ_JOB_CANCEL_POLL_SECONDS": "0.3"},
    ) as cluster:
        yield cluster


@dataclass
class JobTrace:
    """Everything one client saw of one job, across reconnects."""

    events: list[dict[str, Any]] = field(default_factory=list)
    closes: list[int | None] = field(default_factory=list)
    reconnects: int = 0
    # what came on connections refused before a job started (e.g. SERVER_SHUTTING_DOWN from a
    # replica the load balancer had not yet taken out): submitted again, as the clients do
    refusals: list[dict[str, Any]] = field(default_factory=list)

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
        if not any("job_id" in e for e in trace.events):
            if send is None:
                raise AssertionError(f"job vanished: {trace}")
            trace.refusals += trace.events
            trace.events = []
            await asyncio.sleep(0.2)
            continue  # refused before the job started: submit again
        send = None
        trace.reconnects += 1
        url = f"{resume_base}/research?api_key={key}&job_id={trace.job_id}&since={trace.last_seq}"
        await asyncio.sleep(0.2)
    raise AssertionError(f"job did not finish in {deadline}s: {trace}")
