"""The artifact signing key: the operator's, else generated once and kept in the data dir."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from server.storage.secret import KEY_FILE, artifact_signing_key


def test_generated_on_first_start_and_reused(tmp_path: Path) -> None:
    first = artifact_signing_key(None, tmp_path)
    assert len(first) == 64
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    assert artifact_signing_key(None, tmp_path) == first
    assert artifact_signing_key(None, tmp_path / "other") != first


def test_the_operators_secret_wins_and_must_be_long_enough(tmp_path: Path) -> None:
    assert artifact_signing_key("s" * 32, tmp_path) == b"s" * 32
    assert not (tmp_path / KEY_FILE).exists()
    with pytest.raises(ValueError, match="at least 16"):
        artifact_signing_key("short", tmp_path)


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    keys: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: keys.append(artifact_signing_key(None, tmp_path)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]
