"""S3 retries against a real loopback peer that fails some requests before forwarding to moto."""

from __future__ import annotations

import asyncio

import pytest

from server.storage import S3ArtifactStore, StorageError
from tests.storage.conftest import REGION, FlakyProxy, s3_admin


def _store(
    proxy: FlakyProxy, bucket: str, *, attempts: int, botocore_attempts: int
) -> S3ArtifactStore:
    return S3ArtifactStore(
        bucket,
        region=REGION,
        endpoint_url=proxy.url,
        attempts=attempts,
        botocore_attempts=botocore_attempts,
        retry_base_delay=0.01,
    )


def _stored(proxy: FlakyProxy, bucket: str, key: str) -> bytes:
    return s3_admin(proxy.upstream).get_object(Bucket=bucket, Key=key)["Body"].read()


def test_own_retry_recovers_from_503s(flaky_proxy: FlakyProxy, bucket: str) -> None:
    """With botocore retries off, the store's own bounded retry gets past two 503 SlowDown
    answers and the third attempt stores the object."""
    flaky_proxy.fail_first = 2
    store = _store(flaky_proxy, bucket, attempts=3, botocore_attempts=1)
    stored = asyncio.run(store.put("ws/p/r.md", b"# report", "text/markdown"))
    assert stored.key == "ws/p/r.md"
    assert [r.split()[0] for r in flaky_proxy.requests] == ["PUT", "PUT", "PUT"]
    assert _stored(flaky_proxy, bucket, "ws/p/r.md") == b"# report"


def test_botocore_retry_recovers_from_a_500(flaky_proxy: FlakyProxy, bucket: str) -> None:
    """botocore's retry configuration alone retries a 500 InternalError."""
    flaky_proxy.fail_first = 1
    flaky_proxy.status = 500
    flaky_proxy.error_code = "InternalError"
    store = _store(flaky_proxy, bucket, attempts=1, botocore_attempts=2)
    asyncio.run(store.put("ws/p/r.pdf", b"%PDF-1.7", "application/pdf"))
    assert len(flaky_proxy.requests) == 2
    assert _stored(flaky_proxy, bucket, "ws/p/r.pdf") == b"%PDF-1.7"


def test_persistent_failure_is_bounded_and_raises(flaky_proxy: FlakyProxy, bucket: str) -> None:
    """A peer that always answers 503 gets exactly attempts x botocore_attempts requests, then
    put raises StorageError(upload_failed) naming the S3 error."""
    flaky_proxy.fail_always = True
    store = _store(flaky_proxy, bucket, attempts=2, botocore_attempts=2)
    with pytest.raises(StorageError) as info:
        asyncio.run(store.put("ws/p/r.md", b"x", "text/markdown"))
    assert info.value.code == "upload_failed"
    assert "SlowDown" in info.value.message
    assert len(flaky_proxy.requests) == 4


def test_permanent_errors_are_not_retried(flaky_proxy: FlakyProxy) -> None:
    """A missing bucket (404 NoSuchBucket) fails at once: one request, StorageError."""
    store = _store(flaky_proxy, "no-such-bucket-here", attempts=3, botocore_attempts=3)
    with pytest.raises(StorageError, match="NoSuchBucket"):
        asyncio.run(store.put("ws/p/r.md", b"x", "text/markdown"))
    assert len(flaky_proxy.requests) == 1


def test_get_retries_then_reads(flaky_proxy: FlakyProxy, bucket: str) -> None:
    """get is retried like put: a 503 first, then the object's bytes."""
    s3_admin(flaky_proxy.upstream).put_object(Bucket=bucket, Key="ws/p/a.md", Body=b"abc")
    flaky_proxy.fail_first = 1
    store = _store(flaky_proxy, bucket, attempts=2, botocore_attempts=1)
    assert asyncio.run(store.get("ws/p/a.md")) == b"abc"
    assert len(flaky_proxy.requests) == 2
