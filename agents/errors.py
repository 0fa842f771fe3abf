"""Domain errors raised by pipelines; the server maps each to an error event and a close code.

QubitzError                       code: the error event's `error` field
├── InvalidRequest                the request is well-formed but not acceptable (close 1000)
├── NotFound                      no such thing in this workspace (same answer if it is another's)
├── Conflict                      the thing is in a state that does not allow this
├── UpstreamError                 a provider/store failed after retries
└── PipelineFailed                a step failed; `step` names it
"""

from __future__ import annotations


class QubitzError(Exception):
    code: str = "internal_error"

    def __init__(self, message: str, *, code: str | None = None, details: list[str] | None = None):
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
