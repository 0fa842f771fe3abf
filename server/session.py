"""One WebSocket: accept, authenticate, read the payload, run or resume a job, pump its events.

Failures raise the exceptions of agents/errors.py; `server.failures.outcome` decides the error
event and the close code (agents/protocol_codes.py), as it does for the job runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from agents.budget import DailyBudgetSpent
from agents.errors import (
    BadPayload,
    InternalError,
    JobLost,
    MessageTooLarge,
    Overloaded,
    QubitzError,
    ShuttingDown,
    Unauthorized,
)
from agents.pipeline import Pipeline
from agents.protocol import (
    CancelMessage,
    CloseCode,
    EndpointProtocol,
    ResumeMessage,
    StrictRequest,
    event_to_dict,
)
from server.auth import (
    AuditBuffer,
    AuthError,
    ConnectRateLimiter,
    KeyService,
    Principal,
    RateLimited,
)
from server.authlimit import FailedAuthLimiter
from server.db.keys import KeyRepository
from server.durable.events import queued_event
from server.eventlog import KEEPALIVE, EventLog, JobEnd, Subscription
from server.failures import outcome
from server.jobs import JobRunner
from server.keepalive import KeepaliveScheduler
from server.logs import request_id
from server.metrics import Metrics
from server.revocation import RevocationHub
from server.settings import Settings

log = logging.getLogger("qubitz.session")


@dataclass
class Services:
    settings: Settings
    keys: KeyService
    key_repo: KeyRepository
    audit: AuditBuffer
    limiter: ConnectRateLimiter
    runner: JobRunner
    log: EventLog
    scheduler: KeepaliveScheduler
    metrics: Metrics
    pipelines: dict[str, Pipeline]
    accepting: bool = True
    auth_failures: FailedAuthLimiter | None = None  # per client address (server/authlimit.py)
    revocations: RevocationHub | None = None  # closes a revoked key's sockets (revocation.py)

    def stop_accepting(self) -> None:
        """Refuse new sockets and tell every open one to go away (GOING_AWAY) so they resume."""
        self.accepting = False
        for session in self.scheduler.sessions:
            session.go_away()


def describe_validation_error(exc: ValidationError) -> tuple[str, list[str]]:
    """'field: what was wrong' for each problem, and one message naming them all."""
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        problems.append(f"{where}: {err['msg']}")
    return "Invalid request: " + "; ".join(problems), problems


def parse_message(raw: str | bytes, limit: int) -> dict[str, Any]:
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode())
    if size > limit:
        raise MessageTooLarge(f"Message of {size} bytes exceeds the limit of {limit} bytes.")
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadPayload(f"Message is not valid JSON: {exc}", code="invalid_json") from exc
    if not isinstance(obj, dict):
        raise BadPayload("Message must be a JSON object.")
    return obj


def close_reason(reason: str) -> str:
    """At most 123 UTF-8 bytes (the close frame's limit), cut on a character boundary."""
    return reason.encode()[:123].decode(errors="ignore")


def take_idempotency_key(obj: dict[str, Any]) -> str | None:
    """*extension*: `idempotency_key` (1-200 printable characters) beside any request's fields;
    removed before the endpoint's own validation."""
    if "idempotency_key" not in obj:
        return None
    key = obj.pop("idempotency_key")
    if not isinstance(key, str) or not 1 <= len(key) <= 200 or not key.isprintable():
        raise BadPayload(
            "Invalid request: idempotency_key: must be a string of 1 to 200 printable characters"
        )
    return key


class Session:
    """State of one socket, watched by the keepalive scheduler."""

    def __init__(self, ws: WebSocket, endpoint: EndpointProtocol, services: Services) -> None:
        self.ws = ws
        self.endpoint = endpoint
        self.s = services
        self.sub: Subscription | None = None
        self.job_started = time.monotonic()
        self.last_client = time.monotonic()
        self.keepalive_due = False
        self.expired = False
        self.going_away = False
        self.disconnected = False
        self.revoked = False
        self.queued = False  # the job waits in the cross-replica queue (position events)
        self.session_id: str | None = None

    # -- keepalive scheduler hooks -----------------------------------------------------------
    def quiet_for(self, now: float) -> float:
        return now - self.sub.last_activity if self.sub else 0.0

    def idle_for(self, now: float) -> float:
        last = max(self.last_client, self.sub.last_event if self.sub else self.last_client)
        return now - last

    def send_keepalive(self) -> None:
        if self.sub:
            self.sub.poke()

    def expire(self) -> None:
        self.expired = True
        if self.sub:
            self.sub.poke()

    def go_away(self) -> None:
        self.going_away = True
        if self.sub:
            self.sub.poke()

    def key_revoked(self) -> None:
        self.revoked = True
        if self.sub:
            self.sub.poke()

    def _check_revoked(self) -> None:
        if self.revoked:
            raise Unauthorized("api_key revoked")

    # -- flow --------------------------------------------------------------------------------
    async def run(self) -> None:
        ws, s = self.ws, self.s
        request_id.set("conn_" + secrets.token_hex(6))
        unwatch: Callable[[], None] | None = None
        await ws.accept()
        s.metrics.connection_opened(self.endpoint.name)
        try:
            if not s.accepting:
                raise ShuttingDown("The server is shutting down; reconnect shortly.")
            principal = await self._authenticate()
            if s.revocations is not None:  # from here on, a revocation closes this socket
                unwatch = s.revocations.watch(principal.key_id, self.key_revoked)
            job_id, since = await self._start_or_resume(principal)
            self._check_revoked()
            await self._pump(principal, job_id, since)
        except QubitzError as exc:
            await self._fail(exc)
        except WebSocketDisconnect:
            pass
        except Exception as exc:
            log.exception("session on /%s failed", self.endpoint.name)
            await self._fail(exc)
        finally:
            if unwatch is not None:
                unwatch()
            s.metrics.connection_closed()

    async def _authenticate(self) -> Principal:
        s = self.s
        remote = self.ws.client.host if self.ws.client else ""
        wait = s.auth_failures.retry_after(remote) if s.auth_failures else None
        if wait is not None:
            s.metrics.auth_failed("rate_limited")
            s.audit.record(
                None, route=self.endpoint.name, outcome="auth_rate_limited", remote=remote
            )
            raise Overloaded(
                f"too many failed authentication attempts; retry in {wait:.1f}s",
                code="rate_limited",
            )
        try:
            principal = await s.keys.authenticate(
                self.ws.query_params.get("api_key"), self.endpoint.scope
            )
        except AuthError as exc:
            s.metrics.auth_failed(exc.outcome)
            s.audit.record(exc.key_id, route=self.endpoint.name, outcome=exc.outcome, remote=remote)
            if s.auth_failures is not None:
                s.auth_failures.failed(remote)
            raise Unauthorized(exc.reason) from exc
        try:
            await s.limiter.acquire(principal.key_id)
        except RateLimited as exc:
            s.audit.record(
                principal.key_id, route=self.endpoint.name, outcome="rate_limited", remote=remote
            )
            raise Overloaded(str(exc), code="rate_limited") from exc
        s.audit.record(principal.key_id, route=self.endpoint.name, outcome="ok", remote=remote)
        return principal

    async def _start_or_resume(self, principal: Principal) -> tuple[str, int]:
        params = self.ws.query_params
        if "job_id" in params:
            raw_since = params.get("since", "0")
            # isdigit() alone admits "²" and other digits int() refuses
            if not (raw_since.isascii() and raw_since.isdigit()):
                raise BadPayload("since: must be a whole number >= 0")
            return await self._resume(principal, params["job_id"], int(raw_since))
        try:
            message = await asyncio.wait_for(
                self.ws.receive(), timeout=self.s.settings.server.first_message_timeout
            )
        except TimeoutError as exc:
            text = "No request received; send the JSON payload after connecting."
            raise BadPayload(text) from exc
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", CloseCode.NORMAL))
        raw = message.get("text")
        if raw is None:
            raw = message.get("bytes") or b""
        obj = parse_message(raw, self.s.settings.server.max_message_bytes)
        if "resume" in obj:
            try:
                resume = ResumeMessage.model_validate(obj)
            except ValidationError as exc:
                msg, details = describe_validation_error(exc)
                raise BadPayload(msg, details=details) from exc
            return await self._resume(principal, resume.resume.job_id, resume.resume.since)
        idempotency_key = take_idempotency_key(obj)
        try:
            request = self.endpoint.request.model_validate(obj)
        except ValidationError as exc:
            msg, details = describe_validation_error(exc)
            raise BadPayload(msg, details=details) from exc
        return await self._submit(principal, request, idempotency_key), 0

    async def _submit(
        self, principal: Principal, request: StrictRequest, idempotency_key: str | None = None
    ) -> str:
        self._check_revoked()
        pipeline = self.s.pipelines.get(self.endpoint.name)
        if pipeline is None:
            raise InternalError(
                f"/{self.endpoint.name} is not configured on this server.", code="not_configured"
            )
        try:
            job_id = await self.s.runner.submit(
                self.endpoint,
                pipeline,
                request,
                principal.workspace_id,
                idempotency_key=idempotency_key,
            )
            self.queued = self.s.runner.engine.limits.queued
            self.session_id = getattr(request, "session_id", None)
            return job_id
        except Overloaded as exc:
            raise Overloaded(f"Server is busy: {exc}") from exc
        except DailyBudgetSpent:
            # the job's own kind of error (as a chat turn over budget): event, then 1000
            self.session_id = getattr(request, "session_id", None)
            raise

    async def _resume(self, principal: Principal, job_id: str, since: int) -> tuple[str, int]:
        self._check_revoked()
        job = await self.s.runner.find(job_id, principal.workspace_id)
        if job is None or job[1] != self.endpoint.name:
            raise BadPayload(f"No job {job_id!r} on /{self.endpoint.name}.", code="job_not_found")
        if await self.s.runner.is_expired(job_id, principal.workspace_id):
            raise BadPayload(
                f"Job {job_id!r} finished long ago; its events were pruned.", code="job_expired"
            )
        return job_id, since

    async def _pump(self, principal: Principal, job_id: str, since: int) -> None:
        s, ws = self.s, self.ws
        request_id.set(job_id)
        self.sub = s.log.subscribe(job_id, since)
        reader = asyncio.create_task(self._read_client(principal, job_id))
        s.scheduler.register(self)
        try:
            await self._send_queue_position(job_id)
            while True:
                item = await self.sub.next()
                if self.disconnected:
                    return
                self._check_revoked()
                if self.going_away:
                    await self._close(
                        CloseCode.GOING_AWAY, "server going away; resume with job_id and since"
                    )
                    return
                if self.expired:
                    await self._close(CloseCode.NORMAL, "idle timeout")
                    return
                if item is KEEPALIVE and self.queued and await self._send_queue_position(job_id):
                    continue
                if item is KEEPALIVE:
                    now = time.monotonic()
                    event = self.endpoint.keepalive_event(now - self.job_started)
                    payload = event_to_dict(event)
                    payload["job_id"] = job_id
                    await ws.send_text(orjson.dumps(payload).decode())
                    s.metrics.keepalive_sent()
                elif isinstance(item, JobEnd):
                    if item.error == JobLost.code:
                        raise JobLost()
                    await self._close(item.close_code, item.state)
                    return
                else:
                    assert isinstance(item, list)
                    self.queued = False
                    for entry in item:
                        await ws.send_text(entry.text)
                    # lag of the oldest entry of the batch; replayed entries carry no time
                    oldest = item[0].appended if item else None
                    lag = None if oldest is None else time.monotonic() - oldest
                    s.metrics.events_sent(len(item), lag_seconds=lag)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # client went away mid-send; the job goes on
        finally:
            s.scheduler.unregister(self)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def _send_queue_position(self, job_id: str) -> bool:
        """While the job waits in the queue: a status with its place (not part of the log)."""
        if not self.queued:
            return False
        position = await self.s.runner.queue_position(job_id)
        if position is None:
            self.queued = False
            return False
        payload = queued_event(self.endpoint, position, self.session_id)
        payload["job_id"] = job_id
        await self.ws.send_text(orjson.dumps(payload).decode())
        return True

    async def _read_client(self, principal: Principal, job_id: str) -> None:
        """Client messages during a job: `{"type": "cancel"}`; a disconnect stops the pump."""
        try:
            while True:
                message = await self.ws.receive()
                self.last_client = time.monotonic()
                if message["type"] == "websocket.disconnect":
                    break
                raw = message.get("text") or message.get("bytes") or b""
                try:
                    obj = parse_message(raw, self.s.settings.server.max_message_bytes)
                    CancelMessage.model_validate(obj)
                except (QubitzError, ValidationError):
                    log.info("ignoring unexpected client message on job %s", job_id)
                    continue
                await self.s.runner.cancel(job_id, principal.workspace_id)
        except (WebSocketDisconnect, RuntimeError):
            pass
        self.disconnected = True
        if self.sub:
            self.sub.poke()

    async def _fail(self, exc: Exception) -> None:
        if self.ws.application_state != WebSocketState.CONNECTED:
            return
        failed = outcome(exc)
        event = failed.event(self.endpoint, self.session_id)
        with contextlib.suppress(Exception):
            await self.ws.send_text(orjson.dumps(event).decode())
        assert failed.error is not None
        await self._close(failed.close_code, failed.error.message)

    async def _close(self, code: int, reason: str) -> None:
        self.s.metrics.closed_with(code)
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, reason=close_reason(reason))


def websocket_handler(endpoint: EndpointProtocol, services: Services) -> Any:
    async def handle(ws: WebSocket) -> None:
        await Session(ws, endpoint, services).run()

    return handle
