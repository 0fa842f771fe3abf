"""The S3 artifact store (boto3 in worker threads, bounded retries, public or presigned URLs)."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, TypeVar
from urllib.parse import quote, unquote, urlsplit

from agents.artifacts import StoredArtifact
from agents.errors import NotFound
from server.storage.keys import StorageError, is_valid_key, validate_key

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

T = TypeVar("T")

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_AWS_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")

_TRANSIENT_CODES = {
    "InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "Throttling",
    "ThrottlingException", "RequestLimitExceeded", "BadGateway", "GatewayTimeout",
}  # fmt: skip


def _is_transient(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        code = str(exc.response.get("Error", {}).get("Code", ""))
        return status >= 500 or status == 429 or code in _TRANSIENT_CODES
    return False


def _is_missing(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"} or status == 404


def _describe(exc: BaseException) -> str:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


class S3ArtifactStore:
    """Objects in an S3 (or S3-compatible) bucket, linked by public or presigned GET URLs.

    Every boto3 call runs in a worker thread. Each call gets botocore's own retries
    (`botocore_attempts`, standard mode) and, around them, up to `attempts` tries with
    exponential backoff from `retry_base_delay` for transient failures (connection errors,
    5xx, throttling). A failure after that raises StorageError.
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        region: str | None = None,
        endpoint_url: str | None = None,
        url_style: Literal["public", "presigned"] = "presigned",
        presign_ttl: int = 3600,
        client: S3Client | None = None,
        # Retries
        attempts: int = 3,
        botocore_attempts: int = 3,
        retry_base_delay: float = 0.5,
        # Timeouts
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
    ):
        if not _BUCKET.fullmatch(bucket):
            raise ValueError(f"invalid S3 bucket name {bucket!r}")
        prefix = prefix.strip("/")
        if prefix and not is_valid_key(prefix):
            raise ValueError(f"invalid S3 prefix {prefix!r}")
        if url_style not in ("public", "presigned"):
            raise ValueError(f"url_style must be 'public' or 'presigned', got {url_style!r}")
        if not 1 <= presign_ttl <= 7 * 24 * 3600:
            raise ValueError("presign_ttl must be between 1 second and 7 days")
        if attempts < 1 or botocore_attempts < 1:
            raise ValueError("attempts and botocore_attempts must be at least 1")
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.endpoint_url = endpoint_url.rstrip("/") if endpoint_url else None
        self.url_style = url_style
        self.presign_ttl = presign_ttl
        self._attempts = attempts
        self._retry_base_delay = retry_base_delay
        if client is None:
            client = _make_client(
                region=region,
                endpoint_url=self.endpoint_url,
                botocore_attempts=botocore_attempts,
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
            )
        self._client = client
        self.region = region or client.meta.region_name or "us-east-1"

    # -- the port

    async def put(self, key: str, data: bytes, content_type: str) -> StoredArtifact:
        object_key = self.prefix + validate_key(key)
        await self._call(
            lambda: self._client.put_object(
                Bucket=self.bucket, Key=object_key, Body=data, ContentType=content_type
            ),
            what=f"upload of {key!r}",
            code="upload_failed",
        )
        url = await asyncio.to_thread(self.url_for, key)
        return StoredArtifact(key=key, url=url, size=len(data), content_type=content_type)

    async def get(self, key: str) -> bytes:
        object_key = self.prefix + validate_key(key)

        def download() -> bytes:
            response = self._client.get_object(Bucket=self.bucket, Key=object_key)
            body = response["Body"]
            try:
                return body.read()
            finally:
                body.close()

        return await self._call(download, what=f"download of {key!r}", code="download_failed")

    def key_for_url(self, url: str) -> str | None:
        object_key = self._object_key_from_url(url)
        if object_key is None or not object_key.startswith(self.prefix):
            return None
        key = object_key[len(self.prefix) :]
        return key if is_valid_key(key) else None

    # -- URLs

    def url_for(self, key: str) -> str:
        """The URL handed to clients for `key` (presigning is local computation, no request)."""
        object_key = self.prefix + validate_key(key)
        if self.url_style == "presigned":
            return self._client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": object_key},
                ExpiresIn=self.presign_ttl,
            )
        quoted = quote(object_key, safe="/")
        if self.endpoint_url:
            return f"{self.endpoint_url}/{self.bucket}/{quoted}"
        if "." in self.bucket:  # virtual-host style breaks TLS for dotted bucket names
            return f"https://s3.{self.region}.amazonaws.com/{self.bucket}/{quoted}"
        return f"https://{self.bucket}.s3.{self.region}.amazonaws.com/{quoted}"

    def _object_key_from_url(self, url: str) -> str | None:
        try:
            parts = urlsplit(url.strip())
            host = (parts.hostname or "").lower()
        except ValueError:
            return None
        path = unquote(parts.path)
        if parts.scheme == "s3":
            return path[1:] if host == self.bucket and path.startswith("/") else None
        if self.endpoint_url:
            endpoint = urlsplit(self.endpoint_url)
            base = f"{endpoint.path.rstrip('/')}/{self.bucket}/"
            same_origin = (parts.scheme, parts.netloc) == (endpoint.scheme, endpoint.netloc)
            return path[len(base) :] if same_origin and path.startswith(base) else None
        if parts.scheme != "https" or not host.endswith(".amazonaws.com"):
            return None
        labels = host[: -len(".amazonaws.com")]
        if labels.startswith(self.bucket + ".") and _is_s3_label(labels[len(self.bucket) + 1 :]):
            return path[1:]  # virtual-hosted style
        if _is_s3_label(labels) and path.startswith(f"/{self.bucket}/"):
            return path[len(self.bucket) + 2 :]  # path style
        return None

    # -- retries

    async def _call(self, fn: Callable[[], T], *, what: str, code: str) -> T:
        for attempt in range(1, self._attempts + 1):
            try:
                return await asyncio.to_thread(fn)
            except Exception as exc:  # translated below, at the adapter boundary
                if code == "download_failed" and _is_missing(exc):
                    raise NotFound(f"no artifact for {what}") from exc
                if not _is_transient(exc) or attempt == self._attempts:
                    raise StorageError(
                        f"S3 {what} failed after {attempt} attempt(s): {_describe(exc)}",
                        code=code,
                    ) from exc
            delay = self._retry_base_delay * 2 ** (attempt - 1)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        raise AssertionError("unreachable")


def _is_s3_label(labels: str) -> bool:
    """`s3`, `s3.<region>`, `s3-<region>` (the host part before `.amazonaws.com`)."""
    if labels == "s3":
        return True
    for sep in (".", "-"):
        if labels.startswith("s3" + sep) and _AWS_REGION.fullmatch(labels[3:]):
            return True
    return False


def _make_client(
    *,
    region: str | None,
    endpoint_url: str | None,
    botocore_attempts: int,
    connect_timeout: float,
    read_timeout: float,
) -> S3Client:
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"total_max_attempts": botocore_attempts, "mode": "standard"},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        signature_version="s3v4",
        s3={"addressing_style": "path" if endpoint_url else "virtual"},
    )
    session = boto3.session.Session()
    return session.client("s3", region_name=region, endpoint_url=endpoint_url, config=config)
