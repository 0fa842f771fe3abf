"""Artifact stores (agents.artifacts.ArtifactStore): a local folder served at /artifacts, or S3.

Errors (translated here, at the adapter boundary):
    agents.errors.InvalidRequest   a key outside the allowed alphabet/shape (never touches disk/S3)
    agents.errors.NotFound         `get` of a key that is not stored
    StorageError                   the store failed after its bounded retries
                                   (code "upload_failed" for put, "download_failed" for get)

Keys are relative paths of `[A-Za-z0-9._-]` segments joined by "/"; no segment may start with
"." (so no `.`/`..`, no hidden files, and the temporary files of atomic writes are never served).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from agents.artifacts import ArtifactStore
from server.storage.keys import StorageError, content_type_for, is_valid_key, validate_key
from server.storage.local import LocalArtifactStore, artifact_routes
from server.storage.s3 import S3ArtifactStore

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

__all__ = [
    "LocalArtifactStore",
    "S3ArtifactStore",
    "StorageError",
    "artifact_routes",
    "build_store",
    "content_type_for",
    "is_valid_key",
    "validate_key",
]


def build_store(
    kind: Literal["local", "s3"],
    *,
    # local
    root: Path | None = None,
    public_base_url: str = "",
    signing_key: bytes | None = None,
    url_ttl: int = 7 * 24 * 3600,
    # s3
    bucket: str | None = None,
    prefix: str = "",
    region: str | None = None,
    endpoint_url: str | None = None,
    url_style: Literal["public", "presigned"] = "presigned",
    presign_ttl: int = 3600,
    client: S3Client | None = None,
    # Retries (s3)
    attempts: int = 3,
    botocore_attempts: int = 3,
    retry_base_delay: float = 0.5,
) -> LocalArtifactStore | S3ArtifactStore:
    """The configured store. local needs `root` and `public_base_url`; s3 needs `bucket`.

    Environment (read by server/settings.py, not here; see docs/storage.md): QUBITZ_STORAGE,
    QUBITZ_DATA_DIR, QUBITZ_PUBLIC_URL, QUBITZ_ARTIFACT_URL_SECRET, QUBITZ_ARTIFACT_URL_TTL,
    QUBITZ_S3_BUCKET, QUBITZ_S3_ENDPOINT_URL, QUBITZ_S3_REGION, QUBITZ_S3_PREFIX,
    QUBITZ_S3_URL_STYLE, QUBITZ_S3_PRESIGN_TTL.
    """
    if kind == "local":
        if root is None or not public_base_url:
            raise ValueError("a local artifact store needs root and public_base_url")
        return LocalArtifactStore(root, public_base_url, signing_key=signing_key, url_ttl=url_ttl)
    if kind == "s3":
        if not bucket:
            raise ValueError("an S3 artifact store needs a bucket")
        return S3ArtifactStore(
            bucket,
            prefix=prefix,
            region=region,
            endpoint_url=endpoint_url,
            url_style=url_style,
            presign_ttl=presign_ttl,
            client=client,
            attempts=attempts,
            botocore_attempts=botocore_attempts,
            retry_base_delay=retry_base_delay,
        )
    raise ValueError(f"unknown artifact store kind {kind!r}")


if TYPE_CHECKING:  # both stores implement the port (checked by mypy, never run)
    _local_port: ArtifactStore = LocalArtifactStore(Path("."), "http://127.0.0.1")
    _s3_port: ArtifactStore = S3ArtifactStore("bucket")
