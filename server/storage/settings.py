"""The `storage` settings group: where artifacts go (local folder or S3) and their URLs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import model_validator

from agents.settings_model import SettingsGroup, env

if TYPE_CHECKING:  # boto3 loads when the store is built, not for every command
    from server.storage import LocalArtifactStore, S3ArtifactStore


class StorageSettings(SettingsGroup):
    kind: Literal["local", "s3"] = env("QUBITZ_STORAGE", default="local")  # s3 when a bucket is set
    # S3
    s3_bucket: str | None = env("QUBITZ_S3_BUCKET")
    s3_endpoint_url: str | None = env("QUBITZ_S3_ENDPOINT_URL")
    s3_region: str | None = env("QUBITZ_S3_REGION")
    s3_prefix: str = env("QUBITZ_S3_PREFIX", default="")
    s3_url_style: Literal["presigned", "public"] = env("QUBITZ_S3_URL_STYLE", default="presigned")
    s3_presign_ttl: int = env("QUBITZ_S3_PRESIGN_TTL", default=3600, ge=1)
    # Local folder: signed, expiring URLs
    artifact_url_secret: str | None = env("QUBITZ_ARTIFACT_URL_SECRET", repr=False)
    artifact_url_ttl: int = env("QUBITZ_ARTIFACT_URL_TTL", default=7 * 24 * 3600, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _s3_when_a_bucket_is_set(cls, data: Any) -> Any:
        unset = isinstance(data, dict) and "QUBITZ_STORAGE" not in data and "kind" not in data
        if unset and (data.get("QUBITZ_S3_BUCKET") or data.get("s3_bucket")):
            return {**data, "kind": "s3"}
        return data

    @model_validator(mode="after")
    def _check(self) -> StorageSettings:
        if self.kind == "s3" and not self.s3_bucket:
            raise ValueError("QUBITZ_STORAGE=s3 needs QUBITZ_S3_BUCKET")
        return self

    def store(self, *, data_dir: Path, public_url: str) -> LocalArtifactStore | S3ArtifactStore:
        """The configured artifact store."""
        from server.storage import build_store
        from server.storage.secret import artifact_signing_key

        return build_store(
            self.kind,
            root=data_dir / "artifacts",
            public_base_url=public_url,
            signing_key=artifact_signing_key(self.artifact_url_secret, data_dir),
            url_ttl=self.artifact_url_ttl,
            bucket=self.s3_bucket,
            prefix=self.s3_prefix,
            region=self.s3_region,
            endpoint_url=self.s3_endpoint_url,
            url_style=self.s3_url_style,
            presign_ttl=self.s3_presign_ttl,
        )
