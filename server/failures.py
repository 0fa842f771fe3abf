"""The failure map: one function from an exception (or a normal end) to what the client and the
jobs table see: the endpoint's error event, the close code, and the job's end state.

Used by the session (failures before or around a job) and the job runner (a pipeline's end).
The exception tree is agents/errors.py; the close codes are agents/protocol_codes.py.

| raised                          | job state  | close (agents/protocol_codes.py) |
|---------------------------------|------------|----------------------------------|
| nothing (the pipeline ended)    | succeeded  | NORMAL                           |
| QubitzError and its subclasses  | failed     | NORMAL                           |
| JobCancelled                    | cancelled  | NORMAL                           |
| BadPayload                      | failed     | INVALID_PAYLOAD                  |
| Unauthorized                    | failed     | POLICY_VIOLATION                 |
| MessageTooLarge                 | failed     | MESSAGE_TOO_BIG                  |
| Overloaded                      | failed     | TRY_AGAIN_LATER                  |
| ShuttingDown, HandedOver        | failed     | GOING_AWAY                       |
| InternalError, SessionError     | failed     | INTERNAL_ERROR                   |
| any other exception             | failed     | INTERNAL_ERROR (its text only logged) |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from agents.errors import (
    BadPayload,
    HandedOver,
    InternalError,
    JobCancelled,
    MessageTooLarge,
    Overloaded,
    QubitzError,
    SessionError,
    ShuttingDown,
    Unauthorized,
)
from agents.protocol import EndpointProtocol, Event, event_to_dict
from agents.protocol_codes import CloseCode

JobState = Literal["succeeded", "failed", "cancelled"]


@dataclass(frozen=True, slots=True)
class JobEnd:
    """How a job ended, as stored (jobs table, Redis end marker) and replayed to sockets."""

    state: str  # succeeded | failed | cancelled (| expired, read back from the jobs table)
    close_code: CloseCode
    error: str | None = None  # the error event's code, lower-case

    @classmethod
    def stored(cls, state: str, close_code: int | None, error: str | None) -> JobEnd:
        """From a row or stream entry (a missing code is a normal end)."""
        return cls(state, CloseCode(close_code or CloseCode.NORMAL), error)


# Most specific class first is found by walking the exception's MRO.
RULES: dict[type[QubitzError], tuple[JobState, CloseCode]] = {
    QubitzError: ("failed", CloseCode.NORMAL),
    JobCancelled: ("cancelled", CloseCode.NORMAL),
    SessionError: ("failed", CloseCode.INTERNAL_ERROR),
    BadPayload: ("failed", CloseCode.INVALID_PAYLOAD),
    Unauthorized: ("failed", CloseCode.POLICY_VIOLATION),
    MessageTooLarge: ("failed", CloseCode.MESSAGE_TOO_BIG),
    Overloaded: ("failed", CloseCode.TRY_AGAIN_LATER),
    ShuttingDown: ("failed", CloseCode.GOING_AWAY),
    HandedOver: ("failed", CloseCode.GOING_AWAY),
    InternalError: ("failed", CloseCode.INTERNAL_ERROR),
}


@dataclass(frozen=True, slots=True)
class Outcome:
    state: JobState
    close_code: CloseCode
    error: QubitzError | None = None

    @property
    def end(self) -> JobEnd:
        return JobEnd(self.state, self.close_code, self.error.code.lower() if self.error else None)

    def error_event(self, endpoint: EndpointProtocol, session_id: str | None = None) -> Event:
        """The endpoint's own error event (`error`, `chat_error` or the enveloped `error`)."""
        if self.error is None:
            raise ValueError("a successful end has no error event")
        exc = self.error
        return endpoint.error_event(
            exc.code,
            exc.message,
            session_id=session_id,
            details=exc.details,
            step=getattr(exc, "step", None),
        )

    def event(self, endpoint: EndpointProtocol, session_id: str | None = None) -> dict[str, Any]:
        """`error_event` as the JSON object sent (before the log adds job_id and seq)."""
        return event_to_dict(self.error_event(endpoint, session_id))


SUCCEEDED = Outcome("succeeded", CloseCode.NORMAL)


def outcome(exc: BaseException | None) -> Outcome:
    """The failure map. `None` is a normal end; an exception outside the tree is an internal
    error whose text is not shown (log it before calling this)."""
    if exc is None:
        return SUCCEEDED
    if not isinstance(exc, QubitzError):
        exc = InternalError("Internal server error.")
    for cls in type(exc).__mro__:
        rule = RULES.get(cls)
        if rule is not None:
            return Outcome(rule[0], rule[1], exc)
    raise AssertionError("QubitzError is in RULES")  # pragma: no cover
