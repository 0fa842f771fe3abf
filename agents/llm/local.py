"""The embedded local model: llama-cpp-python in this process, off the event loop.

- one generation at a time: a single worker thread runs llama.cpp, an asyncio lock orders the
  callers; a caller that has to wait gets a `QueueWait` event first;
- the model is loaded (and its file joined/verified, see local_models.py) on first use;
- structured output is decoded under a GBNF grammar generated from the request's exact schema
  (llama.cpp's JSON-schema converter, every object closed with `additionalProperties: false`,
  see structured.closed_schema), so the model can only write values the schema admits; the
  result is validated again on arrival;
- consecutive calls that share a prompt prefix reuse its evaluated tokens (llama.cpp keeps the
  last prompt's KV cache); `last_stats` says how many prompt tokens were evaluated and how long
  prompt evaluation and generation took;
- with `prompt_cache_bytes`, the KV state after each call is also kept in a RAM cache
  (llama-cpp-python's `LlamaRAMCache`, least recently used out first), so a call whose prompt
  extends an earlier one's (the same system prompt in another job, the next chat turn after a
  spec job ran in between) restores that state instead of evaluating the prefix again. Only the
  sequence's KV cells are kept (`llama_state_seq_get_data`, about 28 KB per token for the 1.5B
  model), not llama-cpp-python's full state, which copies a 512 x vocabulary float array (311 MB
  for Qwen2.5) with every entry;
- cancelling the consumer stops the generation between two tokens.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.llm.base import RetryingProvider
from agents.llm.config import LLMConfig
from agents.llm.cpu_cores import generation_threads
from agents.llm.errors import (
    LLMConfigurationError,
    LLMContextLengthError,
    LLMError,
    LLMStructuredOutputError,
)
from agents.llm.local_models import (
    LocalModelSource,
    availability,
    ensure_model_file,
    select_model,
)
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
from agents.llm.provider_spec import BuildContext, ProviderDeclaration
from agents.llm.retry import NO_RETRY
from agents.llm.structured import closed_schema, parse_structured
from agents.llm.threaded import ThreadedIterator

PROVIDER = "local"


def capabilities_for(*, n_ctx: int = 8192) -> Capabilities:
    """What the embedded model does: grammar-constrained structured output in an `n_ctx` window;
    no web search; the evaluated prefix is reused, which is not the API's prompt caching."""
    return Capabilities(web_search=False, structured_output="grammar", context_window=n_ctx)


@dataclass
class GenerationStats:
    """What the last generation did (for tests and benchmarks)."""

    output_tokens: int = 0
    stopped_early: bool = False
    finish_reason: str = ""
    prompt_tokens: int = 0  # the whole prompt, reused prefix included
    prompt_evaluated: int = 0  # prompt tokens llama.cpp had to evaluate (the rest was reused)
    prompt_seconds: float = 0.0
    generation_seconds: float = 0.0
    grammar_checked: int = 0  # tokens sampled under a grammar (agents/llm/grammar_sampler.py)
    grammar_resampled: int = 0  # of which the grammar rejected the unconstrained choice


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
        prompt_cache_bytes: int = 0,
        prompt_lookup_tokens: int = 0,
        loader: Callable[[Path], Any] | None = None,
    ) -> None:
        self._source = source
        self._data_dir = data_dir
        self._n_ctx = n_ctx
        self._n_threads = n_threads
        self._timeout = timeout
        self._prompt_cache_bytes = prompt_cache_bytes
        self._prompt_lookup_tokens = prompt_lookup_tokens
        self._retry = NO_RETRY  # one generation at a time in-process: nothing to retry
        self._loader = loader or self._load_llama
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        self._lock = asyncio.Lock()
        self._waiting = 0
        self._llama: Any = None
        self.last_stats = GenerationStats()
        self._capabilities = capabilities_for(n_ctx=n_ctx)

    @property
    def model(self) -> str:
        return self._source.name

    @property
    def prompt_cache_bytes(self) -> int:
        """RAM the cross-call prompt cache may hold (0: no cache, only the last prompt's KV)."""
        return self._prompt_cache_bytes

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
        if request.json_schema is not None:
            kwargs["grammar"] = await loop.run_in_executor(
                self._executor, schema_grammar, canonical_schema(request.json_schema)
            )
        n_before = 0

        def open_iter(stop: threading.Event) -> Iterator[_Chunk]:
            nonlocal n_before
            perf = _Perf(llama)
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
                perf.read(stats)
                sampler = getattr(llama, "_sampler", None)
                stats.grammar_checked = int(getattr(sampler, "checked", 0))
                stats.grammar_resampled = int(getattr(sampler, "resampled", 0))

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
            structured = parse_structured(
                text, closed_schema(request.json_schema), provider=PROVIDER
            )
        output_tokens = stats.output_tokens
        input_tokens = max(0, n_before - output_tokens)
        stats.prompt_tokens = input_tokens
        reused = max(0, input_tokens - stats.prompt_evaluated) if stats.prompt_evaluated else 0
        yield Completed(
            CompletionResult(
                text=text,
                usage=Usage(
                    input_tokens=input_tokens, output_tokens=output_tokens, cache_read_tokens=reused
                ),
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
            llama_class = _sequence_state_llama()
        except ImportError as exc:
            raise LLMConfigurationError(
                'llama-cpp-python is not installed (pip install "qubitz[local]")',
                provider=PROVIDER,
            ) from exc
        extra: dict[str, Any] = {}
        if self._prompt_lookup_tokens:
            # Speculative decoding drafts from n-grams of the context; llama-cpp-python then
            # needs the logits of every position (logits_all), see docs/benchmarks.md.
            from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

            extra["draft_model"] = LlamaPromptLookupDecoding(
                num_pred_tokens=self._prompt_lookup_tokens
            )
            extra["logits_all"] = True
        llama = llama_class(
            model_path=str(path),
            n_ctx=self._n_ctx,
            n_threads=self._n_threads or generation_threads(),
            verbose=False,
            **extra,
        )
        if self._prompt_cache_bytes > 0:
            from llama_cpp.llama_cache import LlamaRAMCache

            llama.set_cache(LlamaRAMCache(capacity_bytes=self._prompt_cache_bytes))
        return llama


@functools.cache
def _sequence_state_llama() -> type[Any]:
    """`Llama` whose saved state (what its prompt cache keeps) is the KV cache of sequence 0.

    llama-cpp-python's own `save_state` also copies its score buffer (n_batch x n_vocab floats,
    311 MB for Qwen2.5's 151,936-token vocabulary) into every cache entry, uncounted by the
    cache's capacity. Restored logits are never needed here: after a restore, generation always
    evaluates at least the last prompt token again (`_requires_eval`).
    """
    import ctypes

    import llama_cpp
    from llama_cpp import Llama

    from agents.llm.grammar_sampler import GrammarCheckedSampler  # numpy: with llama_cpp only

    class SequenceStateLlama(Llama):
        def _init_sampler(self, **kwargs: Any) -> Any:  # type: ignore[override]
            # The grammar checks the sampled token instead of filtering the whole vocabulary
            # first (agents/llm/grammar_sampler.py): about 1.5x faster constrained decoding.
            grammar = kwargs.pop("grammar", None)
            free = super()._init_sampler(**kwargs)
            if grammar is None:
                return free
            return GrammarCheckedSampler(self, free, grammar)

        def save_state(self) -> Any:  # a _SequenceState
            ctx = self._ctx.ctx
            size = int(llama_cpp.llama_state_seq_get_size(ctx, 0))
            buffer = (ctypes.c_uint8 * size)()
            written = int(llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0))
            return _SequenceState(self.input_ids[: self.n_tokens].copy(), buffer, written)

        def load_state(self, state: Any) -> None:
            if not isinstance(state, _SequenceState):
                super().load_state(state)
                return
            self._ctx.kv_cache_seq_rm(-1, -1, -1)
            ctx = self._ctx.ctx
            size = state.llama_state_size
            if int(llama_cpp.llama_state_seq_set_data(ctx, state.data, size, 0)) != size:
                self._ctx.kv_cache_seq_rm(-1, -1, -1)
                self.n_tokens = 0  # nothing restored: the prompt is evaluated in full
                return
            n = len(state.input_ids)
            self.input_ids[:n] = state.input_ids
            self.n_tokens = n
            self._requires_eval = True

    return SequenceStateLlama


@dataclass(frozen=True)
class _SequenceState:
    """One prompt-cache entry: the evaluated tokens and their KV cells."""

    input_ids: Any  # numpy array of the evaluated tokens (LlamaRAMCache matches prefixes on it)
    data: Any  # ctypes buffer from llama_state_seq_get_data
    llama_state_size: int  # bytes; what LlamaRAMCache counts against its capacity


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
    return kwargs


def canonical_schema(schema: Mapping[str, Any]) -> str:
    return json.dumps(closed_schema(schema), sort_keys=False, separators=(",", ":"))


@functools.lru_cache(maxsize=32)
def schema_grammar(schema_json: str) -> Any:
    """The llama.cpp grammar for a JSON schema (built once per distinct schema)."""
    from llama_cpp.llama_grammar import LlamaGrammar

    try:
        return LlamaGrammar.from_json_schema(schema_json, verbose=False)
    except Exception as exc:
        raise LLMStructuredOutputError(
            f"the schema cannot be turned into a grammar: {exc}", provider=PROVIDER
        ) from exc


class _Perf:
    """llama.cpp's own counters (prompt tokens evaluated, prompt and generation time)."""

    def __init__(self, llama: Any) -> None:
        self._ctx = getattr(getattr(llama, "_ctx", None), "ctx", None)
        self._started = time.monotonic()
        if self._ctx is not None:
            import llama_cpp

            llama_cpp.llama_perf_context_reset(self._ctx)

    def read(self, stats: GenerationStats) -> None:
        elapsed = time.monotonic() - self._started
        if self._ctx is None:
            stats.generation_seconds = round(elapsed, 3)
            return
        import llama_cpp

        data = llama_cpp.llama_perf_context(self._ctx)
        stats.prompt_evaluated = int(data.n_p_eval)
        stats.prompt_seconds = round(data.t_p_eval_ms / 1000, 3)
        stats.generation_seconds = round(max(0.0, elapsed - stats.prompt_seconds), 3)


def translate(exc: Exception) -> LLMError:
    """llama.cpp raises plain ValueError/RuntimeError; classify them by what they say."""
    message = str(exc)
    lowered = message.lower()
    if "context" in lowered and "exceed" in lowered:
        return LLMContextLengthError(message, provider=PROVIDER)
    if isinstance(exc, (FileNotFoundError, ImportError)) or "failed to load model" in lowered:
        return LLMConfigurationError(message, provider=PROVIDER)
    return LLMError(f"local model failed: {message}", provider=PROVIDER)


def _problem(_config: LLMConfig, model: str) -> str:
    try:
        select_model(model)
    except LLMConfigurationError as exc:
        return exc.message
    return ""


def _build(ctx: BuildContext) -> LocalLLM:
    c = ctx.config
    return LocalLLM(
        select_model(ctx.model),
        data_dir=c.data_dir,
        n_ctx=c.local_n_ctx,
        n_threads=c.local_threads,
        timeout=c.timeout,
        prompt_cache_bytes=c.local_prompt_cache_mb * 2**20,
    )


def _usable(config: LLMConfig, model: str) -> tuple[bool, str]:
    if importlib.util.find_spec("llama_cpp") is None:
        return False, 'llama-cpp-python is not installed (pip install "qubitz[local]")'
    return availability(select_model(model), config.data_dir)


def _label(model: str) -> str:
    source = select_model(model)
    return f"{model} ({source.name})" if source.name != model else model


DECLARATION = ProviderDeclaration(
    name="local",
    capabilities=lambda config, _model: capabilities_for(n_ctx=config.local_n_ctx),
    problem=_problem,
    build=_build,
    where=lambda _c: "embedded llama.cpp",
    usable=_usable,
    label=_label,
)
