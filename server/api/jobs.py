"""GET /v1/jobs, GET /v1/jobs/{id}, GET /v1/jobs/{id}/events, POST /v1/jobs/{id}/cancel.

Everything is read from the jobs table and the stored event rows (the durable log every replica
shares); cancel goes through the job runner's own entry point, the one `{"type": "cancel"}` on a
socket uses.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from server.api.auth import ApiError, Caller
from server.api.models import CancelAccepted, JobDetail, JobList, JobOutcome, JobSummary
from server.db.jobs import JobRecord, JobRepository
from server.session import Services

STATES = ("running", "succeeded", "failed", "cancelled")
TAIL = 50  # events read from the end of a job's log to find its progress and message
MAX_LIST = 200
MAX_EVENTS = 5000
STATUS_TYPES = {
    "status",
    "multiagent_step",
    "multiagent_progress",
    "chat_status",
    "deployment_started",
    "ack",
    "stream_start",
}


def safe_id(value: str) -> str:
    """Ids are printable and short; anything else cannot exist (404, never a database error)."""
    if not value or len(value) > 200 or not value.isprintable():
        raise ApiError(404, "not found")
    return value


def int_param(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ApiError(422, f"{name}: must be a whole number from {low} to {high}")
    return int(raw)


def _field(event: dict[str, Any], name: str) -> Any:
    data = event.get("data")
    value = event.get(name)
    if value is None and isinstance(data, dict):
        value = data.get(name)
    return value


def summarise(record: JobRecord, tail: list[tuple[int, str]]) -> dict[str, Any]:
    """The summary fields, from the job row and the newest events (newest first)."""
    events = [orjson.loads(payload) for _seq, payload in tail]
    progress = message = project_id = None
    for event in events:
        if progress is None and isinstance(_field(event, "progress_percent"), int):
            progress = int(_field(event, "progress_percent"))
        if message is None and event.get("type") in STATUS_TYPES and _field(event, "message"):
            message = str(_field(event, "message"))[:500]
        if project_id is None and isinstance(_field(event, "project_id"), str):
            project_id = str(_field(event, "project_id"))
    if record.state == "succeeded":
        progress = 100
    last_seq = max(record.last_seq, tail[0][0] if tail else 0)
    return {
        "job_id": record.id,
        "route": record.endpoint,
        "state": record.state,
        "created_at": record.created_at,
        "finished_at": record.finished_at,
        "last_seq": last_seq,
        "progress_percent": progress,
        "message": message,
        "project_id": project_id,
        "_last_event": events[0] if events else None,
    }


class JobsApi:
    def __init__(self, jobs: JobRepository, public_url: str) -> None:
        self._jobs = jobs
        self._public_url = public_url

    async def _visible(self, caller: Caller, job_id: str, services: Services) -> JobRecord:
        record = await self._jobs.get(safe_id(job_id), caller.workspace_id)
        if record is None:
            # Submitted a moment ago: the row is written by the event log's next batch.
            known = await services.runner.find(job_id, caller.workspace_id)
            if known is not None and caller.sees_route(known[1]):
                from server.db.base import utcnow

                return JobRecord(
                    id=job_id,
                    workspace_id=caller.workspace_id,
                    endpoint=known[1],
                    state="running",
                    close_code=None,
                    error=None,
                    last_seq=0,
                    created_at=utcnow(),
                    finished_at=None,
                )
        if record is None or not caller.sees_route(record.endpoint):
            raise ApiError(404, f"no job {job_id!r} visible to this key")
        return record

    async def index(self, request: Request, caller: Caller) -> Response:
        route = request.query_params.get("route")
        state = request.query_params.get("state")
        if state is not None and state not in STATES:
            raise ApiError(422, f"state: must be one of {', '.join(STATES)}")
        limit = int_param(request, "limit", 50, low=1, high=MAX_LIST)
        routes = caller.routes if route is None else [r for r in caller.routes if r == route]
        records = (
            await self._jobs.list_jobs(
                caller.workspace_id, endpoints=routes, state=state, limit=limit
            )
            if routes
            else []
        )
        jobs = []
        for record in records:
            fields = summarise(record, await self._jobs.tail(record.id, TAIL))
            fields.pop("_last_event")
            jobs.append(JobSummary(**fields))
        return _json(JobList(jobs=jobs))

    async def get(self, request: Request, caller: Caller, services: Services) -> Response:
        record = await self._visible(caller, request.path_params["job_id"], services)
        fields = summarise(record, await self._jobs.tail(record.id, TAIL))
        last_event = fields.pop("_last_event")
        outcome = None
        if record.finished:
            outcome = JobOutcome(
                close_code=record.close_code, error=record.error, final_event=last_event
            )
        base = self._public_url
        ws_base = base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        detail = JobDetail(
            **fields,
            outcome=outcome,
            events_url=f"{base}/v1/jobs/{record.id}/events",
            attach_url=f"{ws_base}/{record.endpoint}?job_id={record.id}&since={fields['last_seq']}",
        )
        return _json(detail)

    async def events(self, request: Request, caller: Caller, services: Services) -> Response:
        record = await self._visible(caller, request.path_params["job_id"], services)
        since = int_param(request, "since", 0, low=0, high=2**31 - 1)
        limit = int_param(request, "limit", 1000, low=1, high=MAX_EVENTS)
        rows = await self._jobs.events_page(record.id, since, limit)
        body = "".join(payload + "\n" for _seq, payload in rows)
        last = rows[-1][0] if rows else since
        return Response(
            body,
            media_type="application/x-ndjson",
            headers={"X-Qubitz-Job-State": record.state, "X-Qubitz-Last-Seq": str(last)},
        )

    async def cancel(self, request: Request, caller: Caller, services: Services) -> Response:
        record = await self._visible(caller, request.path_params["job_id"], services)
        if record.finished:
            raise ApiError(409, f"job {record.id} has already ended ({record.state})")
        # The runner cancels a job wherever it runs (the engine's cancel reaches every replica);
        # False means it does not know the job (e.g. it was pruned a moment ago).
        if not await services.runner.cancel(record.id, caller.workspace_id):
            raise ApiError(404, f"no job {record.id!r} visible to this key")
        accepted = CancelAccepted(job_id=record.id, state=record.state, cancel_requested=True)
        return _json(accepted, status=202)


def _json(model: Any, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type="application/json")
