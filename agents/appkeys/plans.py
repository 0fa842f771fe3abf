"""Pure helpers: key material, limit merging and quota periods (all times UTC)."""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import UTC, date, datetime, timedelta

from agents.appkeys.ports import LimitOverrides, PlanLimits, QuotaPeriod
from agents.errors import InvalidRequest

_ALNUM = string.ascii_letters + string.digits
_ID_ALPHABET = string.ascii_lowercase + string.digits

KEY_VALUE_LENGTH = 40  # same length and alphabet as API Gateway's generated keys


def new_key_value() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(KEY_VALUE_LENGTH))


def new_short_id(length: int = 10) -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def hash_key(value: str) -> str:
    """How local keys are stored and looked up: SHA-256 hex of the key value."""
    return hashlib.sha256(value.encode()).hexdigest()


def merge_limits(base: PlanLimits, overrides: LimitOverrides) -> PlanLimits:
    """The app's plan with the request's limits applied; checks the combination is coherent."""
    rate = overrides.rate_limit if overrides.rate_limit is not None else base.rate_limit
    burst = overrides.burst_limit if overrides.burst_limit is not None else base.burst_limit
    quota = overrides.quota_limit if overrides.quota_limit is not None else base.quota_limit
    period = overrides.quota_period if overrides.quota_period is not None else base.quota_period
    if quota is None and overrides.quota_period is not None:
        raise InvalidRequest(
            "quota_period needs quota_limit: the app's usage plan has no quota",
            code="invalid_limits",
        )
    if quota is not None and period is None:
        period = "MONTH"
    if quota is None:
        period = None
    return PlanLimits(rate_limit=rate, burst_limit=burst, quota_limit=quota, quota_period=period)


def period_start(period: QuotaPeriod, now: datetime) -> date:
    """First day of the quota period containing `now` (DAY; ISO week from Monday; month)."""
    today = now.astimezone(UTC).date()
    if period == "DAY":
        return today
    if period == "WEEK":
        return today - timedelta(days=today.weekday())
    return today.replace(day=1)


def period_end(period: QuotaPeriod, now: datetime) -> datetime:
    """When the quota period containing `now` ends (start of the next one), UTC."""
    start = period_start(period, now)
    if period == "DAY":
        nxt = start + timedelta(days=1)
    elif period == "WEEK":
        nxt = start + timedelta(days=7)
    else:
        nxt = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime(nxt.year, nxt.month, nxt.day, tzinfo=UTC)
