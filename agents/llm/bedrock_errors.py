"""Translation of boto3/botocore errors from bedrock-runtime into our tree.

Service errors (`ClientError`, and `EventStreamError` for exceptions inside the event stream)
are classified by their error code; botocore's own errors by class.
"""

from __future__ import annotations

import botocore.exceptions

from agents.llm import errors as e

PROVIDER = "bedrock"

# Error codes of ConverseStream and of its event stream (upper or lower camel case).
BY_CODE: dict[str, type[e.LLMError]] = {
    "AccessDeniedException": e.LLMAuthenticationError,
    "UnrecognizedClientException": e.LLMAuthenticationError,
    "InvalidSignatureException": e.LLMAuthenticationError,
    "ExpiredTokenException": e.LLMAuthenticationError,
    "ValidationException": e.LLMBadRequestError,
    "ResourceNotFoundException": e.LLMBadRequestError,
    "ConflictException": e.LLMBadRequestError,
    "ThrottlingException": e.LLMRateLimitError,
    "ServiceQuotaExceededException": e.LLMRateLimitError,
    "ModelNotReadyException": e.LLMOverloadedError,
    "ServiceUnavailableException": e.LLMOverloadedError,
    "InternalServerException": e.LLMServerError,
    "ModelErrorException": e.LLMServerError,
    "ModelStreamErrorException": e.LLMServerError,
    "ModelTimeoutException": e.LLMTimeoutError,
}

BY_BOTOCORE_CLASS: dict[type[BaseException], type[e.LLMError]] = {
    botocore.exceptions.NoCredentialsError: e.LLMConfigurationError,
    botocore.exceptions.PartialCredentialsError: e.LLMConfigurationError,
    botocore.exceptions.NoRegionError: e.LLMConfigurationError,
    botocore.exceptions.ProfileNotFound: e.LLMConfigurationError,
    botocore.exceptions.UnknownServiceError: e.LLMConfigurationError,
    botocore.exceptions.ParamValidationError: e.LLMBadRequestError,
    botocore.exceptions.ReadTimeoutError: e.LLMTimeoutError,
    botocore.exceptions.ConnectTimeoutError: e.LLMTimeoutError,
    botocore.exceptions.EndpointConnectionError: e.LLMConnectionError,
    botocore.exceptions.ConnectionClosedError: e.LLMConnectionError,
    botocore.exceptions.HTTPClientError: e.LLMConnectionError,
    botocore.exceptions.ResponseStreamingError: e.LLMConnectionError,
    botocore.exceptions.IncompleteReadError: e.LLMConnectionError,
    botocore.exceptions.ClientError: e.LLMServerError,
    botocore.exceptions.BotoCoreError: e.LLMConnectionError,
}


def code_target(code: str) -> type[e.LLMError] | None:
    return BY_CODE.get(code[:1].upper() + code[1:]) if code else None


def class_target(cls: type[BaseException]) -> type[e.LLMError]:
    return next((BY_BOTOCORE_CLASS[c] for c in cls.__mro__ if c in BY_BOTOCORE_CLASS), e.LLMError)


def translate(
    exc: botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError,
) -> e.LLMError:
    status: int | None = None
    target: type[e.LLMError] | None = None
    message = str(exc)
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        raw_status = meta.get("HTTPStatusCode")
        status = raw_status if isinstance(raw_status, int) and raw_status >= 400 else None
        message = str(error.get("Message") or message)
        target = code_target(str(error.get("Code", "")))
        if target is None and status is not None:
            target = _by_status(status)
    if target is None:
        target = class_target(type(exc))
    lowered = message.lower()
    if target is e.LLMBadRequestError and ("too long" in lowered or "context" in lowered):
        target = e.LLMContextLengthError
    if issubclass(target, e.LLMRetryableError):
        return target(message, provider=PROVIDER, status_code=status, retry_after=None)
    return target(message, provider=PROVIDER, status_code=status)


def _by_status(status: int) -> type[e.LLMError]:
    if status == 429:
        return e.LLMRateLimitError
    if status in (401, 403):
        return e.LLMAuthenticationError
    if status == 503:
        return e.LLMOverloadedError
    if status >= 500:
        return e.LLMServerError
    return e.LLMBadRequestError
