"""The one retry policy every provider uses, and the explicit per-attempt timeout.

A provider supplies `attempt()`: a function that opens one fresh stream of `LLMEvent`s and raises
only `LLMError`s (its errors are translated at its boundary). `retrying_stream` runs it:

- a retryable error (429, 529/overloaded, 5xx, connection, timeout) *before the first event of an
  attempt reached the caller* schedules another attempt, announced as a `RetryScheduled` event;
- the delay honours the server's `retry-after` when it gave one (capped at `max_retry_after`; a
  longer demand ends the retries), otherwise exponential backoff with jitter, capped at `max_delay`;
- attempts are bounded by `max_attempts`; when they run out `LLMRetriesExhaustedError` is raised
  with the last error as `last`;
- an error after output was already streamed is raised as it is: replaying would duplicate text;
- every wait on the provider counts against the attempt's deadline (`timeout` seconds from its
  start; time the caller spends between events does not count); past it `LLMTimeoutError`.

Cancelling the consuming task cancels the await on the provider, whose `finally` closes its stream.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from agents.llm.errors import LLMRetriesExhaustedError, LLMRetryableError, LLMTimeoutError
from agents.llm.port import LLMEvent, RetryScheduled

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    # Limits
    max_attempts: int = 4
    # Backoff
    base_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.25  # +/- fraction of the computed backoff
    # A retry-after longer than this is not waited for: the error is raised instead.
    max_retry_after: float = 120.0
    sleep: Sleep = field(default=asyncio.sleep, compare=False, repr=False)

    def delay_for(self, attempt: int, error: LLMRetryableError) -> float | None:
        """Seconds to wait after failed `attempt` (1-based), or None to stop retrying."""
        if attempt >= self.max_attempts:
            return None
        if error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return None
            return max(0.0, error.retry_after)
        backoff = min(self.max_delay, self.base_delay * self.multiplier ** (attempt - 1))
        spread = backoff * self.jitter
        return max(0.0, backoff + random.uniform(-spread, spread))


NO_RETRY = RetryPolicy(max_attempts=1)


async def retrying_stream(
    attempt: Callable[[], AsyncIterator[LLMEvent]],
    *,
    policy: RetryPolicy,
    attempt_timeout: float | None,
    provider: str,
) -> AsyncIterator[LLMEvent]:
    """Run `attempt` under the retry policy and the per-attempt timeout (see module docstring)."""
    number = 0
    while True:
        number += 1
        started = False
        stream = attempt()
        try:
            async for event in _with_deadline(stream, attempt_timeout, provider):
                started = True
                yield event
            return
        except LLMRetryableError as error:
            if started:
                raise
            delay = policy.delay_for(number, error)
            if delay is None:
                if policy.max_attempts == 1:
                    raise
                raise LLMRetriesExhaustedError(
                    f"{provider}: gave up after {number} attempt(s): {error.message}",
                    last=error,
                    attempts=number,
                ) from error
            yield RetryScheduled(attempt=number, delay=delay, reason=_reason(error))
            await policy.sleep(delay)
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()


async def _with_deadline(
    stream: AsyncIterator[LLMEvent], seconds: float | None, provider: str
) -> AsyncIterator[LLMEvent]:
    loop = asyncio.get_running_loop()
    deadline = None if seconds is None else loop.time() + seconds
    iterator = aiter(stream)
    while True:
        try:
            async with asyncio.timeout_at(deadline):
                event = await anext(iterator)
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise LLMTimeoutError(
                f"{provider}: no complete answer within {seconds} s", provider=provider
            ) from exc
        yield event


def _reason(error: LLMRetryableError) -> str:
    kind = type(error).__name__.removeprefix("LLM").removesuffix("Error")
    code = f" {error.status_code}" if error.status_code is not None else ""
    return f"{kind}{code}: {error.message}"[:300]
