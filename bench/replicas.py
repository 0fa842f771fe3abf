"""Three qubitz replicas (their own processes) behind HAProxy, on one PostgreSQL and Redis.

All on loopback. The one harness for bench_jobs and tests/replicas: what a replica runs is the
caller's (`server_args`; by default `python -m bench.ws_servers replica`, a /research job of 4
durable steps and a short /chat stream), and so is how the API key is minted. Replicas can be
SIGKILLed, SIGTERMed and started again, with a new replica id as a new container would get.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.bench_ws import ROOT, free_port, mint


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


# The module and arguments a replica runs, given its port and data dir (`python -m ...`).
ServerArgs = Callable[[int, Path], list[str]]
# Mints an API key into the cluster's database (creating the schema), given a keys dir and env.
MintKey = Callable[[Path, Mapping[str, str]], str]


def bench_replica(port: int, data_dir: Path) -> list[str]:
    return ["bench.ws_servers", "replica", str(port), str(data_dir)]


def bench_key(keys: Path, env: Mapping[str, str]) -> str:
    return mint(keys, "uct", dict(env))


@dataclass
class Cluster:
    root: Path
    env: dict[str, str]
    replicas: list[Replica]
    lb_port: int
    server_args: ServerArgs = bench_replica
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
        replica.proc = subprocess.Popen(
            [sys.executable, "-m", *self.server_args(replica.port, data_dir)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(self.root / f"{replica.replica_id}.log").open("wb"),
        )
        if wait:
            self.wait_ready(replica)

    def wait_ready(self, replica: Replica, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{replica.port}/readyz", timeout=1).is_success:
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
        for proc in [r.proc for r in self.replicas] + [self.haproxy]:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)


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
def running_cluster(
    root: Path,
    pg_url: str,
    redis_url: str,
    *,
    failover_seconds: float,
    size: int = 3,
    server_args: ServerArgs = bench_replica,
    mint_key: MintKey = bench_key,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Cluster]:
    env = {
        **os.environ,
        "QUBITZ_DATABASE_URL": pg_url,
        "QUBITZ_REDIS_URL": redis_url,
        "QUBITZ_FAILOVER_SECONDS": str(failover_seconds),
        "QUBITZ_SHUTDOWN_GRACE": "1",
        "QUBITZ_CONNECT_RATE_PER_MINUTE": "100000",
        "QUBITZ_CONNECT_BURST": "100000",
        **(extra_env or {}),
    }
    replicas = [Replica(i, free_port()) for i in range(size)]
    cluster = Cluster(root, env, replicas, free_port(), server_args)
    try:
        cluster.key = mint_key(root / "keys", env)  # also creates the schema, once
        cluster.start(replicas[0])
        for replica in replicas[1:]:
            cluster.start(replica, wait=False)
        for replica in replicas[1:]:
            cluster.wait_ready(replica)
        config = root / "haproxy.cfg"
        config.write_text(haproxy_config(cluster.lb_port, replicas))
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        cluster.haproxy = subprocess.Popen(
            [binary, "-f", str(config), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{cluster.lb_port}/readyz").is_success:
                    break
            time.sleep(0.1)
        yield cluster
    finally:
        cluster.stop_all()
