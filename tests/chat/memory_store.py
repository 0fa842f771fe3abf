"""An in-memory ArtifactStore for the chat tests (URLs under https://artifacts.test/a/<key>)."""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.artifacts import StoredArtifact
from agents.errors import NotFound

PREFIX = "https://artifacts.test/a/"


@dataclass
class MemoryArtifactStore:
    objects: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    def url_for(self, key: str) -> str:
        return PREFIX + key

    async def put(self, key: str, data: bytes, content_type: str) -> StoredArtifact:
        self.objects[key] = (data, content_type)
        return StoredArtifact(
            key=key, url=self.url_for(key), size=len(data), content_type=content_type
        )

    async def get(self, key: str) -> bytes:
        try:
            return self.objects[key][0]
        except KeyError:
            raise NotFound(f"no artifact {key}") from None

    def key_for_url(self, url: str) -> str | None:
        if url.startswith(PREFIX) and len(url) > len(PREFIX):
            return url[len(PREFIX) :]
        return None
