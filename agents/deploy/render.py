"""Render the generated repository from an architecture spec (pure and deterministic).

Sources, all in the `infra_templates` package:
  repo/        the repository's own files; `*.j2` are Jinja2 templates (the suffix is dropped),
               everything else is copied; a path part starting with `dot-` becomes `.` (so
               `dot-github/` is `.github/`, `dot-gitignore` is `.gitignore`).
  runtime/     the agent runtime, copied verbatim to runtime/.
  repo_tests/  the runtime's tests, copied verbatim to tests/.
Plus spec.json (the architecture), agent-spec.json (Open Agent Spec), agent-card.json (A2A
Agent Card; its url is `endpoint_url` or a placeholder until the API exists) and the caller's
documents under documents/.

The same inputs give byte-identical files: no timestamps, sorted paths, a stable JSON dump.
Files are written over whatever is in `out_dir`; files the render does not produce are left
alone, so render into a fresh directory unless you mean to overlay a checkout.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2

from agents.errors import InvalidRequest
from agents.spec.export import to_agent_card, to_open_agent_spec
from agents.spec.schema import Architecture

APP_NAME = re.compile(r"^[a-z][a-z0-9-]{2,40}$")
_DOCUMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,120}$")
MAX_DESCRIPTION = 1000

# Versions the generated repository pins (requirements.txt and the workflows).
VERSIONS: Mapping[str, str] = {
    "aws_cdk_lib": "2.275.0",
    "cdk_nag": "3.0.2",
    "cdk_cli": "2.1148",
    "python": "3.12",
    "node": "22",
}


@dataclass(frozen=True)
class RenderedRepo:
    root: Path
    files: tuple[str, ...]  # POSIX paths relative to root, sorted
    digest: str  # sha256 over every (path, content): equal digests mean identical repositories


def _templates_root() -> Path:
    return Path(str(files("infra_templates")))


def validate_app_name(app_name: str) -> str:
    if not APP_NAME.match(app_name):
        raise InvalidRequest(
            f"app name {app_name!r} must be 3-41 characters: a lowercase letter, then lowercase "
            "letters, digits or '-'"
        )
    return app_name


def _output_path(rel: PurePosixPath) -> str:
    parts = ["." + p[4:] if p.startswith("dot-") else p for p in rel.parts]
    name = "/".join(parts)
    return name[: -len(".j2")] if name.endswith(".j2") else name


def _source_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def _context(
    arch: Architecture, *, app_name: str, spec_version: int, region: str, description: str
) -> dict[str, Any]:
    orch = arch.orchestration
    assert orch is not None  # the schema fills in a default pipeline
    agents = [
        {
            "id": agent_id,
            "name": cfg.name,
            "model": cfg.model,
            "tools": list(cfg.tools),
            "memory": ", ".join(cfg.memory.strategies or ["buffer"]) if cfg.memory.enabled else "—",
        }
        for agent_id, cfg in arch.agents_config.items()
    ]
    paths = sorted({"/invoke", *(t.path for t in arch.gateway_config.targets)})
    first_line = description.strip().splitlines()[0] if description.strip() else ""
    return {
        "app_name": app_name,
        "region": region,
        "description": description.strip(),
        "stack_description": (f"{app_name}: {first_line}" if first_line else app_name)[:1000],
        "spec_version": spec_version,
        "agents": agents,
        "orchestration": orch,
        "pipeline_order": list(orch.order or [orch.entry_agent]),
        "paths": paths,
        "throttling": arch.gateway_config.throttling,
        "versions": VERSIONS,
        "gh": lambda expression: "${{ " + expression + " }}",
    }


def render_files(
    arch: Architecture,
    *,
    app_name: str,
    spec_version: int,
    region: str = "us-east-1",
    description: str = "",
    documents: Mapping[str, bytes] | None = None,
    endpoint_url: str | None = None,
) -> dict[str, bytes]:
    """Every file of the repository, path -> bytes, without touching the disk."""
    validate_app_name(app_name)
    if not re.match(r"^[a-z]{2}(-[a-z]+)+-\d$", region):
        raise InvalidRequest(f"region {region!r} is not an AWS region name such as us-east-1")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidRequest(f"description is longer than {MAX_DESCRIPTION} characters")
    root = _templates_root()
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    context = _context(
        arch,
        app_name=app_name,
        spec_version=spec_version,
        region=region,
        description=description,
    )
    out: dict[str, bytes] = {}
    for source in _source_files(root / "repo"):
        rel = _output_path(PurePosixPath(source.relative_to(root / "repo").as_posix()))
        if source.name.endswith(".j2"):
            text = env.from_string(source.read_text(encoding="utf-8")).render(context)
            out[rel] = text.encode("utf-8")
        else:
            out[rel] = source.read_bytes()
    for folder, target in (("runtime", "runtime"), ("repo_tests", "tests")):
        for source in _source_files(root / folder):
            out[f"{target}/{source.relative_to(root / folder).as_posix()}"] = source.read_bytes()
    out["spec.json"] = _json(arch.model_dump(mode="json"))
    out["agent-spec.json"] = _json(to_open_agent_spec(arch, name=app_name, version=spec_version))
    out["agent-card.json"] = _json(
        to_agent_card(
            arch,
            name=app_name,
            description=context["stack_description"],
            url=endpoint_url or placeholder_endpoint(region),
            version=spec_version,
        )
    )
    for name, content in sorted((documents or {}).items()):
        if not _DOCUMENT_NAME.match(name) or name in (".", ".."):
            raise InvalidRequest(f"document name {name!r} is not a plain file name")
        out[f"documents/{name}"] = content
    return dict(sorted(out.items()))


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def placeholder_endpoint(region: str) -> str:
    """The agent card's url before the API exists (re-render with endpoint_url once known)."""
    return f"https://API_ID.execute-api.{region}.amazonaws.com/prod/invoke"


def digest_of(rendered: Mapping[str, bytes]) -> str:
    h = hashlib.sha256()
    for path, content in sorted(rendered.items()):
        h.update(path.encode() + b"\0" + hashlib.sha256(content).digest())
    return h.hexdigest()


def render_repository(
    arch: Architecture,
    *,
    app_name: str,
    out_dir: Path,
    spec_version: int,
    region: str = "us-east-1",
    description: str = "",
    documents: Mapping[str, bytes] | None = None,
    endpoint_url: str | None = None,
) -> RenderedRepo:
    """Write the generated repository under out_dir (blocking: call it in a thread)."""
    rendered = render_files(
        arch,
        app_name=app_name,
        spec_version=spec_version,
        region=region,
        description=description,
        documents=documents,
        endpoint_url=endpoint_url,
    )
    for rel, content in rendered.items():
        path = out_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        if rel.startswith("scripts/") or rel == "app.py":
            path.chmod(0o755)
    return RenderedRepo(root=out_dir, files=tuple(rendered), digest=digest_of(rendered))
