"""Every provider's errors translate into our tree, and the translation tables are complete."""

from __future__ import annotations

import inspect

import anthropic
import boto3
import botocore.exceptions
import httpx
import pytest

from agents.llm import anthropic_errors, bedrock_errors, openai_compat
from agents.llm import errors as e
from agents.llm.local import translate as translate_local
from agents.llm.retry import RetryPolicy


def exception_classes(module: object, base: type[BaseException]) -> list[type[BaseException]]:
    return [obj for _, obj in inspect.getmembers(module, inspect.isclass) if issubclass(obj, base)]


def test_every_anthropic_sdk_error_class_maps_to_a_specific_error() -> None:
    """Each exception class the anthropic SDK exports (but its root) maps below LLMError."""
    classes = [
        c
        for c in exception_classes(anthropic, anthropic.AnthropicError)
        if c is not anthropic.AnthropicError
    ]
    assert len(classes) > 10
    unmapped = [c.__name__ for c in classes if anthropic_errors.class_target(c) is e.LLMError]
    assert unmapped == []


def test_every_anthropic_api_error_type_is_mapped() -> None:
    """The documented API error types each have a class; overloaded and rate limit retry."""
    assert anthropic_errors.BY_ERROR_TYPE["overloaded_error"] is e.LLMOverloadedError
    assert issubclass(anthropic_errors.BY_ERROR_TYPE["rate_limit_error"], e.LLMRetryableError)
    assert issubclass(anthropic_errors.BY_ERROR_TYPE["api_error"], e.LLMRetryableError)
    assert not issubclass(
        anthropic_errors.BY_ERROR_TYPE["invalid_request_error"], e.LLMRetryableError
    )


def test_every_httpx_error_class_maps_to_a_specific_error() -> None:
    """Each httpx.HTTPError subclass maps to a class in our tree (not the bare root)."""
    classes = exception_classes(httpx, httpx.HTTPError)
    assert len(classes) > 10
    unmapped = [c.__name__ for c in classes if openai_compat.httpx_class_target(c) is e.LLMError]
    assert unmapped == []
    assert openai_compat.httpx_class_target(httpx.ReadTimeout) is e.LLMTimeoutError
    assert openai_compat.httpx_class_target(httpx.ConnectError) is e.LLMConnectionError


@pytest.mark.parametrize("status", range(400, 600))
def test_every_http_status_maps_and_only_transient_ones_retry(status: int) -> None:
    """4xx are not retried except 408, 409 and 429; every 5xx is retried."""
    cls = openai_compat.status_class(status)
    retryable = issubclass(cls, e.LLMRetryableError)
    assert retryable == (status >= 500 or status in (408, 409, 429))


def test_every_bedrock_converse_stream_error_code_is_mapped() -> None:
    """All error shapes of ConverseStream and of its event stream have a translation."""
    client = boto3.session.Session().client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    op = client.meta.service_model.operation_model("ConverseStream")
    codes = {shape.name for shape in op.error_shapes}
    stream = op.output_shape.members["stream"]
    codes |= {m.name for m in stream.members.values() if m.metadata.get("exception")}
    codes |= {
        name[:1].upper() + name[1:]
        for name, m in stream.members.items()
        if m.metadata.get("exception")
    }
    assert codes
    unmapped = sorted(c for c in codes if bedrock_errors.code_target(c) is None)
    assert unmapped == []


def test_every_botocore_error_class_maps_to_a_specific_error() -> None:
    """Each botocore exception class maps below LLMError through its ancestry."""
    classes = exception_classes(botocore.exceptions, botocore.exceptions.BotoCoreError)
    unmapped = [c.__name__ for c in classes if bedrock_errors.class_target(c) is e.LLMError]
    assert unmapped == []


def test_bedrock_client_error_uses_its_code() -> None:
    """A ClientError is classified by its error code, with the HTTP status kept."""
    err = botocore.exceptions.ClientError(
        {
            "Error": {"Code": "ThrottlingException", "Message": "slow"},
            "ResponseMetadata": {"HTTPStatusCode": 429},
        },
        "ConverseStream",
    )
    out = bedrock_errors.translate(err)
    assert isinstance(out, e.LLMRateLimitError)
    assert out.status_code == 429


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            ValueError("Requested tokens (5000) exceed context window of 2048"),
            e.LLMContextLengthError,
        ),
        (ValueError("Failed to load model from file: x.gguf"), e.LLMConfigurationError),
        (RuntimeError("llama_decode returned -1"), e.LLMError),
    ],
)
def test_local_errors_are_classified(error: Exception, expected: type[e.LLMError]) -> None:
    """llama.cpp's plain exceptions become context-length, configuration or generic errors."""
    assert type(translate_local(error)) is expected


def test_retry_after_beyond_the_cap_stops_retrying() -> None:
    """A server asking to wait longer than max_retry_after is not waited for."""
    policy = RetryPolicy(max_attempts=5, max_retry_after=60)
    assert policy.delay_for(1, e.LLMRateLimitError("x", retry_after=600)) is None
    assert policy.delay_for(1, e.LLMRateLimitError("x", retry_after=3)) == 3
    assert policy.delay_for(5, e.LLMRateLimitError("x", retry_after=3)) is None


def test_anthropic_retry_after_http_date_is_understood() -> None:
    """retry-after given as an HTTP date yields a non-negative number of seconds."""
    assert anthropic_errors.parse_retry_after(None, "Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert anthropic_errors.parse_retry_after("1500", "9") == 1.5
