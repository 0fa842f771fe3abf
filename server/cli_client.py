"""Client commands of `qubitz`: research, chat, getspec, updatespec, deploy, apikey create/delete.

They talk to a running service over WebSocket with the qubitz_client library. Base URL and key
come from --url/--api-key or QUBITZ_URL/QUBITZ_API_KEY. `--json` prints one event per line. Each
prints its job id first (stderr); `--detach` exits once the job has started; Ctrl-C asks whether
to cancel the job or detach. Exit codes are listed in server/cli_follow.py.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from pathlib import Path
from typing import Any

from qubitz_client import QubitzClient

from server.cli_follow import (
    EXIT_AUTH,
    EXIT_CONNECTION,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    DetachWhen,
    follow,
)
from server.cli_follow import (
    common_flags as _common,
)
from server.cli_render import Renderer

__all__ = ["EXIT_AUTH", "EXIT_CONNECTION", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "register"]


def _job_flags(p: argparse.ArgumentParser) -> None:
    """Flags of every command that starts a job."""
    _common(p)
    p.add_argument(
        "--detach",
        action="store_true",
        help="print the job id and exit 0 once the job has started (follow it with jobs attach)",
    )


def _run(args: argparse.Namespace, make: Any, *, detach_when: DetachWhen | None = None) -> int:
    if not args.api_key:
        print("qubitz: no API key: pass --api-key or set QUBITZ_API_KEY", file=sys.stderr)
        return EXIT_USAGE
    from server.cli_jobs import ReadApi, follow_options

    client = QubitzClient(args.url, args.api_key)
    opts = follow_options(args, client, ReadApi(args.url, args.api_key))
    if getattr(args, "detach", False):
        opts.detach_when = lambda _event: True
    elif detach_when is not None:
        opts.detach_when = detach_when
    try:
        return asyncio.run(follow(make(client), Renderer(args.json), opts))
    except OSError as exc:
        print(f"qubitz: cannot reach {args.url}: {exc}", file=sys.stderr)
        return EXIT_CONNECTION


def cmd_research(args: argparse.Namespace) -> int:
    ext: dict[str, Any] = {"depth": args.depth}
    if args.document:
        ext["documents"] = args.document
    return _run(
        args,
        lambda c: c.research(
            prompt=args.prompt,
            company_name=args.company,
            company_url=args.company_url,
            user_id=args.user_id,
            session_id=args.session_id or uuid.uuid4().hex[:12],
            **ext,
        ),
    )


def cmd_chat(args: argparse.Namespace) -> int:
    report = Path(args.report_file).read_text() if args.report_file else None
    return _run(
        args,
        lambda c: c.chat(
            messages=[{"role": "user", "content": args.message}],
            user_id=args.user_id,
            session_id=args.session_id,
            s3_report_url=args.report_url,
            report=report,
            project_id=args.project,
            token_limit=args.token_limit,
        ),
    )


def cmd_getspec(args: argparse.Namespace) -> int:
    return _run(
        args,
        lambda c: c.get_spec(
            user_id=args.user_id,
            project_id=args.project,
            use_case_name=args.name,
            use_case_description=args.description,
            s3_uri=args.report_url,
        ),
    )


def cmd_updatespec(args: argparse.Namespace) -> int:
    return _run(
        args,
        lambda c: c.update_spec(
            user_id=args.user_id,
            project_id=args.project,
            user_input=args.instruction,
            rollback_to=args.rollback_to,
        ),
    )


def _deployment_started(event: Any) -> bool:
    return bool(event.type == "deployment_started")


def cmd_deploy(args: argparse.Namespace) -> int:
    return _run(
        args,
        lambda c: c.deploy(
            user_id=args.user_id,
            project_id=args.project,
            github_username=args.github_username,
            action="destroy" if args.destroy else None,
        ),
        detach_when=None if args.wait else _deployment_started,
    )


def cmd_apikey_create(args: argparse.Namespace) -> int:
    limits = {
        k: v
        for k, v in (
            ("rate_limit", args.rate_limit),
            ("burst_limit", args.burst_limit),
            ("quota_limit", args.quota_limit),
            ("quota_period", args.quota_period),
        )
        if v is not None
    }
    return _run(
        args,
        lambda c: c.create_api_key(
            user_id=args.user_id, project_id=args.project, key_name=args.name, **limits
        ),
    )


def cmd_apikey_delete(args: argparse.Namespace) -> int:
    return _run(
        args,
        lambda c: c.delete_api_key(
            user_id=args.user_id,
            project_id=args.project,
            api_key_id=args.key_id,
            usage_plan_id=args.usage_plan_id,
        ),
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("research", help="run a research job and print its artifact URLs")
    _job_flags(p)
    p.add_argument("--prompt", required=True)
    p.add_argument("--company", required=True, help="company name")
    p.add_argument("--company-url", required=True)
    p.add_argument("--session-id", default=None)
    p.add_argument("--depth", choices=["quick", "standard", "deep"], default="standard")
    p.add_argument("--document", action="append", help="restrict to these corpus documents")
    p.set_defaults(func=cmd_research)

    p = sub.add_parser("chat", help="ask a question about a report (streamed answer)")
    _job_flags(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--report-url")
    src.add_argument("--report-file")
    p.add_argument("--message", "-m", required=True)
    p.add_argument("--session-id", default="cli")
    p.add_argument("--project", default=None)
    p.add_argument("--token-limit", type=int, default=None)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("getspec", help="design a multi-agent architecture spec")
    _job_flags(p)
    p.add_argument("--project", required=True)
    p.add_argument("--name", required=True, help="use case name")
    p.add_argument("--description", required=True, help="use case description")
    p.add_argument("--report-url", default=None)
    p.set_defaults(func=cmd_getspec)

    p = sub.add_parser("updatespec", help="change the project's spec by instruction")
    _job_flags(p)
    p.add_argument("--project", required=True)
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--instruction")
    how.add_argument("--rollback-to", type=int)
    p.set_defaults(func=cmd_updatespec)

    p = sub.add_parser("deploy", help="deploy the project's spec; exits non-zero on failure")
    _job_flags(p)
    p.add_argument("project")
    p.add_argument("--github-username", default=None)
    p.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="follow the deployment until it is live (the default); --no-wait exits 0 once "
        "the deployment has started and prints its job id",
    )
    p.add_argument("--destroy", action="store_true", help="tear the app down instead")
    p.set_defaults(func=cmd_deploy)

    apikey_sub = _subcommands(sub, "apikey", help="API keys of deployed apps")
    p = apikey_sub.add_parser("create", help="create a key for a deployed app")
    _job_flags(p)
    p.add_argument("project")
    p.add_argument("--name", default=None)
    p.add_argument("--rate-limit", type=float, default=None)
    p.add_argument("--burst-limit", type=int, default=None)
    p.add_argument("--quota-limit", type=int, default=None)
    p.add_argument("--quota-period", choices=["DAY", "WEEK", "MONTH"], default=None)
    p.set_defaults(func=cmd_apikey_create)
    p = apikey_sub.add_parser("delete", help="delete a key of a deployed app")
    _job_flags(p)
    p.add_argument("project")
    p.add_argument("key_id")
    p.add_argument("--usage-plan-id", default=None)
    p.set_defaults(func=cmd_apikey_delete)


def _subcommands(
    sub: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    *,
    help: str,
) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """The sub-command group `name`, shared with the server-side admin commands (usage, list)."""
    parser: argparse.ArgumentParser | None = sub.choices.get(name)
    if parser is not None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action
    else:
        parser = sub.add_parser(name, help=help)
    group: argparse._SubParsersAction = parser.add_subparsers(  # type: ignore[type-arg]
        dest=f"{name}_cmd", required=True
    )
    return group
