"""The artifact store port: where reports and other files go, and the URLs that open them.

Implemented in server/storage.py (local folder served at /artifacts, or S3). Keys are
namespaced by the caller: `<workspace>/<project>/<name>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class StoredArtifact:
    key: str
    url: str
    size: int
    content_type: str


class ArtifactStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> StoredArtifact:
        """Store (retrying transient failures) and return the artifact with its URL."""
        ...

    async def get(self, key: str) -> bytes:
        """The stored bytes; raises agents.errors.NotFound when there is no such key."""
        ...

    def key_for_url(self, url: str) -> str | None:
        """The key if `url` is one of this store's own artifact URLs, else None."""
        ...
