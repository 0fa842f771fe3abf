"""Client exceptions.

QubitzClientError
├── AuthError            close 1008: key missing, invalid, revoked, or wrong scope
├── ValidationError      close 1007: the request was refused as invalid
├── MessageTooLarge      close 1009
├── Overloaded           close 1013 after the retry budget
├── ConnectionLost       the connection failed and could not be resumed
└── JobFailed            the job ended with an error event (`.code`, `.event`)
    ├── TokenLimitExceeded   chat_error TOKEN_LIMIT_EXCEEDED
    └── Cancelled            the job was cancelled
"""

from __future__ import annotations

from typing import Any


class QubitzClientError(Exception):
    def __init__(
        self, message: str, *, event: dict[str, Any] | None = None, close_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.event = event
        self.close_code = close_code


class AuthError(QubitzClientError):
    pass


class ValidationError(QubitzClientError):
    pass


class MessageTooLarge(QubitzClientError):
    pass


class Overloaded(QubitzClientError):
    pass


class ConnectionLost(QubitzClientError):
    pass


class JobFailed(QubitzClientError):
    def __init__(
        self,
        message: str,
        *,
        code: str,
        event: dict[str, Any] | None = None,
        close_code: int | None = None,
    ) -> None:
        super().__init__(message, event=event, close_code=close_code)
        self.code = code


class TokenLimitExceeded(JobFailed):
    pass


class Cancelled(JobFailed):
    pass
