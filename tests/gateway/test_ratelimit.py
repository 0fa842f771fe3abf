"""Token bucket arithmetic with an explicit clock."""

from __future__ import annotations

from server.gateway.ratelimit import BucketRegistry, TokenBucket, retry_after_header


def test_bucket_allows_burst_then_refills_at_rate() -> None:
    """burst requests pass at once; the next waits 1/rate; after that time one more passes."""
    bucket = TokenBucket(rate=2.0, burst=3, updated=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == 0.5
    assert bucket.take(0.5) == 0.0
    assert bucket.take(0.5) > 0


def test_bucket_never_holds_more_than_burst() -> None:
    """A long idle period does not bank more than `burst` tokens."""
    bucket = TokenBucket(rate=100.0, burst=2, updated=0.0)
    granted = [bucket.take(1000.0) == 0.0 for _ in range(5)]
    assert granted == [True, True, False, False, False]


def test_registry_keeps_one_bucket_per_key_and_forgets() -> None:
    """Keys do not share tokens; forgetting a key resets its bucket."""
    now = [0.0]
    reg = BucketRegistry(clock=lambda: now[0])
    assert reg.take("a", rate=1.0, burst=1) == 0.0
    assert reg.take("a", rate=1.0, burst=1) > 0
    assert reg.take("b", rate=1.0, burst=1) == 0.0
    reg.forget("a")
    assert reg.take("a", rate=1.0, burst=1) == 0.0


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    """Retry-After rounds up and is never 0."""
    assert [retry_after_header(w) for w in (0.01, 1.0, 1.2, 99.5)] == ["1", "1", "2", "100"]
