"""What changed between two specs, as JSON pointers (RFC 6901).

Objects are compared key by key (a key only on one side is added/removed at its path); any
other value that differs (a string, a list such as `tools` or `orchestration/order`) is reported
as changed at its own path. So adding an agent gives `added: ["/agents_config/<id>"]`, switching
its model gives `changed: ["/agents_config/<id>/model"]`.
"""

from __future__ import annotations

from typing import Any

from agents.protocol import SpecDiff


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _walk(old: Any, new: Any, path: str, out: dict[str, list[str]]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in old:
            child = f"{path}/{_escape(str(key))}"
            if key not in new:
                out["removed"].append(child)
            else:
                _walk(old[key], new[key], child, out)
        for key in new:
            if key not in old:
                out["added"].append(f"{path}/{_escape(str(key))}")
        return
    if old != new or type(old) is not type(new):
        out["changed"].append(path or "/")


def spec_diff(old: dict[str, Any], new: dict[str, Any]) -> SpecDiff:
    out: dict[str, list[str]] = {"added": [], "removed": [], "changed": []}
    _walk(old, new, "", out)
    return SpecDiff(added=out["added"], removed=out["removed"], changed=out["changed"])


def changed_agents(diff: SpecDiff) -> set[str]:
    """Agent ids the diff touches (added, removed or changed)."""
    ids: set[str] = set()
    for path in [*diff.added, *diff.removed, *diff.changed]:
        parts = path.split("/")
        if len(parts) >= 3 and parts[1] == "agents_config":
            ids.add(parts[2].replace("~1", "/").replace("~0", "~"))
    return ids
