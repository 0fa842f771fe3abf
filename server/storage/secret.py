"""The artifact URL signing key: the operator's, or one generated on first start.

`artifact_signing_key(configured, data_dir)` returns QUBITZ_ARTIFACT_URL_SECRET's bytes when set;
otherwise the contents of `<data_dir>/artifact-url.key`, creating it on first start with 32
random bytes (hex), mode 0600, atomically (two processes starting at once agree on one key).
Every replica sharing a data dir, or given the same secret, signs and checks the same URLs.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

KEY_FILE = "artifact-url.key"
MIN_SECRET_BYTES = 16


def artifact_signing_key(configured: str | None, data_dir: Path) -> bytes:
    if configured:
        key = configured.encode()
        if len(key) < MIN_SECRET_BYTES:
            raise ValueError(
                f"QUBITZ_ARTIFACT_URL_SECRET must be at least {MIN_SECRET_BYTES} bytes long"
            )
        return key
    path = Path(data_dir) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Write a complete file aside, then link it into place: linking fails when another
        # process won the race, and nobody ever reads a half-written key.
        tmp = path.with_name(f".{KEY_FILE}.{secrets.token_hex(6)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_text().strip().encode()
    if len(key) < MIN_SECRET_BYTES:
        raise ValueError(f"{path} holds no usable signing key; delete it to generate a new one")
    return key
