"""Translation of the `anthropic` SDK's errors into our tree (agents/llm/errors.py).

Errors are classified first by the API's error `type` (also present on errors that arrive as an
SSE `error` event inside a 200 response), then by the SDK's exception class.
"""

from __future__ import annotations

import email.utils
import time

import anthropic

from agents.llm import errors as e

PROVIDER = "anthropic"

# API error types (https://docs.anthropic.com/en/api/errors) -> our classes.
BY_ERROR_TYPE: dict[str, type[e.LLMError]] = {
    "invalid_request_error": e.LLMBadRequestError,
    "authentication_error": e.LLMAuthenticationError,
    "permission_error": e.LLMAuthenticationError,
    "billing_error": e.LLMAuthenticationError,
    "not_found_error": e.LLMBadRequestError,
    "request_too_large": e.LLMBadRequestError,
    "rate_limit_error": e.LLMRateLimitError,
    "api_error": e.LLMServerError,
    "timeout_error": e.LLMTimeoutError,
    "overloaded_error": e.LLMOverloadedError,
}

# SDK exception classes -> our classes. The most specific class in an error's MRO wins.
BY_SDK_CLASS: dict[type[BaseException], type[e.LLMError]] = {
    anthropic.APITimeoutError: e.LLMTimeoutError,
    anthropic.APIConnectionError: e.LLMConnectionError,
    anthropic.APIResponseValidationError: e.LLMServerError,
    anthropic.BadRequestError: e.LLMBadRequestError,
    anthropic.AuthenticationError: e.LLMAuthenticationError,
    anthropic.PermissionDeniedError: e.LLMAuthenticationError,
    anthropic.NotFoundError: e.LLMBadRequestError,
    anthropic.ConflictError: e.LLMServerError,
    anthropic.UnprocessableEntityError: e.LLMBadRequestError,
    anthropic.RateLimitError: e.LLMRateLimitError,
    anthropic.InternalServerError: e.LLMServerError,
    anthropic.APIStatusError: e.LLMServerError,
    anthropic.APIError: e.LLMServerError,
    anthropic.AnthropicError: e.LLMError,
}
# Classes present only in some SDK versions.
for _name, _target in (
    ("PaymentRequiredError", e.LLMAuthenticationError),
    ("RequestTimeoutError", e.LLMTimeoutError),
    ("PreconditionFailedError", e.LLMBadRequestError),
    ("ContentTooLargeError", e.LLMBadRequestError),
    ("RequestTooLargeError", e.LLMBadRequestError),
    ("RequestHeaderFieldsTooLargeError", e.LLMBadRequestError),
    ("ClientClosedRequestError", e.LLMConnectionError),
    ("HTTPNotImplementedError", e.LLMBadRequestError),
    ("ServiceUnavailableError", e.LLMServerError),
    ("GatewayTimeoutError", e.LLMTimeoutError),
    ("DeadlineExceededError", e.LLMTimeoutError),
    ("OverloadedError", e.LLMOverloadedError),
    ("RetryableError", e.LLMServerError),
    ("CredentialsError", e.LLMConfigurationError),
    ("IdentityTokenFileError", e.LLMConfigurationError),
    ("WorkloadIdentityError", e.LLMConfigurationError),
    ("APIWebhookValidationError", e.LLMBadRequestError),
):
    _cls = getattr(anthropic, _name, None)
    if isinstance(_cls, type):
        BY_SDK_CLASS[_cls] = _target


def translate(exc: anthropic.AnthropicError) -> e.LLMError:
    """Our error for an SDK error; `retry_after` comes from the response headers."""
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) and status >= 400 else None
    error_type = getattr(exc, "type", None)
    message = getattr(exc, "api_message", None) or str(exc)
    target: type[e.LLMError] | None = None
    if isinstance(error_type, str):
        target = BY_ERROR_TYPE.get(error_type)
    if target is None and status == 529:
        target = e.LLMOverloadedError
    if target is None:
        target = class_target(type(exc))
    if target is e.LLMBadRequestError and "prompt is too long" in message.lower():
        target = e.LLMContextLengthError
    if issubclass(target, e.LLMRetryableError):
        return target(message, provider=PROVIDER, status_code=status, retry_after=_retry_after(exc))
    return target(message, provider=PROVIDER, status_code=status)


def class_target(cls: type[BaseException]) -> type[e.LLMError]:
    """Our class for an SDK exception class (its most specific mapped ancestor)."""
    return next((BY_SDK_CLASS[c] for c in cls.__mro__ if c in BY_SDK_CLASS), e.LLMError)


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    return parse_retry_after(headers.get("retry-after-ms"), headers.get("retry-after"))


def parse_retry_after(retry_after_ms: str | None, retry_after: str | None) -> float | None:
    """Seconds from `retry-after-ms`, or `retry-after` as seconds or an HTTP date."""
    if retry_after_ms:
        try:
            return max(0.0, float(retry_after_ms) / 1000)
        except ValueError:
            pass
    if not retry_after:
        return None
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
