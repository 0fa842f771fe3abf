"""The one exception tree. Pipelines raise these instead of yielding error events; the server's
failure map (server/failures.py) turns each into the endpoint's error event, a close code
(agents/protocol_codes.py) and the job's end state. `code` is the error event's `error` field
(upper-cased on /research and /chat, as the reference's INVALID_QUERY).

Close codes by name (agents/protocol_codes.py):

QubitzError                   a job ends with its error event, state `failed`, close NORMAL
├── InvalidRequest            the request is well-formed but not acceptable
├── NotFound                  no such thing in this workspace (same answer if it is another's)
├── Conflict                  the thing is in a state that does not allow this
├── LimitExceeded             a token budget is used up (TOKEN_LIMIT_EXCEEDED)
├── UpstreamError             a provider/store failed after retries
├── PipelineFailed            a step failed; `step` names it (research: `error.step`)
├── JobCancelled              the client cancelled the job: state `cancelled`, close NORMAL
└── SessionError              the socket closes with another code (INTERNAL_ERROR by default)
    ├── BadPayload            not JSON, not an object, invalid, unknown job: INVALID_PAYLOAD
    ├── MessageTooLarge       larger than QUBITZ_MAX_MESSAGE_BYTES: MESSAGE_TOO_BIG
    ├── Unauthorized          key missing, unknown, revoked, wrong scope: POLICY_VIOLATION
    ├── Overloaded            too many jobs, queue full, rate exceeded: TRY_AGAIN_LATER
    ├── ShuttingDown          the server is going away, resume elsewhere: GOING_AWAY
    ├── HandedOver            the job runs on another replica now: GOING_AWAY, no event
    └── InternalError         not configured, a bug: INTERNAL_ERROR
        └── JobLost           the engine says the job cannot run and its log never ended

Any other exception that escapes a pipeline is an internal error (INTERNAL_ERROR); its text
goes to the log only. A class whose message is always the same says so in `default_message`
(raise it without arguments); the others take the message.
"""

from __future__ import annotations


class QubitzError(Exception):
    code: str = "internal_error"
    default_message: str | None = None  # the message when raised without one

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: list[str] | None = None,
    ):
        if message is None:
            if self.default_message is None:
                raise TypeError(f"{type(self).__name__} needs a message")
            message = self.default_message
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidRequest(QubitzError):
    code = "invalid_request"


class NotFound(QubitzError):
    code = "not_found"


class Conflict(QubitzError):
    code = "conflict"


class LimitExceeded(QubitzError):
    code = "token_limit_exceeded"


class UpstreamError(QubitzError):
    code = "upstream_error"


class PipelineFailed(QubitzError):
    code = "pipeline_failed"

    def __init__(
        self,
        message: str,
        *,
        step: str,
        code: str | None = None,
        details: list[str] | None = None,
    ):
        super().__init__(message, code=code, details=details)
        self.step = step


class JobCancelled(QubitzError):
    code = "cancelled"
    default_message = "The job was cancelled by the client."


class SessionError(QubitzError):
    """Ends the socket (and a job, if one runs) with a close code other than NORMAL."""


class BadPayload(SessionError):
    code = "invalid_request"


class MessageTooLarge(SessionError):
    code = "message_too_large"


class Unauthorized(SessionError):
    code = "unauthorized"


class Overloaded(SessionError):
    code = "overloaded"


class ShuttingDown(SessionError):
    code = "server_shutting_down"


class HandedOver(SessionError):
    code = "handed_over"


class InternalError(SessionError):
    code = "internal_error"


class JobLost(InternalError):
    code = "job_lost"
    default_message = "The job stopped without finishing."
