"""`qubitz models`: which provider and model serves each role, and whether it is usable here."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from agents.llm.port import Capabilities
from agents.llm.registry import describe_models
from server.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    models = subparsers.add_parser("models", help="show the configured LLMs and if they are usable")
    models.add_argument(
        "--data-dir",
        dest="data_dir",
        default=None,
        help="data directory (default .qubitz, or QUBITZ_DATA_DIR)",
    )
    models.add_argument("--json", action="store_true", help="print JSON")
    models.set_defaults(func=models_command)


def models_command(args: argparse.Namespace) -> int:
    """Exit 0 when every configured model is usable, 1 otherwise, 2 on a configuration error
    (a SettingsError, reported by server/cli.py)."""
    settings = load_settings(data_dir=args.data_dir)
    statuses = describe_models(settings.llm)
    if getattr(args, "json", False):
        print(json.dumps([asdict(s) for s in statuses], indent=2))
    else:
        for s in statuses:
            mark = "ok " if s.usable else "NO "
            print(f"{mark} {s.provider:<9} {s.model}")
            print(f"    roles: {', '.join(s.roles)}")
            if s.capabilities is not None:
                print(f"    can: {describe_capabilities(s.capabilities)}")
            print(f"    {s.reason}")
    return 0 if all(s.usable for s in statuses) else 1


def describe_capabilities(can: Capabilities) -> str:
    """One line: `structured output by tool, web search, prompt caching, 200000-token window`."""
    parts = [f"structured output by {can.structured_output}"]
    if can.web_search:
        parts.append("web search")
    if can.prompt_caching:
        parts.append("prompt caching")
    return ", ".join([*parts, f"{can.context_window}-token window"])
