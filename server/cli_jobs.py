"""`qubitz jobs list|attach|cancel`: find a job again, follow it, stop it.

    qubitz jobs list [--route R] [--state S] [--limit N] [--json]
    qubitz jobs attach JOB_ID [--since N] [--json]
    qubitz jobs cancel JOB_ID

They use the service's read API (`/v1/jobs`, same keys as the WebSocket routes: a research key
sees research and chat jobs, a ControlHub key the others) and, for `attach`, the WebSocket resume
(`job_id` + `since`), so `attach` renders and exits exactly like the command that started the job.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

import httpx
from qubitz_client import QubitzClient

from server.cli_follow import (
    EXIT_AUTH,
    EXIT_CONNECTION,
    EXIT_OK,
    EXIT_USAGE,
    FollowOptions,
    follow,
)
from server.cli_follow import (
    common_flags as _common,
)
from server.cli_render import Renderer

ROUTES = ("research", "chat", "getspec", "updatespec", "deploy", "createapikey", "deleteapikey")
STATES = ("running", "succeeded", "failed", "cancelled")


class ApiFailure(Exception):
    """A read-API call failed; `exit_code` is the command's exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class ReadApi:
    """The few read-API calls the CLI needs (synchronous httpx; one short request each)."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 15.0) -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}"}
        self._timeout = timeout

    def _call(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            response = httpx.request(
                method,
                self._base + path,
                params={k: v for k, v in (params or {}).items() if v is not None},
                headers=self._headers,
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            raise ApiFailure(f"cannot reach {self._base}: {exc}", EXIT_CONNECTION) from exc
        detail = _detail(response)
        if response.status_code in (401, 403):
            raise ApiFailure(f"authentication failed: {detail}", EXIT_AUTH)
        if response.status_code == 404:
            raise ApiFailure(detail, EXIT_USAGE)
        if response.status_code in (400, 409, 422):
            raise ApiFailure(detail, EXIT_USAGE)
        if response.status_code >= 400:
            raise ApiFailure(f"HTTP {response.status_code}: {detail}", EXIT_CONNECTION)
        return response.json()

    def list_jobs(
        self, *, route: str | None, state: str | None, limit: int
    ) -> list[dict[str, Any]]:
        body = self._call("GET", "/v1/jobs", {"route": route, "state": state, "limit": limit})
        return list(body["jobs"])

    def get_job(self, job_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/v1/jobs/{job_id}"))

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/v1/jobs/{job_id}/cancel"))


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:200]


def _api(args: argparse.Namespace) -> ReadApi | None:
    if not args.api_key:
        print("qubitz: no API key: pass --api-key or set QUBITZ_API_KEY", file=sys.stderr)
        return None
    return ReadApi(args.url, args.api_key)


def _guarded(
    fn: Callable[[argparse.Namespace, ReadApi], int],
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        api = _api(args)
        if api is None:
            return EXIT_USAGE
        try:
            return fn(args, api)
        except ApiFailure as exc:
            print(f"qubitz: {exc.message}", file=sys.stderr)
            return exc.exit_code

    return run


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def cmd_list(args: argparse.Namespace, api: ReadApi) -> int:
    jobs = api.list_jobs(route=args.route, state=args.state, limit=args.limit)
    if args.json:
        print(json.dumps(jobs, indent=2))
        return EXIT_OK
    print(
        f"{'JOB ID':24} {'ROUTE':12} {'STATE':10} {'PROGRESS':>8} {'SEQ':>5} {'CREATED (UTC)':20}"
    )
    for job in jobs:
        progress = job.get("progress_percent")
        created = str(job.get("created_at", ""))[:19].replace("T", " ")
        print(
            f"{job['job_id']:24} {job['route']:12} {job['state']:10} "
            f"{(f'{progress}%' if progress is not None else '-'):>8} {job['last_seq']:>5} "
            f"{created:20}"
        )
    if not jobs:
        print("(no jobs)", file=sys.stderr)
    return EXIT_OK


def cmd_cancel(args: argparse.Namespace, api: ReadApi) -> int:
    body = api.cancel_job(args.job_id)
    print(f"cancel requested for {body['job_id']} (state: {body['state']})")
    return EXIT_OK


def follow_options(args: argparse.Namespace, client: QubitzClient, api: ReadApi) -> FollowOptions:
    """Cancel and final-state lookups through the read API, for every following command."""

    async def cancel(job_id: str) -> None:
        try:
            await asyncio.to_thread(api.cancel_job, job_id)
        except ApiFailure as exc:
            print(f"qubitz: could not cancel {job_id}: {exc.message}", file=sys.stderr)

    async def job_state(job_id: str) -> str | None:
        try:
            return str((await asyncio.to_thread(api.get_job, job_id))["state"])
        except ApiFailure:
            return None

    return FollowOptions(client=client, cancel=cancel, job_state=job_state)


def cmd_attach(args: argparse.Namespace, api: ReadApi) -> int:
    job = api.get_job(args.job_id)
    client = QubitzClient(args.url, args.api_key)
    since = max(0, args.since)
    print(
        f"job {job['job_id']} on /{job['route']} ({job['state']}, last seq {job['last_seq']})",
        file=sys.stderr,
    )
    opts = follow_options(args, client, api)
    opts.announce = False
    stream = client.resume(job["route"], job["job_id"], since)
    return asyncio.run(follow(stream, Renderer(args.json), opts))


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    jobs = sub.add_parser("jobs", help="list, attach to and cancel jobs on a running service")
    jobs_sub = jobs.add_subparsers(dest="jobs_cmd", required=True)

    p = jobs_sub.add_parser("list", help="running and recent jobs this key can see")
    _common(p)
    p.add_argument("--route", choices=ROUTES, default=None)
    p.add_argument("--state", choices=STATES, default=None)
    p.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    p.set_defaults(func=_guarded(cmd_list))

    p = jobs_sub.add_parser("attach", help="replay a job's events, then follow it live")
    _common(p)
    p.add_argument("job_id")
    p.add_argument("--since", type=int, default=0, help="replay after this seq (default 0)")
    p.set_defaults(func=_guarded(cmd_attach))

    p = jobs_sub.add_parser("cancel", help="cancel a running job")
    _common(p)
    p.add_argument("job_id")
    p.set_defaults(func=_guarded(cmd_cancel))
