"""The local artifact store: files under a folder, served by this service at /artifacts.

URLs are always signed and expiring, like S3 presigned URLs:
`/artifacts/<key>?expires=<unix time>&sig=<HMAC-SHA256(workspace, key, expires)>`. The route
serves only correctly signed, unexpired requests; anything else gets 403 before the file system
is looked at (so a refused URL says nothing about whether the artifact exists). The signing key
is the operator's (QUBITZ_ARTIFACT_URL_SECRET) or one generated on first start and kept in the
data dir (server/storage/secret.py); without one the store uses a random per-process key.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from agents.artifacts import StoredArtifact
from agents.errors import NotFound
from server.storage.keys import StorageError, content_type_for, is_valid_key, validate_key


class LocalArtifactStore:
    """Files under `root`, opened at `<public_base_url>/artifacts/<key>` (see artifact_routes)."""

    def __init__(
        self,
        root: Path,
        public_base_url: str,
        *,
        signing_key: bytes | None = None,
        url_ttl: int = 7 * 24 * 3600,
        clock: Callable[[], float] = time.time,
    ):
        if not public_base_url.startswith(("http://", "https://")):
            raise ValueError(f"public_base_url must be an http(s) URL, got {public_base_url!r}")
        if signing_key is not None and len(signing_key) < 16:
            raise ValueError("signing_key must be at least 16 bytes")
        if url_ttl < 1:
            raise ValueError("url_ttl must be at least 1 second")
        self.root = Path(root)
        self._prefix = public_base_url.rstrip("/") + "/artifacts/"
        self._signing_key = signing_key if signing_key is not None else secrets.token_bytes(32)
        self._url_ttl = url_ttl
        self._clock = clock

    def url_for(self, key: str) -> str:
        url = self._prefix + quote(validate_key(key), safe="/")
        expires = int(self._clock()) + self._url_ttl
        return f"{url}?expires={expires}&sig={self._signature(key, expires)}"

    def _signature(self, key: str, expires: int) -> str:
        workspace = key.partition("/")[0]  # binds the URL to its workspace as well as its key
        message = f"qubitz-artifact\n{workspace}\n{key}\n{expires}".encode()
        return hmac.new(self._signing_key, message, hashlib.sha256).hexdigest()

    def may_serve(self, key: str, query: Mapping[str, str]) -> bool:
        """True when `query` holds a valid, unexpired signature for `key`."""
        if not is_valid_key(key):
            return False
        try:
            expires = int(query.get("expires", ""))
        except ValueError:
            return False
        if expires < self._clock():
            return False
        return hmac.compare_digest(self._signature(key, expires), query.get("sig", ""))

    def path_for(self, key: str) -> Path:
        return self.root / validate_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> StoredArtifact:
        path = self.path_for(key)
        try:
            await asyncio.to_thread(_atomic_write, path, data)
        except OSError as exc:
            raise StorageError(f"could not store artifact {key!r}: {exc.strerror or exc}") from exc
        return StoredArtifact(
            key=key, url=self.url_for(key), size=len(data), content_type=content_type
        )

    async def get(self, key: str) -> bytes:
        path = self.path_for(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise NotFound(f"no artifact {key!r}") from exc
        except OSError as exc:
            raise StorageError(
                f"could not read artifact {key!r}: {exc.strerror or exc}", code="download_failed"
            ) from exc

    def key_for_url(self, url: str) -> str | None:
        base = url.split("#", 1)[0].split("?", 1)[0]
        if not base.startswith(self._prefix):
            return None
        key = unquote(base[len(self._prefix) :])
        return key if is_valid_key(key) else None

    def existing_file(self, key: str) -> tuple[Path, os.stat_result] | None:
        """The regular file for `key` inside root (symlinks resolved), or None. Blocking."""
        if not is_valid_key(key):
            return None
        try:
            root = self.root.resolve(strict=True)
            path = (self.root / key).resolve(strict=True)
            stat = path.stat()
        except OSError:
            return None
        if not path.is_relative_to(root) or not path.is_file():
            return None
        return path, stat


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


_SERVE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Artifacts are documents, never active content on this origin.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "Cache-Control": "private, max-age=300",
}


def artifact_routes(store: LocalArtifactStore) -> list[Route]:
    """`GET|HEAD /artifacts/{path}`: the stored file with its content type.

    403 for a missing, wrong or expired signature (checked first); 404 for a signed URL whose
    file is gone.
    """

    async def serve(request: Request) -> Response:
        key = request.path_params["path"]
        if not store.may_serve(key, request.query_params):
            return PlainTextResponse(
                "Forbidden: artifact URLs must be signed and unexpired", status_code=403
            )
        found = await asyncio.to_thread(store.existing_file, key)
        if found is None:
            return PlainTextResponse("Not Found", status_code=404)
        path, stat = found
        response = FileResponse(
            path, stat_result=stat, media_type=content_type_for(path.name), headers=_SERVE_HEADERS
        )
        etag = response.headers.get("etag")
        if_none_match = request.headers.get("if-none-match")
        if etag and if_none_match and etag in (t.strip() for t in if_none_match.split(",")):
            headers = {"etag": etag, **_SERVE_HEADERS}
            return Response(status_code=304, headers=headers)
        return response

    return [Route("/artifacts/{path:path}", serve, methods=["GET", "HEAD"], name="artifacts")]
