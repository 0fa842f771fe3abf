"""What the distributions declare matches what the code imports, and the trees import one way.

- every third-party module server/ and agents/ import comes from a distribution qubitz
  declares (base or an extra), and qubitz_client's from what clients/python declares;
- importing the service's entry points loads nothing of an extra (the adapters import theirs);
- qubitz_client is packaged by clients/python only, and qubitz depends on that version;
- bench/ imports nothing of tests/, and the product trees hold no in-memory test doubles.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"server", "agents", "infra_templates", "qubitz_client", "tests", "bench"}
EXTRA_MODULES = ("asyncpg", "redis", "boto3", "botocore", "aws_cdk", "constructs", "cdk_nag",
                 "github", "llama_cpp")  # fmt: skip


def _project(path: Path) -> dict:  # type: ignore[type-arg]
    return tomllib.loads(path.read_text())["project"]  # type: ignore[no-any-return]


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _declared(project: dict) -> set[str]:  # type: ignore[type-arg]
    names = {_name(r) for r in project.get("dependencies", [])}
    for extra, requirements in project.get("optional-dependencies", {}).items():
        if extra != "dev":
            names |= {_name(r) for r in requirements}
    return names


def _imports(tree: Path) -> Iterator[tuple[Path, str]]:
    """(file, top-level module) for every import in the .py files under `tree`."""
    for path in sorted(tree.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name.partition(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield path, node.module.partition(".")[0]


def _undeclared(trees: list[Path], declared: set[str]) -> list[str]:
    providers = md.packages_distributions()
    found = []
    for path, module in (pair for tree in trees for pair in _imports(tree)):
        if module in sys.stdlib_module_names or module in FIRST_PARTY or module == "__future__":
            continue
        dists = {d.lower().replace("_", "-") for d in providers.get(module, [module])}
        if not dists & declared:
            found.append(f"{path.relative_to(ROOT)}: {module} (from {', '.join(sorted(dists))})")
    return found


def test_every_imported_distribution_is_declared() -> None:
    service = _project(ROOT / "pyproject.toml")
    declared = _declared(service) | {"uvloop"}  # uvicorn[standard]'s, imported if present
    # mypy stubs imported under TYPE_CHECKING come with boto3-stubs (dev)
    declared |= {"boto3-stubs", "mypy-boto3-s3", "mypy-boto3-apigateway",
                 "mypy-boto3-cloudformation", "mypy-boto3-bedrock-runtime"}  # fmt: skip
    assert _undeclared([ROOT / "server", ROOT / "agents"], declared) == []
    client = _project(ROOT / "clients" / "python" / "pyproject.toml")
    assert _undeclared([ROOT / "clients" / "python"], _declared(client)) == []


def test_the_service_entry_points_load_no_extra() -> None:
    """In a fresh interpreter: the app, its wiring, the CLI and every command module import
    without touching an extra's modules (they are imported by the adapters that use them)."""
    probe = (
        "import importlib, json, sys\n"
        "import server.app, server.wiring, server.cli, server.serve\n"
        "for name in server.cli.COMMAND_MODULES: importlib.import_module(name)\n"
        "server.cli.build_parser()\n"
        f"print(json.dumps(sorted(m for m in {EXTRA_MODULES!r} if m in sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == []


def test_qubitz_client_comes_from_one_distribution() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    find = config["tool"]["setuptools"]["packages"]["find"]
    assert not any(p.startswith("qubitz_client") for p in find["include"])
    assert "clients/python" not in find.get("where", ["."])
    client = _project(ROOT / "clients" / "python" / "pyproject.toml")
    pins = [r for r in config["project"]["dependencies"] if _name(r) == "qubitz-client"]
    assert pins == [f"qubitz-client=={client['version']}"]
    # test_base_install.py checks the installed files of a real (non-editable) install


def test_bench_imports_nothing_of_tests() -> None:
    """bench/ measures the product: its harnesses and scripted pipelines are its own."""
    found = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path, module in _imports(ROOT / "bench")
        if module == "tests"
    ]
    assert found == []
    runs = [p for p in sorted((ROOT / "bench").rglob("*.py")) if "tests.support" in p.read_text()]
    assert runs == [], "nor runs a module of tests/ as a subprocess"


DOUBLE = re.compile(r"^(Memory|InMemory|Fake|Scripted|Stub|Dummy|Mock)[A-Z]")
# In-process implementations that the product itself uses (not test doubles).
PRODUCT_DEFAULTS = {"MemoryWorkspaceTokenUsage"}  # ChatDeps' default daily-usage store


def test_no_test_doubles_in_product_code() -> None:
    found = []
    for tree in ("server", "agents", "clients/python"):
        for path in sorted((ROOT / tree).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.ClassDef) or node.name in PRODUCT_DEFAULTS:
                    continue
                if DOUBLE.match(node.name):
                    found.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert found == []
