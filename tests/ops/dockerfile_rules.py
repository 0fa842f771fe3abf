"""Hadolint-style rules for our Dockerfile, runnable offline (no Docker engine, no hadolint).

`parse` joins continuation lines and splits instructions into stages; `problems` returns one
sentence per broken rule: base images pinned to a version (never `latest` or untagged), a
multi-stage build, and in the final stage a non-root USER, a HEALTHCHECK, the /data volume, no
compilers installed or copied in, exec-form CMD.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

COMPILERS = {
    "build-essential",
    "gcc",
    "g++",
    "cc",
    "clang",
    "cmake",
    "make",
    "gfortran",
    "cpp",
    "libc6-dev",
    "ninja-build",
    "rustc",
    "cargo",
    "golang",
}
PINNED = re.compile(
    r"^[\w./-]+(:[\w.-]*\d[\w.-]*)(@sha256:[0-9a-f]{64})?$|^[\w./-]+@sha256:[0-9a-f]{64}$"
)


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int


@dataclass
class Stage:
    image: str  # as written after FROM (may contain ${ARG})
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)


def instructions(text: str) -> list[Instruction]:
    out: list[Instruction] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if buffer and line.startswith("#"):
            continue
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        keyword, _, args = buffer.partition(" ")
        out.append(Instruction(keyword.upper(), args.strip(), start))
        buffer = ""
    return out


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults, and the stages in order."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for ins in instructions(text):
        if ins.keyword == "FROM":
            words = ins.args.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        elif not stages:
            if ins.keyword == "ARG" and "=" in ins.args:
                key, _, value = ins.args.partition("=")
                args[key.strip()] = value.strip().strip('"')
        else:
            stages[-1].instructions.append(ins)
    return args, stages


def _resolve(image: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), ""), image)


def _installed_packages(run: str) -> set[str]:
    packages: set[str] = set()
    for command in re.split(r"&&|;|\|\|", run):
        words = shlex.split(command)
        if "install" in words and any(w in {"apt-get", "apt", "apk", "yum", "dnf"} for w in words):
            after = words[words.index("install") + 1 :]
            packages |= {w for w in after if not w.startswith("-")}
    return packages


def problems(text: str) -> list[str]:
    args, stages = parse(text)
    found: list[str] = []
    if len(stages) < 2:
        found.append("not a multi-stage build")
    names = {s.name for s in stages if s.name}
    for stage in stages:
        image = _resolve(stage.image, args)
        if image in names:
            continue
        if not PINNED.match(image) or image.endswith(":latest"):
            found.append(f"base image {image or stage.image!r} is not pinned to a version")
    if not stages:
        return [*found, "no FROM"]
    final = stages[-1]
    kinds = [i.keyword for i in final.instructions]
    users = [i.args.split(":")[0] for i in final.instructions if i.keyword == "USER"]
    if not users or users[-1] in {"root", "0"}:
        found.append("the final stage does not switch to a non-root USER")
    if "HEALTHCHECK" not in kinds:
        found.append("the final stage has no HEALTHCHECK")
    volumes = " ".join(i.args for i in final.instructions if i.keyword == "VOLUME")
    if "/data" not in volumes:
        found.append("the final stage declares no /data VOLUME")
    for ins in final.instructions:
        if ins.keyword == "RUN":
            compilers = sorted(_installed_packages(ins.args) & COMPILERS)
            if compilers:
                found.append(f"line {ins.line}: the final stage installs {', '.join(compilers)}")
        if ins.keyword == "COPY" and "--from=" in ins.args:
            sources = [w for w in ins.args.split() if not w.startswith("--")][:-1]
            for source in sources:
                if re.search(r"/(gcc|g\+\+|cc|cmake|make|clang)$", source):
                    found.append(f"line {ins.line}: the final stage copies a compiler ({source})")
    cmd = [i for i in final.instructions if i.keyword == "CMD"]
    if not cmd:
        found.append("the final stage has no CMD")
    else:
        try:
            json.loads(cmd[-1].args)
        except ValueError:
            found.append("CMD is not in exec (JSON array) form")
    return found
