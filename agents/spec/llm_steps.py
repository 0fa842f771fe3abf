"""The two model steps every spec pipeline uses: a streamed draft, then validated JSON.

`structured_with_repair` asks for structured output, converts and validates it, and on failure
sends the errors back to the model for at most `max_repairs` further attempts. Every call is
read through `ModelStream`, so it yields the calls' `Notice`s (retries, queue waits) as they
happen, and last the `Attempted` value; the caller turns the notices into status events.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from agents.llm.port import LLM, CompletionRequest, CompletionResult, Message
from agents.llm.stream import ModelStream, Notice
from agents.spec.prompts import repair_message
from agents.spec.validation import SpecValidationError, extract_json_object

T = TypeVar("T")


class SpecGenerationFailed(Exception):
    """The model did not produce a valid result within the attempts allowed."""

    def __init__(self, message: str, errors: Sequence[str], attempts: int):
        super().__init__(message)
        self.message = message
        self.errors = list(errors)
        self.attempts = attempts


@dataclass(frozen=True)
class Attempted(Generic[T]):
    value: T
    attempts: int  # 1 = valid at the first try
    text: str = ""  # the reply the value came from, as the model wrote it


def reply_object(result: CompletionResult) -> dict[str, Any]:
    """The JSON object in a structured reply; raw text first (to catch duplicate keys)."""
    obj = extract_json_object(result.text)
    if obj is None:
        obj = result.structured
    if obj is None:
        raise SpecValidationError(["the reply holds no JSON object; return one JSON object"])
    return obj


def _echo(result: CompletionResult) -> str:
    if result.text.strip():
        return result.text
    return json.dumps(result.structured) if result.structured is not None else "(empty reply)"


async def structured_with_repair(
    llm: LLM,
    request: CompletionRequest,
    convert: Callable[[dict[str, Any]], T],
    *,
    max_repairs: int,
    repair: Callable[[Sequence[str]], str] = repair_message,
) -> AsyncIterator[Notice | Attempted[T]]:
    """Ask, convert (raising SpecValidationError on bad output), repair up to `max_repairs`.
    Yields each call's notices, then one `Attempted`; raises SpecGenerationFailed (still
    invalid) or LLMError (the provider failed, retries included)."""
    messages = list(request.messages)
    errors: list[str] = []
    attempts = 0
    for attempt in range(max_repairs + 1):
        attempts = attempt + 1
        stream = ModelStream(llm, replace(request, messages=tuple(messages)))
        async for item in stream:
            if isinstance(item, Notice):
                yield item
        result = await stream.final_result()
        try:
            value = convert(reply_object(result))
        except SpecValidationError as exc:
            errors = exc.errors or [str(exc)]
        else:
            yield Attempted(value, attempts, _echo(result))
            return
        messages += [
            Message("assistant", _echo(result)),
            Message("user", repair(errors)),
        ]
    raise SpecGenerationFailed(
        f"The model's spec was still invalid after {max_repairs} repair attempt(s).",
        errors,
        attempts,
    )
