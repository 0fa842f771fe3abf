"""Figures for the security limits (issue 12): a failed-authentication storm and revocation.

1. Storm: N connections with random keys from one address, as fast as the client can. Prints
   how many got 1008 and 1013, and how many audit rows (and counted attempts) were written.
   Reference (before the limits, from issue 12): 300 attempts -> 300 x 1008, 305 audit rows.
2. Revocation: S sockets streaming on one key; the key is revoked (a) through the service
   (in process) and (b) in the database only, as `qubitz keys revoke` does from another
   process. Prints the time from the revocation to the last socket's 1008, and its ratio to the
   poll interval. Prints figures; asserts nothing.

    .venv/bin/python -m bench.bench_security [--attempts 300] [--sockets 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import socket
import statistics
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from agents.pipeline import JobContext
from agents.protocol import ENDPOINTS, Event, Scope, StatusEvent
from server.app import create_app
from server.composition import Wired
from server.serve import _Server, uvicorn_config
from server.settings import load_settings

RESEARCH = {
    "prompt": "p",
    "company_name": "c",
    "company_url": "https://example.com/",
    "user_id": "u",
    "session_id": "s",
}


async def ticking(request: Any, ctx: JobContext) -> AsyncIterator[Event]:
    while True:
        yield StatusEvent(message="tick", session_id="s")
        await asyncio.sleep(0.05)


@contextlib.contextmanager
def serve(data_dir: Path, poll: float) -> Iterator[tuple[int, Any, asyncio.AbstractEventLoop]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {"QUBITZ_LOCAL_MODEL": "tiny", "QUBITZ_REVOCATION_POLL_INTERVAL": str(poll)}
    settings = load_settings(env, data_dir=data_dir).with_overrides(port=port)

    @contextlib.asynccontextmanager
    async def wiring(_core: Any) -> AsyncIterator[Wired]:
        yield Wired(pipelines={name: ticking for name in ENDPOINTS})

    app = create_app(settings, wiring=wiring)
    config = uvicorn_config(settings, app)
    config.log_level = "warning"
    server = _Server(config)
    box: dict[str, asyncio.AbstractEventLoop] = {}

    def run() -> None:
        box["loop"] = asyncio.new_event_loop()
        box["loop"].run_until_complete(server.serve())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield port, app.state.services, box["loop"]
    finally:
        server.should_exit = True
        thread.join(30)


def on(loop: asyncio.AbstractEventLoop, coro: Any) -> Any:
    return asyncio.run_coroutine_threadsafe(coro, loop).result(30)


async def attempt(url: str) -> int | None:
    async with connect(url, open_timeout=10) as ws:
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                pass
        return ws.close_code


async def storm(port: int, attempts: int) -> dict[int, int]:
    codes: dict[int, int] = {}
    for _ in range(attempts):
        code = await attempt(
            f"ws://127.0.0.1:{port}/research?api_key=qk_uct_{secrets.token_hex(16)}"
        )
        codes[code or 0] = codes.get(code or 0, 0) + 1
    return codes


async def stream_until_revoked(
    url: str, opened: asyncio.Event, closed: list[float], jobs: list[str]
) -> None:
    async with connect(url, open_timeout=10) as ws:
        await ws.send(json.dumps(RESEARCH))
        first = json.loads(await ws.recv())
        if first["type"] != "status":
            raise RuntimeError(f"the stream did not start: {first}")
        jobs.append(first["job_id"])
        opened.set()
        with contextlib.suppress(ConnectionClosed):
            async for _ in ws:
                pass
        if ws.close_code != 1008:
            raise RuntimeError(f"closed {ws.close_code}, not 1008")
        closed.append(time.perf_counter())


async def revocation(port: int, services: Any, loop: Any, sockets: int, db_only: bool) -> float:
    key, record = on(loop, services.keys.create(Scope.UCT, workspace_id="bench"))
    services.limiter._buckets.clear()
    closed: list[float] = []
    jobs: list[str] = []
    events = [asyncio.Event() for _ in range(sockets)]
    url = f"ws://127.0.0.1:{port}/research?api_key={key}"
    tasks = [asyncio.create_task(stream_until_revoked(url, e, closed, jobs)) for e in events]
    while not all(e.is_set() for e in events):  # every stream started (or one failed)
        await asyncio.sleep(0.01)
        for task in tasks:
            if task.done():
                task.result()  # raises the stream's failure
    start = time.perf_counter()
    revoke = services.key_repo.revoke if db_only else services.keys.revoke
    await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(revoke(record.id), loop))
    await asyncio.wait_for(asyncio.gather(*tasks), 30)
    for job_id in jobs:  # a revoked socket is not a cancel: end the jobs for the next run
        on(loop, services.runner.cancel(job_id, "bench"))
    return max(closed) - start


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp), args.poll) as (port, svc, loop):
        t0 = time.perf_counter()
        codes = await storm(port, args.attempts)
        took = time.perf_counter() - t0
        on(loop, svc.audit.flush())
        rows = on(loop, svc.key_repo.audit_rows(None))
        print(f"storm: {args.attempts} random keys from one address in {took:.2f} s")
        print(f"  close codes: {dict(sorted(codes.items()))}")
        print(
            f"  audit rows written: {len(rows)} for {sum(r.count for r in rows)} attempts "
            f"(reference before the limits: 300 attempts -> 300 x 1008, 305 rows)"
        )
        svc.auth_failures._buckets.clear()
        for db_only in (False, True):
            runs = [
                await revocation(port, svc, loop, args.sockets, db_only) for _ in range(args.runs)
            ]
            label = "database only (CLI)" if db_only else "through the service"
            med = statistics.median(runs)
            print(
                f"revocation {label}: {args.sockets} sockets closed 1008 after median "
                f"{med * 1000:.0f} ms, max {max(runs) * 1000:.0f} ms "
                f"({med / args.poll:.2f} x the {args.poll:g} s poll interval)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--attempts", type=int, default=300)
    parser.add_argument("--sockets", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--poll", type=float, default=0.5)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
