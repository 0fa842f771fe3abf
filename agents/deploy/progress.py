"""Deploy progress arithmetic: monotonic percentages and "Job - Step" messages.

Pure code, no I/O. A deploy reports progress from several sources (the pipeline's own stages,
then a CI run whose job and step lists grow while it runs); `ProgressTracker` maps them onto one
0..100 scale that never goes backwards, and reaches 100 only when told the deploy is done.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Progress", "ProgressTracker", "ProgressUpdate", "fraction_percent", "step_message"]


@dataclass(frozen=True)
class Progress:
    """One observation from a target: which job/step is running and how far the run is."""

    job: str
    step: str
    completed_steps: int
    total_steps: int
    status: str = "deploying"


@dataclass(frozen=True)
class ProgressUpdate:
    """What the client sees: a `status` event's data."""

    status: str
    message: str
    progress_percent: int


def step_message(job: str, step: str) -> str:
    """The reference's message format, `"<job> - <step>"`, tolerating empty parts."""
    job, step = job.strip(), step.strip()
    if job and step:
        return f"{job} - {step}"
    return job or step or "Deploying"


def fraction_percent(completed: int, total: int, *, low: int, high: int) -> int:
    """Map `completed/total` onto [low, high] (integer percent, floor)."""
    if not 0 <= low <= high <= 100:
        raise ValueError(f"need 0 <= low <= high <= 100, got {low}, {high}")
    if total <= 0:
        return low
    done = min(max(completed, 0), total)
    return low + (high - low) * done // total


class ProgressTracker:
    """Turns observations into non-decreasing `ProgressUpdate`s.

    `stage(percent, ...)` reports one of the pipeline's own stages at an absolute percentage.
    `observe(progress)` maps a target's completed/total steps into [run_low, run_high]; the total
    may grow between observations, so a computed value below the last one is held at the last.
    Only `done(...)` reaches 100; everything before is capped at `run_high` (< 100).
    """

    def __init__(self, *, run_low: int = 10, run_high: int = 99) -> None:
        if not 0 <= run_low <= run_high < 100:
            raise ValueError("need 0 <= run_low <= run_high < 100")
        self._low = run_low
        self._high = run_high
        self._percent = 0

    @property
    def percent(self) -> int:
        return self._percent

    def _emit(self, percent: int, status: str, message: str) -> ProgressUpdate:
        self._percent = max(self._percent, min(percent, 100))
        return ProgressUpdate(status=status, message=message, progress_percent=self._percent)

    def stage(
        self, percent: int, job: str, step: str, *, status: str = "deploying"
    ) -> ProgressUpdate:
        return self._emit(min(percent, self._high), status, step_message(job, step))

    def observe(self, progress: Progress) -> ProgressUpdate:
        pct = fraction_percent(
            progress.completed_steps, progress.total_steps, low=self._low, high=self._high
        )
        return self._emit(pct, progress.status, step_message(progress.job, progress.step))

    def done(self, job: str, step: str, *, status: str = "deployed") -> ProgressUpdate:
        return self._emit(100, status, step_message(job, step))
