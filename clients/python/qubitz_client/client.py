"""QubitzClient: one method per endpoint, each returning a resumable JobStream.

    async with QubitzClient("http://127.0.0.1:8008", api_key) as client:
        async for event in client.research(prompt=..., company_name=..., ...):
            ...
        final = await client.chat(messages=[...], report="...", ...).result()

A dropped connection is resumed with the job id and the last `seq` seen (backoff between tries);
events are neither lost nor duplicated. `stream.cancel()` cancels the job on the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from qubitz_client.errors import (
    AuthError,
    Cancelled,
    ConnectionLost,
    JobFailed,
    MessageTooLarge,
    Overloaded,
    QubitzClientError,
    TokenLimitExceeded,
    ValidationError,
)
from qubitz_client.events import TERMINAL_SUCCESS, Event, parse_event

DEFAULT_URL = "http://127.0.0.1:8008"
RESUMABLE_CLOSES = {1001, 1006, 1011, 1012, 1013, None}


@dataclass(frozen=True)
class Backoff:
    """Delays between reconnection attempts: exponential with jitter, bounded in count."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 10.0
    attempts: int = 8

    def delays(self) -> Iterator[float]:
        delay = self.initial
        for _ in range(self.attempts):
            yield delay * (0.5 + random.random() / 2)
            delay = min(self.maximum, delay * self.factor)


def _ws_base(base_url: str) -> str:
    base = base_url.rstrip("/")
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :]
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :]
    return base


class JobStream:
    """The events of one job. Iterate it once; `result()` drains it and returns the final event."""

    def __init__(
        self,
        client: QubitzClient,
        endpoint: str,
        payload: dict[str, Any] | None,
        *,
        job_id: str | None = None,
        since: int = 0,
    ) -> None:
        self._client = client
        self.endpoint = endpoint
        self._payload = payload
        self.job_id = job_id
        self.last_seq = since
        self.final: Event | None = None
        self.error: Event | None = None
        self._ws: ClientConnection | None = None
        self._started = False
        self.reconnects = 0

    def _url(self) -> str:
        query: dict[str, Any] = {"api_key": self._client.api_key}
        if self.job_id is not None:
            query.update(job_id=self.job_id, since=self.last_seq)
        return f"{self._client.ws_base}/{self.endpoint}?{urlencode(query)}"

    async def __aiter__(self) -> AsyncIterator[Event]:
        if self._started:
            raise RuntimeError("a JobStream can be iterated once")
        self._started = True
        delays = self._client.backoff.delays()
        while True:
            close_code: int | None = None
            last_error: Event | None = None
            try:
                async with connect(
                    self._url(),
                    max_size=None,
                    open_timeout=self._client.open_timeout,
                    ping_interval=20,
                    ping_timeout=60,
                ) as ws:
                    self._ws = ws
                    if self.job_id is None and self._payload is not None:
                        # Refused before the request (e.g. 1008): the error event is still
                        # buffered and is read below.
                        with contextlib.suppress(ConnectionClosed):
                            await ws.send(json.dumps(self._payload))
                    try:
                        async for raw in ws:
                            event = parse_event(json.loads(raw), self.endpoint)
                            if event.job_id and self.job_id is None:
                                self.job_id = event.job_id
                            if event.seq is not None:
                                if event.seq <= self.last_seq:
                                    continue  # already seen before a reconnect
                                self.last_seq = event.seq
                                delays = self._client.backoff.delays()
                                if event.is_error:
                                    self.error = event
                                elif event.type in TERMINAL_SUCCESS.get(self.endpoint, ()):
                                    self.final = event
                            elif event.is_error:
                                last_error = event
                            yield event
                    except ConnectionClosed:
                        pass
                    close_code = ws.close_code if ws.close_code is not None else 1006
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                if isinstance(exc, InvalidURI):
                    raise
                close_code = None
            finally:
                self._ws = None
            if close_code == 1000:
                return
            self._raise_for(close_code, last_error)
            try:
                delay = next(delays)
            except StopIteration:
                raise ConnectionLost(
                    f"connection to /{self.endpoint} lost and could not be resumed",
                    close_code=close_code,
                ) from None
            self.reconnects += 1
            await asyncio.sleep(delay)

    def _raise_for(self, code: int | None, error: Event | None) -> None:
        message = error.message if error else f"connection closed with {code}"
        if code == 1008:
            raise AuthError(message, event=error.raw if error else None, close_code=code)
        if code == 1007:
            raise ValidationError(message, event=error.raw if error else None, close_code=code)
        if code == 1009:
            raise MessageTooLarge(message, close_code=code)
        if (
            code == 1013
            and error is not None
            and self.job_id is None
            and error.error_code.lower() == "rate_limited"
        ):
            raise Overloaded(message, event=error.raw, close_code=code)
        if code not in RESUMABLE_CLOSES:
            raise QubitzClientError(message, close_code=code)

    async def events(self, *, keepalives: bool = False) -> list[Event]:
        return [e async for e in self if keepalives or not e.is_keepalive]

    async def result(self) -> Event:
        """Drain the stream; the job's final event, or JobFailed (and subclasses)."""
        if not self._started:
            async for _ in self:
                pass
        if self.error is not None:
            code = self.error.error_code
            cls: type[JobFailed] = JobFailed
            if code.upper() == "TOKEN_LIMIT_EXCEEDED":
                cls = TokenLimitExceeded
            elif code.upper() == "CANCELLED":
                cls = Cancelled
            raise cls(self.error.message or code, code=code, event=self.error.raw)
        if self.final is None:
            raise JobFailed("the job ended without its final event", code="incomplete")
        return self.final

    async def cancel(self) -> None:
        """Ask the server to cancel this job (idempotent)."""
        message = json.dumps({"type": "cancel"})
        if self._ws is not None:
            await self._ws.send(message)
            return
        if self.job_id is None:
            raise QubitzClientError("the job has not started yet; nothing to cancel")
        query = urlencode(
            {"api_key": self._client.api_key, "job_id": self.job_id, "since": self.last_seq}
        )
        async with connect(f"{self._client.ws_base}/{self.endpoint}?{query}") as ws:
            await ws.send(message)


class QubitzClient:
    """A client of one service with one key.

    `base_url` and `api_key` fall back to the environment variables QUBITZ_URL and
    QUBITZ_API_KEY (an argument wins); a missing key is a `ValueError` at construction.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        backoff: Backoff | None = None,
        open_timeout: float = 10.0,
    ) -> None:
        base_url = base_url or os.environ.get("QUBITZ_URL") or DEFAULT_URL
        api_key = api_key or os.environ.get("QUBITZ_API_KEY")
        if not api_key:
            raise ValueError("no API key: pass api_key= or set QUBITZ_API_KEY")
        self.ws_base = _ws_base(base_url)
        self.api_key = api_key
        self.backoff = backoff or Backoff()
        self.open_timeout = open_timeout

    async def __aenter__(self) -> QubitzClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def stream(self, endpoint: str, payload: dict[str, Any]) -> JobStream:
        return JobStream(self, endpoint, {k: v for k, v in payload.items() if v is not None})

    def resume(self, endpoint: str, job_id: str, since: int = 0) -> JobStream:
        return JobStream(self, endpoint, None, job_id=job_id, since=since)

    def research(
        self,
        *,
        prompt: str,
        company_name: str,
        company_url: str,
        user_id: str,
        session_id: str,
        **extensions: Any,
    ) -> JobStream:
        return self.stream(
            "research",
            dict(
                prompt=prompt,
                company_name=company_name,
                company_url=company_url,
                user_id=user_id,
                session_id=session_id,
                **extensions,
            ),
        )

    def chat(
        self,
        *,
        messages: list[dict[str, str]],
        user_id: str,
        session_id: str,
        s3_report_url: str | None = None,
        report: str | None = None,
        project_id: str | None = None,
        company_name: str | None = None,
        token_limit: int | None = None,
    ) -> JobStream:
        return self.stream(
            "chat",
            dict(
                messages=messages,
                user_id=user_id,
                session_id=session_id,
                s3_report_url=s3_report_url,
                report=report,
                project_id=project_id,
                company_name=company_name,
                token_limit=token_limit,
            ),
        )

    def get_spec(
        self,
        *,
        user_id: str,
        project_id: str,
        use_case_name: str,
        use_case_description: str,
        s3_uri: str | None = None,
        session_id: str | None = None,
    ) -> JobStream:
        return self.stream(
            "getspec",
            dict(
                user_id=user_id,
                project_id=project_id,
                use_case_name=use_case_name,
                use_case_description=use_case_description,
                s3_uri=s3_uri,
                session_id=session_id,
            ),
        )

    def update_spec(
        self,
        *,
        user_id: str,
        project_id: str,
        user_input: str | None = None,
        rollback_to: int | None = None,
    ) -> JobStream:
        return self.stream(
            "updatespec",
            dict(
                user_id=user_id,
                project_id=project_id,
                user_input=user_input,
                rollback_to=rollback_to,
            ),
        )

    def deploy(
        self,
        *,
        user_id: str,
        project_id: str,
        github_username: str | None = None,
        action: str | None = None,
    ) -> JobStream:
        return self.stream(
            "deploy",
            dict(
                user_id=user_id,
                project_id=project_id,
                github_username=github_username,
                action=action,
            ),
        )

    def create_api_key(
        self, *, user_id: str, project_id: str, key_name: str | None = None, **limits: Any
    ) -> JobStream:
        return self.stream(
            "createapikey",
            dict(user_id=user_id, project_id=project_id, key_name=key_name, **limits),
        )

    def delete_api_key(
        self, *, user_id: str, project_id: str, api_key_id: str, usage_plan_id: str | None = None
    ) -> JobStream:
        return self.stream(
            "deleteapikey",
            dict(
                user_id=user_id,
                project_id=project_id,
                api_key_id=api_key_id,
                usage_plan_id=usage_plan_id,
            ),
        )
