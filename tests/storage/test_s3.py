"""S3ArtifactStore against moto's S3 server on loopback: real boto3 calls, real HTTP fetches."""

from __future__ import annotations

import asyncio
import json
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from agents.errors import InvalidRequest, NotFound
from server.storage import S3ArtifactStore, StorageError, build_store
from tests.storage.conftest import REGION, FlakyProxy, s3_admin

PDF = b"%PDF-1.7\n% test document\n"


def _store(endpoint: str, bucket: str, **kwargs: object) -> S3ArtifactStore:
    store = build_store(
        "s3",
        bucket=bucket,
        endpoint_url=endpoint,
        region=REGION,
        **kwargs,  # type: ignore[arg-type]
    )
    assert isinstance(store, S3ArtifactStore)
    return store


def _allow_public_reads(endpoint: str, bucket: str) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
            }
        ],
    }
    s3_admin(endpoint).put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def test_put_stores_object_with_content_type_and_public_url(
    moto_endpoint: str, bucket: str
) -> None:
    """put uploads the bytes with their content type under prefix+key and returns a path-style
    URL on the endpoint that serves the object over plain HTTP (the bucket's policy allows
    public reads, as the public URL style requires)."""
    _allow_public_reads(moto_endpoint, bucket)
    store = _store(moto_endpoint, bucket, prefix="reports/", url_style="public")
    stored = asyncio.run(store.put("ws1/p1/report.pdf", PDF, "application/pdf"))

    assert stored.key == "ws1/p1/report.pdf"
    assert stored.size == len(PDF)
    assert stored.content_type == "application/pdf"
    assert stored.url == f"{moto_endpoint}/{bucket}/reports/ws1/p1/report.pdf"

    head = s3_admin(moto_endpoint).head_object(Bucket=bucket, Key="reports/ws1/p1/report.pdf")
    assert head["ContentType"] == "application/pdf"

    response = httpx.get(stored.url)
    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"


def test_get_round_trip_and_missing_key(moto_endpoint: str, bucket: str) -> None:
    """get returns what put stored; a key that was never stored raises NotFound."""
    store = _store(moto_endpoint, bucket)

    async def main() -> bytes:
        await store.put(
            "ws/p/report.md", "# Hello ünïcode".encode(), "text/markdown; charset=utf-8"
        )
        return await store.get("ws/p/report.md")

    assert asyncio.run(main()).decode() == "# Hello ünïcode"
    with pytest.raises(NotFound):
        asyncio.run(store.get("ws/p/missing.md"))


def test_presigned_url_opens_the_object(moto_endpoint: str, bucket: str) -> None:
    """With url_style='presigned' the returned URL carries a signature and downloads the object
    over HTTP; key_for_url maps it back to the key."""
    store = _store(moto_endpoint, bucket, url_style="presigned", presign_ttl=600)
    stored = asyncio.run(store.put("ws/p/use_cases.md", b"# Use cases\n", "text/markdown"))

    query = urlsplit(stored.url).query
    assert "X-Amz-Signature=" in query
    assert "X-Amz-Expires=600" in query
    response = httpx.get(stored.url)
    assert response.status_code == 200
    assert response.content == b"# Use cases\n"
    assert store.key_for_url(stored.url) == "ws/p/use_cases.md"


def test_key_for_url_recognises_only_its_own_urls(moto_endpoint: str, bucket: str) -> None:
    """Own URLs (public, presigned, s3://) map back to keys; other buckets, hosts, prefixes and
    unsafe keys give None."""
    store = _store(moto_endpoint, bucket, prefix="pre")
    url = store.url_for("ws/p/a.md")
    assert store.key_for_url(url) == "ws/p/a.md"
    assert store.key_for_url(url + "?x=1#frag") == "ws/p/a.md"
    assert store.key_for_url(f"s3://{bucket}/pre/ws/p/a.md") == "ws/p/a.md"
    assert store.key_for_url(f"{moto_endpoint}/other-bucket/pre/ws/p/a.md") is None
    assert store.key_for_url(f"{moto_endpoint}/{bucket}/elsewhere/ws/p/a.md") is None
    assert store.key_for_url(f"http://127.0.0.2:1/{bucket}/pre/ws/p/a.md") is None
    assert store.key_for_url(f"{moto_endpoint}/{bucket}/pre/ws/%2e%2e/x.md") is None
    assert store.key_for_url("not a url") is None


def test_aws_style_urls() -> None:
    """Without a custom endpoint, public URLs are virtual-hosted
    https://<bucket>.s3.<region>.amazonaws.com/<key> and every AWS spelling maps back."""
    store = S3ArtifactStore("qubitz-research-reports", region="eu-west-1", url_style="public")
    url = store.url_for("ws/p/report.md")
    assert url == "https://qubitz-research-reports.s3.eu-west-1.amazonaws.com/ws/p/report.md"
    for own in (
        url,
        "https://qubitz-research-reports.s3.amazonaws.com/ws/p/report.md",
        "https://qubitz-research-reports.s3-eu-west-1.amazonaws.com/ws/p/report.md",
        "https://s3.eu-west-1.amazonaws.com/qubitz-research-reports/ws/p/report.md",
        "https://s3.amazonaws.com/qubitz-research-reports/ws/p/report.md?X-Amz-Signature=abc",
    ):
        assert store.key_for_url(own) == "ws/p/report.md", own
    for foreign in (
        "https://other.s3.eu-west-1.amazonaws.com/ws/p/report.md",
        "https://qubitz-research-reports.s3.eu-west-1.amazonaws.com.evil.example/ws/p/report.md",
        "http://qubitz-research-reports.s3.eu-west-1.amazonaws.com/ws/p/report.md",
        "https://qubitz-research-reports.evil.amazonaws.com/ws/p/report.md",
    ):
        assert store.key_for_url(foreign) is None, foreign
    dotted = S3ArtifactStore("reports.example.com", region="us-east-2", url_style="public")
    assert dotted.url_for("a.md") == "https://s3.us-east-2.amazonaws.com/reports.example.com/a.md"
    assert dotted.key_for_url(dotted.url_for("a.md")) == "a.md"


def test_invalid_keys_are_refused_before_any_request(flaky_proxy: FlakyProxy, bucket: str) -> None:
    """Keys with '..', absolute paths or other characters raise InvalidRequest and send
    nothing to S3."""
    store = _store(flaky_proxy.url, bucket)
    for bad in ("../x.md", "/abs.md", "a/../b.md", "a b.md", "a\\b.md", "", "a//b.md", "a/.hidden"):
        with pytest.raises(InvalidRequest):
            asyncio.run(store.put(bad, b"x", "text/plain"))
    assert flaky_proxy.requests == []


def test_bad_configuration_is_rejected() -> None:
    """Invalid bucket names, url styles and TTLs fail at construction."""
    with pytest.raises(ValueError, match="bucket"):
        S3ArtifactStore("Bad_Bucket", region=REGION)
    with pytest.raises(ValueError, match="url_style"):
        S3ArtifactStore("good-bucket", region=REGION, url_style="signed")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="presign_ttl"):
        S3ArtifactStore("good-bucket", region=REGION, presign_ttl=0)
    with pytest.raises(ValueError, match="bucket"):
        build_store("s3")


def test_connection_refused_raises_storage_error() -> None:
    """An unreachable endpoint ends, after the bounded retries, in StorageError(upload_failed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = S3ArtifactStore(
        "some-bucket",
        endpoint_url=f"http://127.0.0.1:{port}",
        region=REGION,
        attempts=2,
        botocore_attempts=1,
        retry_base_delay=0.01,
        connect_timeout=1.0,
    )
    with pytest.raises(StorageError) as info:
        asyncio.run(store.put("ws/p/a.md", b"x", "text/markdown"))
    assert info.value.code == "upload_failed"
    assert "2 attempt(s)" in info.value.message


def test_urls_are_presigned_by_default(moto_endpoint: str, bucket: str) -> None:
    """Without url_style the store hands out presigned, expiring URLs; the bare object URL is
    refused by the bucket (no public read policy)."""
    store = _store(moto_endpoint, bucket)
    stored = asyncio.run(store.put("ws/p/a.md", b"secret", "text/markdown"))
    assert "X-Amz-Signature=" in stored.url and "X-Amz-Expires=" in stored.url
    assert httpx.get(stored.url).content == b"secret"
    assert httpx.get(stored.url.split("?", 1)[0]).status_code == 403
