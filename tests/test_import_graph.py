"""The modules of server/ and agents/ import each other one way: no cycles, and agents/ imports
nothing of server/. Every import counts: module level, inside functions, under TYPE_CHECKING."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in ("server", "agents"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The known modules `name` imports (a `from package import module` names the module)."""

    def owner(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {m for a in node.names if (m := owner(a.name))}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                prefix = package[: len(package) - node.level + 1]
                base = ".".join([*prefix, *([node.module] if node.module else [])])
            for alias in node.names:
                target = f"{base}.{alias.name}"
                found = target if target in known else owner(base)
                if found:
                    out.add(found)
    out.discard(name)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_no_module_imports_itself_through_others() -> None:
    try:
        tuple(graphlib.TopologicalSorter(graph()).static_order())
    except graphlib.CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_agents_import_nothing_of_server() -> None:
    leaks = {
        f"{name} -> {target}"
        for name, targets in graph().items()
        if name.startswith("agents")
        for target in targets
        if target.startswith("server")
    }
    assert not leaks


def test_the_walk_sees_the_cycle_app_and_wiring_had(tmp_path: Path) -> None:
    """The check itself: a late import inside a function is an edge too."""
    probe = tmp_path / "app.py"
    probe.write_text("def f():\n    from server.wiring import wire\n")
    known = {"server.app": probe, "server.wiring": tmp_path / "wiring.py"}
    assert imports("server.app", probe, known) == {"server.wiring"}
