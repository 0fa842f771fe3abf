"""The embedded local model: llama-cpp-python in this process, off the event loop.

- one generation at a time: a single worker thread runs llama.cpp, an asyncio lock orders the
  callers; a caller that has to wait gets a `QueueWait` event first;
- the model is loaded (and its file joined/verified, see local_models.py) on first use;
- structured output is JSON-schema constrained decoding
  (`response_format={"type": "json_object", "schema": ...}`), validated again on arrival;
- cancelling the consumer stops the generation between two tokens.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.llm.base import RetryingProvider
from agents.llm.errors import (
    LLMConfigurationError,
    LLMContextLengthError,
    LLMError,
    LLMStructuredOutputError,
)
from agents.llm.local_models import LocalModelSource, ensure_model_file
from agents.llm.port import (
    Capabilities,
    Completed,
    CompletionRequest,
    CompletionResult,
    LLMEvent,
    QueueWait,
    TextDelta,
    Usage,
)
from agents.llm.retry import NO_RETRY
from agents.llm.structured import parse_structured
from agents.llm.threaded import ThreadedIterator

PROVIDER = "local"


@dataclass
class GenerationStats:
    """What the last generation did (for tests and benchmarks)."""

    output_tokens: int = 0
    stopped_early: bool = False
    finish_reason: str = ""


@dataclass(frozen=True)
class _Chunk:
    text: str
    finish_reason: str | None


class LocalLLM(RetryingProvider):
    PROVIDER = PROVIDER

    def __init__(
        self,
        source: LocalModelSource,
        *,
        data_dir: Path,
        # Limits
        n_ctx: int = 8192,
        n_threads: int | None = None,
        # Timeouts
        timeout: float = 900.0,
        loader: Callable[[Path], Any] | None = None,
    ) -> None:
        self._source = source
        self._data_dir = data_dir
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._timeout = timeout
        self._retry = NO_RETRY  # one generation at a time in-process: nothing to retry
        self._loader = loader or self._load_llama
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._lock = asyncio.Lock()
        self._waiting = 0
        self._llama: Any = None
        self.last_stats = GenerationStats()
        self._capabilities = Capabilities(
            web_search=False, structured_output="grammar", context_window=n_ctx
        )

    @property
    def model(self) -> str:
        return self._source.name

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _attempt(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        if self._lock.locked():
            self._waiting += 1
            started = time.monotonic()
            try:
                yield QueueWait(position=self._waiting, waited_seconds=0.0)
                await self._lock.acquire()
            finally:
                self._waiting -= 1
            yield QueueWait(position=0, waited_seconds=round(time.monotonic() - started, 3))
        else:
            await self._lock.acquire()
        try:
            async for event in self._generate(request):
                yield event
        finally:
            self._lock.release()

    async def _generate(self, request: CompletionRequest) -> AsyncIterator[LLMEvent]:
        loop = asyncio.get_running_loop()
        if self._llama is None:
            self._llama = await loop.run_in_executor(self._executor, self._load)
        llama = self._llama
        stats = GenerationStats()
        self.last_stats = stats
        kwargs = _chat_kwargs(request)
        n_before = 0

        def open_iter(stop: threading.Event) -> Iterator[_Chunk]:
            nonlocal n_before
            try:
                chunks = llama.create_chat_completion(**kwargs)
            except Exception as exc:
                raise translate(exc) from exc
            try:
                for chunk in chunks:
                    if stop.is_set():
                        stats.stopped_early = True
                        return
                    choice = chunk["choices"][0]
                    text = choice["delta"].get("content") or ""
                    if text:
                        stats.output_tokens += 1
                    yield _Chunk(text, choice.get("finish_reason"))
            except GeneratorExit:
                stats.stopped_early = True
                raise
            except Exception as exc:
                raise translate(exc) from exc
            finally:
                chunks.close()
                n_before = int(getattr(llama, "n_tokens", 0) or 0)

        texts: list[str] = []
        finish = "stop"
        async for chunk in ThreadedIterator(open_iter, executor=self._executor):
            if chunk.text:
                texts.append(chunk.text)
                yield TextDelta(chunk.text)
            if chunk.finish_reason:
                finish = chunk.finish_reason
        stats.finish_reason = finish
        text = "".join(texts)
        structured = None
        if request.json_schema is not None:
            if finish == "length":
                raise LLMStructuredOutputError(
                    "the structured output was cut off at max_tokens", provider=PROVIDER, raw=text
                )
            structured = parse_structured(text, request.json_schema, provider=PROVIDER)
        output_tokens = stats.output_tokens
        input_tokens = max(0, n_before - output_tokens)
        yield Completed(
            CompletionResult(
                text=text,
                usage=Usage(input_tokens=input_tokens, output_tokens=output_tokens),
                stop_reason=_STOP_REASONS.get(finish, finish),
                model=self.model,
                structured=structured,
                cost_usd=0.0,
            )
        )

    def _load(self) -> Any:
        try:
            path = ensure_model_file(self._source, self._data_dir)
            return self._loader(path)
        except LLMError:
            raise
        except Exception as exc:
            raise LLMConfigurationError(
                f"could not load local model {self.model}: {exc}", provider=PROVIDER
            ) from exc

    def _load_llama(self, path: Path) -> Any:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise LLMConfigurationError(
                'llama-cpp-python is not installed (pip install "qubitz[local]")',
                provider=PROVIDER,
            ) from exc
        return Llama(
            model_path=str(path), n_ctx=self._n_ctx, n_threads=self._n_threads, verbose=False
        )


_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens"}


def _chat_kwargs(request: CompletionRequest) -> dict[str, Any]:
    messages: list[dict[str, str]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages += [{"role": m.role, "content": m.content} for m in request.messages]
    kwargs: dict[str, Any] = {
        "messages": messages,
        "max_tokens": request.max_tokens,
        "stream": True,
    }
    if request.temperature is not None:
        kwargs["temperature"] = request.temperature
    if request.stop:
        kwargs["stop"] = list(request.stop)
    if request.json_schema is not None:
        kwargs["response_format"] = {"type": "json_object", "schema": dict(request.json_schema)}
    return kwargs


def translate(exc: Exception) -> LLMError:
    """llama.cpp raises plain ValueError/RuntimeError; classify them by what they say."""
    message = str(exc)
    lowered = message.lower()
    if "context" in lowered and "exceed" in lowered:
        return LLMContextLengthError(message, provider=PROVIDER)
    if isinstance(exc, (FileNotFoundError, ImportError)) or "failed to load model" in lowered:
        return LLMConfigurationError(message, provider=PROVIDER)
    return LLMError(f"local model failed: {message}", provider=PROVIDER)
