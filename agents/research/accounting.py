"""Token/cost accounting per step and per job, and coalescing of streamed text into chunks."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.llm.port import Usage
from agents.protocol import TokenUsage


@dataclass
class _StepUsage:
    usage: Usage = field(default_factory=Usage)
    cost_usd: float | None = None
    calls: int = 0


class UsageLedger:
    """Sums `Usage` (and `cost_usd` when the provider gives it) per step."""

    def __init__(self) -> None:
        self._steps: dict[str, _StepUsage] = {}

    def add(self, step: str, usage: Usage, cost_usd: float | None = None) -> None:
        entry = self._steps.setdefault(step, _StepUsage())
        entry.usage = entry.usage + usage
        entry.calls += 1
        if cost_usd is not None:
            entry.cost_usd = (entry.cost_usd or 0.0) + cost_usd

    def merge(self, other: UsageLedger) -> None:
        """Add every step of `other` (e.g. one research question's own ledger)."""
        for name, theirs in other._steps.items():
            entry = self._steps.setdefault(name, _StepUsage())
            entry.usage = entry.usage + theirs.usage
            entry.calls += theirs.calls
            if theirs.cost_usd is not None:
                entry.cost_usd = (entry.cost_usd or 0.0) + theirs.cost_usd

    @staticmethod
    def _token_usage(usage: Usage, cost: float | None) -> TokenUsage:
        return TokenUsage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            total_tokens=usage.total_tokens,
            cost_usd=round(cost, 6) if cost is not None else None,
        )

    def total(self) -> tuple[Usage, float | None]:
        usage = Usage()
        cost: float | None = None
        for entry in self._steps.values():
            usage = usage + entry.usage
            if entry.cost_usd is not None:
                cost = (cost or 0.0) + entry.cost_usd
        return usage, cost

    def report(self) -> dict[str, TokenUsage]:
        """Per step, plus "total"."""
        out = {name: self._token_usage(e.usage, e.cost_usd) for name, e in self._steps.items()}
        out["total"] = self._token_usage(*self.total())
        return out


class Coalescer:
    """Buffers small text deltas; `add()` returns a chunk once `min_chars` are buffered."""

    def __init__(self, min_chars: int) -> None:
        self.min_chars = max(1, min_chars)
        self._buf: list[str] = []
        self._size = 0

    def add(self, text: str) -> str | None:
        if not text:
            return None
        self._buf.append(text)
        self._size += len(text)
        if self._size >= self.min_chars:
            return self.flush()
        return None

    def flush(self) -> str | None:
        if not self._size:
            return None
        out = "".join(self._buf)
        self._buf, self._size = [], 0
        return out
