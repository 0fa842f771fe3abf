"""The embedded local provider (llama-cpp-python in process) with the tiny SmolLM2 model."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.llm.errors import LLMConfigurationError, LLMStructuredOutputError
from agents.llm.local import LocalLLM
from agents.llm.local_models import TINY, FileModel
from agents.llm.port import (
    Completed,
    CompletionRequest,
    LLMEvent,
    Message,
    QueueWait,
    TextDelta,
    complete,
    structured,
)
from tests.llm.needs import needs_tiny_model

pytestmark = [
    pytest.mark.anyio,
    needs_tiny_model,
]

SCHEMA = {
    "type": "object",
    "properties": {"language": {"type": "string"}, "rating": {"type": "integer"}},
    "required": ["language", "rating"],
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLLM]:
    llm = LocalLLM(TINY, data_dir=tmp_path_factory.mktemp("data"), n_ctx=2048)
    yield llm
    llm.close()


def ask(text: str, **kw: object) -> CompletionRequest:
    return CompletionRequest(
        system="You are brief.",
        messages=[Message("user", text)],
        temperature=0.0,
        **kw,  # type: ignore[arg-type]
    )


async def test_streams_deltas_then_a_result_with_token_usage(tiny: LocalLLM) -> None:
    """A completion streams text deltas whose concatenation is the final text, with usage."""
    events = [e async for e in tiny.stream(ask("Name a colour.", max_tokens=12))]
    deltas = "".join(e.text for e in events if isinstance(e, TextDelta))
    final = events[-1]
    assert isinstance(final, Completed)
    assert deltas
    assert final.result.text == deltas
    assert 0 < final.result.usage.output_tokens <= 12
    assert final.result.usage.input_tokens > 5
    assert final.result.stop_reason in {"end_turn", "max_tokens"}
    assert final.result.model == TINY.name


async def test_structured_output_is_schema_valid_json(tiny: LocalLLM) -> None:
    """Constrained decoding yields an object that validates against the request's schema."""
    value = await structured(tiny, ask("Rate Python as JSON.", max_tokens=48, json_schema=SCHEMA))
    assert isinstance(value["language"], str)
    assert isinstance(value["rating"], int)
    stats = tiny.last_stats
    assert stats.grammar_checked >= stats.output_tokens > 0, "every token went by the grammar"
    assert 0 <= stats.grammar_resampled <= stats.grammar_checked


async def test_structured_output_cut_off_by_max_tokens_is_refused(tiny: LocalLLM) -> None:
    """JSON truncated at max_tokens raises LLMStructuredOutputError rather than a partial dict."""
    with pytest.raises(LLMStructuredOutputError):
        await complete(tiny, ask("Rate Python as JSON.", max_tokens=3, json_schema=SCHEMA))


async def test_second_caller_waits_its_turn_with_a_queue_wait_event(tiny: LocalLLM) -> None:
    """While one generation runs, another caller first gets QueueWait, then its own result."""
    first_started = asyncio.Event()

    async def first() -> list[LLMEvent]:
        out: list[LLMEvent] = []
        async for e in tiny.stream(ask("Count to twenty.", max_tokens=40)):
            first_started.set()
            out.append(e)
        return out

    async def second() -> list[LLMEvent]:
        await first_started.wait()
        return [e async for e in tiny.stream(ask("Say hi.", max_tokens=8))]

    a, b = await asyncio.gather(first(), second())
    assert not any(isinstance(e, QueueWait) for e in a)
    waits = [e for e in b if isinstance(e, QueueWait)]
    assert waits
    assert waits[0].position == 1
    assert isinstance(b[-1], Completed)
    # the second generation started only after the first finished
    assert b.index(waits[-1]) < next(
        i for i, e in enumerate(b) if isinstance(e, (TextDelta, Completed))
    )


async def test_cancelling_the_consumer_stops_the_generation(tiny: LocalLLM) -> None:
    """Cancelling after two deltas stops llama.cpp well before max_tokens."""
    got_two = asyncio.Event()

    async def consume() -> None:
        n = 0
        async for e in tiny.stream(ask("Write a long story about a cat.", max_tokens=400)):
            if isinstance(e, TextDelta):
                n += 1
                if n == 2:
                    got_two.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_two.wait(), 60)
    cancelled = tiny.last_stats
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # the next generation can only run once the cancelled one has let go of the model
    result = await complete(tiny, ask("Say ok.", max_tokens=4))
    assert result.text
    assert cancelled.stopped_early
    assert cancelled.output_tokens < 400
    assert cancelled.finish_reason == ""  # it never reached a finish


async def test_missing_model_file_is_a_configuration_error(tmp_path: Path) -> None:
    """A .gguf path that does not exist fails with LLMConfigurationError on first use."""
    llm = LocalLLM(FileModel("file", "nope", tmp_path / "nope.gguf"), data_dir=tmp_path)
    try:
        with pytest.raises(LLMConfigurationError):
            await complete(llm, ask("hi", max_tokens=2))
    finally:
        llm.close()


# A system prompt long enough that re-evaluating it shows in llama.cpp's counters.
LONG_SYSTEM = "You design small software systems. " + " ".join(
    f"Rule {i}: keep component {i} simple and name it clearly." for i in range(25)
)


def turn(system: str, text: str) -> CompletionRequest:
    return CompletionRequest(
        system=system, messages=[Message("user", text)], temperature=0.0, max_tokens=12
    )


async def run_interleaved(llm: LocalLLM) -> tuple[str, int, int]:
    """A job on LONG_SYSTEM, an unrelated call, then another job on LONG_SYSTEM.

    Returns the last call's text, prompt tokens and prompt tokens llama.cpp evaluated."""
    await complete(llm, turn(LONG_SYSTEM, "Design a todo list."))
    await complete(llm, turn("You answer questions about a report.", "Who approves invoices?"))
    result = await complete(llm, turn(LONG_SYSTEM, "Design a photo album."))
    return result.text, result.usage.input_tokens, llm.last_stats.prompt_evaluated


def fresh_tiny(tmp_path: Path, cache_bytes: int) -> LocalLLM:
    return LocalLLM(TINY, data_dir=tmp_path, n_ctx=2048, prompt_cache_bytes=cache_bytes)


async def test_prompt_cache_restores_a_shared_prefix_after_an_unrelated_call(
    tmp_path: Path,
) -> None:
    """With the prompt cache, a job whose system prompt another job evaluated earlier evaluates
    only what follows it, even though an unrelated call ran in between; the text is the same
    as without the cache (greedy decoding from the restored KV state)."""
    cached, plain = fresh_tiny(tmp_path, 64 * 2**20), fresh_tiny(tmp_path, 0)
    try:
        text, prompt, evaluated = await run_interleaved(cached)
        plain_text, plain_prompt, plain_evaluated = await run_interleaved(plain)
    finally:
        cached.close()
        plain.close()
    assert prompt == plain_prompt > 250
    assert plain_evaluated >= prompt - 5  # without the cache the whole prompt is evaluated
    assert evaluated < 40  # with it, only the user turn
    assert text == plain_text


async def test_prompt_cache_keeps_nothing_beyond_its_capacity(tmp_path: Path) -> None:
    """An entry larger than the capacity is not kept: the third call evaluates everything."""
    llm = fresh_tiny(tmp_path, 4096)
    try:
        _, prompt, evaluated = await run_interleaved(llm)
    finally:
        llm.close()
    assert evaluated >= prompt - 5
