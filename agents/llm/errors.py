"""Errors raised by LLM providers; every provider translates its own errors into these.

LLMError
├── LLMConfigurationError      provider unusable here (missing key, package, model file)
├── LLMAuthenticationError     credentials refused (401/403)
├── LLMBadRequestError         request rejected as malformed (400/404/422)
│   └── LLMContextLengthError  prompt exceeds the context window
├── LLMRetryableError          worth retrying; `retry_after` in seconds when the server said
│   ├── LLMRateLimitError      429
│   ├── LLMOverloadedError     529 / overloaded_error
│   ├── LLMServerError         5xx
│   ├── LLMConnectionError     could not connect / connection dropped
│   └── LLMTimeoutError        no answer within the configured timeout
├── LLMStructuredOutputError   the model's structured output does not match the schema
└── LLMRetriesExhaustedError   retryable errors continued past the retry budget (`last` = cause)
"""

from __future__ import annotations


class LLMError(Exception):
    """Base of every LLM error."""

    def __init__(self, message: str, *, provider: str = "", status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status_code = status_code


class LLMConfigurationError(LLMError):
    pass


class LLMAuthenticationError(LLMError):
    pass


class LLMBadRequestError(LLMError):
    pass


class LLMContextLengthError(LLMBadRequestError):
    pass


class LLMRetryableError(LLMError):
    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status_code: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, provider=provider, status_code=status_code)
        self.retry_after = retry_after


class LLMRateLimitError(LLMRetryableError):
    pass


class LLMOverloadedError(LLMRetryableError):
    pass


class LLMServerError(LLMRetryableError):
    pass


class LLMConnectionError(LLMRetryableError):
    pass


class LLMTimeoutError(LLMRetryableError):
    pass


class LLMStructuredOutputError(LLMError):
    def __init__(self, message: str, *, provider: str = "", raw: str = ""):
        super().__init__(message, provider=provider)
        self.raw = raw


class LLMRetriesExhaustedError(LLMError):
    def __init__(self, message: str, *, last: LLMRetryableError, attempts: int):
        super().__init__(message, provider=last.provider, status_code=last.status_code)
        self.last = last
        self.attempts = attempts
