"""Pure plan helpers: limit merging, quota periods, key material."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from agents.appkeys.plans import (
    hash_key,
    merge_limits,
    new_key_value,
    period_end,
    period_start,
)
from agents.appkeys.ports import LimitOverrides, PlanLimits
from agents.errors import InvalidRequest

BASE = PlanLimits(rate_limit=10.0, burst_limit=20)


def test_no_overrides_keep_the_plan() -> None:
    """An empty request means the app's plan, unchanged."""
    assert merge_limits(BASE, LimitOverrides()) == BASE


def test_quota_without_period_defaults_to_month() -> None:
    """quota_limit alone gets a monthly period; other limits come from the plan."""
    merged = merge_limits(BASE, LimitOverrides(quota_limit=100))
    assert merged == PlanLimits(
        rate_limit=10.0, burst_limit=20, quota_limit=100, quota_period="MONTH"
    )


def test_period_override_applies_to_the_plans_quota() -> None:
    """quota_period alone changes the period of the plan's quota."""
    base = PlanLimits(rate_limit=1.0, burst_limit=1, quota_limit=5, quota_period="MONTH")
    assert merge_limits(base, LimitOverrides(quota_period="DAY")).quota_period == "DAY"


def test_period_without_any_quota_is_invalid() -> None:
    """A period with nothing to apply it to is refused."""
    with pytest.raises(InvalidRequest):
        merge_limits(BASE, LimitOverrides(quota_period="WEEK"))


@pytest.mark.parametrize(
    ("period", "now", "start", "end"),
    [
        (
            "DAY",
            datetime(2025, 3, 5, 23, 59, tzinfo=UTC),
            date(2025, 3, 5),
            datetime(2025, 3, 6, tzinfo=UTC),
        ),
        (
            "WEEK",
            datetime(2025, 3, 5, 12, tzinfo=UTC),
            date(2025, 3, 3),
            datetime(2025, 3, 10, tzinfo=UTC),
        ),
        (
            "MONTH",
            datetime(2024, 12, 31, 12, tzinfo=UTC),
            date(2024, 12, 1),
            datetime(2025, 1, 1, tzinfo=UTC),
        ),
        (
            "MONTH",
            datetime(2024, 2, 29, tzinfo=UTC),
            date(2024, 2, 1),
            datetime(2024, 3, 1, tzinfo=UTC),
        ),
    ],
)
def test_quota_periods_are_utc_calendar_windows(
    period: str, now: datetime, start: date, end: datetime
) -> None:
    """DAY is the UTC day, WEEK starts Monday, MONTH the calendar month."""
    assert period_start(period, now) == start  # type: ignore[arg-type]
    assert period_end(period, now) == end  # type: ignore[arg-type]


def test_key_values_are_random_and_hashed_with_sha256() -> None:
    """Values are 40 alphanumerics, distinct; the stored form is SHA-256 hex."""
    a, b = new_key_value(), new_key_value()
    assert a != b
    assert len(a) == 40
    assert a.isalnum()
    assert hash_key("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
