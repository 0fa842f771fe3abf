"""Progress arithmetic: monotonic, bounded, and formatted as "Job - Step"."""

from __future__ import annotations

import random

import pytest

from agents.deploy.progress import Progress, ProgressTracker, fraction_percent, step_message


def test_message_joins_job_and_step() -> None:
    """Messages follow the reference's "<job> - <step>" format."""
    assert step_message("Deploy CDK", "Deploy with CDK") == "Deploy CDK - Deploy with CDK"
    assert step_message("Deploy CDK", "") == "Deploy CDK"
    assert step_message("", "Checkout") == "Checkout"


def test_fraction_maps_into_range() -> None:
    """completed/total is mapped linearly onto [low, high] and clamped."""
    assert fraction_percent(0, 4, low=10, high=90) == 10
    assert fraction_percent(2, 4, low=10, high=90) == 50
    assert fraction_percent(4, 4, low=10, high=90) == 90
    assert fraction_percent(9, 4, low=10, high=90) == 90
    assert fraction_percent(3, 0, low=10, high=90) == 10
    with pytest.raises(ValueError, match="low"):
        fraction_percent(1, 2, low=50, high=40)


def test_growing_total_never_lowers_percentage() -> None:
    """When a CI run reveals more steps, the reported percentage holds instead of dropping."""
    tracker = ProgressTracker(run_low=10, run_high=99)
    first = tracker.observe(Progress("Build", "Install", completed_steps=3, total_steps=4))
    second = tracker.observe(Progress("Deploy", "Set up job", completed_steps=4, total_steps=12))
    assert second.progress_percent == first.progress_percent
    assert second.message == "Deploy - Set up job"


def test_only_done_reaches_100() -> None:
    """All steps completed is still below 100; done() is what reports 100."""
    tracker = ProgressTracker(run_low=10, run_high=95)
    full = tracker.observe(Progress("Deploy", "Post", completed_steps=5, total_steps=5))
    assert full.progress_percent == 95
    assert tracker.stage(100, "Deploy", "x").progress_percent == 95
    end = tracker.done("Deploy", "Finished")
    assert end.progress_percent == 100
    assert end.status == "deployed"


def test_random_observations_are_monotonic_and_bounded() -> None:
    """Over many random stages and observations the sequence never decreases and stays in 0..100."""
    rng = random.Random(7)
    for _ in range(50):
        tracker = ProgressTracker(run_low=rng.randint(0, 30), run_high=rng.randint(31, 99))
        seen: list[int] = []
        for _ in range(40):
            if rng.random() < 0.3:
                upd = tracker.stage(rng.randint(-10, 120), "Job", "Step")
            else:
                total = rng.randint(0, 20)
                upd = tracker.observe(Progress("Job", "Step", rng.randint(-2, total + 2), total))
            seen.append(upd.progress_percent)
        seen.append(tracker.done("Job", "Done").progress_percent)
        assert seen == sorted(seen)
        assert all(0 <= p <= 100 for p in seen)
        assert seen[-1] == 100
