"""Artifact keys, content types and the storage error."""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from agents.errors import InvalidRequest, UpstreamError

MAX_KEY_LENGTH = 900
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


class StorageError(UpstreamError):
    """The artifact store failed (after retries); the artifact has no link."""

    code = "upload_failed"


def is_valid_key(key: str) -> bool:
    if not key or len(key) > MAX_KEY_LENGTH:
        return False
    return all(_SEGMENT.fullmatch(segment) for segment in key.split("/"))


def validate_key(key: str) -> str:
    if not is_valid_key(key):
        raise InvalidRequest(
            f"invalid artifact key {key[:120]!r}: use [A-Za-z0-9._-] segments joined by '/', "
            "none starting with '.'"
        )
    return key


_CONTENT_TYPES = {
    ".md": "text/markdown; charset=utf-8",
    ".markdown": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
    ".pdf": "application/pdf",
    ".html": "text/html; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
}


def content_type_for(name: str) -> str:
    """The content type an artifact named `name` is served with."""
    suffix = Path(name).suffix.lower()
    if suffix in _CONTENT_TYPES:
        return _CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"
