"""Client commands of `qubitz`: research, chat, getspec, updatespec, deploy, apikey create/delete.

They talk to a running service over WebSocket with the qubitz_client library. Base URL and key
come from --url/--api-key or QUBITZ_URL/QUBITZ_API_KEY. `--json` prints one event per line.
Exit codes: 0 success · 2 usage · 3 authentication/scope · 4 the job failed · 5 connection lost.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

from qubitz_client import (
    AuthError,
    ConnectionLost,
    Event,
    JobFailed,
    JobStream,
    QubitzClient,
    QubitzClientError,
    ValidationError,
)

EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_FAILED, EXIT_CONNECTION = 0, 2, 3, 4, 5


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--url",
        default=os.environ.get("QUBITZ_URL", "http://127.0.0.1:8008"),
        help="service base URL (QUBITZ_URL)",
    )
    p.add_argument(
        "--api-key", default=os.environ.get("QUBITZ_API_KEY"), help="service key (QUBITZ_API_KEY)"
    )
    p.add_argument("--user-id", default=os.environ.get("QUBITZ_USER_ID") or getpass.getuser())
    p.add_argument("--json", action="store_true", help="print events as JSON lines")


class Renderer:
    """Human output: live progress for research/deploy, streamed text for chat and specs."""

    def __init__(self, json_lines: bool) -> None:
        self.json_lines = json_lines
        self._progress: Any = None
        self._task: Any = None
        self._streaming = False

    def __enter__(self) -> Renderer:
        if not self.json_lines and sys.stderr.isatty():
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TimeElapsedColumn(),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("starting", total=100)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _status(self, text: str, percent: int | None = None) -> None:
        if self._progress is not None:
            self._progress.update(
                self._task,
                description=text[:60],
                **({"completed": percent} if percent is not None else {}),
            )
        else:
            print(
                f"[{percent if percent is not None else '..'}%] {text}"
                if percent is not None
                else f"- {text}",
                file=sys.stderr,
            )

    def show(self, event: Event) -> None:
        if self.json_lines:
            print(json.dumps(event.raw), flush=True)
            return
        kind = event.type
        if event.is_keepalive:
            return
        if kind in {"chat_chunk", "stream_chunk"}:
            sys.stdout.write(event.text)
            sys.stdout.flush()
            self._streaming = True
            return
        if self._streaming:
            sys.stdout.write("\n")
            self._streaming = False
        if kind in {
            "status",
            "multiagent_step",
            "multiagent_progress",
            "chat_status",
            "deployment_started",
            "ack",
            "stream_start",
        }:
            self._status(event.message or str(event.get("step", kind)), event.progress_percent)
        elif kind == "s3_upload_complete":
            print(f"uploaded {event.get('file_type')}: {event.get('s3_url')}")
        elif kind == "use_cases_complete":
            for uc in event.get("use_cases", []):
                print(
                    f"  - {uc['title']} (impact {uc['impact_score']}, "
                    f"alignment {uc['alignment_score']})"
                )
        elif kind == "complete" and event.get("all_s3_urls"):
            print(f"project: {event.get('project_id')}")
            for name, url in event.get("all_s3_urls", {}).items():
                print(f"{name}: {url}")
        elif kind == "chat_complete":
            usage = event.get("session_info", {}).get("token_usage", {})
            print(
                f"\n--- {usage.get('total_tokens')} / {usage.get('limit')} session tokens",
                file=sys.stderr,
            )
        elif kind == "architecture":
            arch = event.data.get("architecture", {})
            print(json.dumps(arch, indent=2))
            print(
                f"version {event.data.get('version')}: {len(arch.get('agents_config', {}))} agents",
                file=sys.stderr,
            )
        elif kind == "deployment_complete":
            data = event.data
            print(f"{data.get('deployment_status')}: {data.get('message')}")
            print(f"repository: {data.get('github_repo')}")
            if data.get("agent_endpoint"):
                print(f"endpoint: {data['agent_endpoint']}")
        elif kind == "api_key_created":
            for name in ("api_key_value", "api_key_id", "usage_plan_id", "api_endpoint"):
                print(f"{name}: {event.data.get(name)}")
        elif kind == "api_key_deleted":
            print(f"deleted {event.data.get('api_key_id')}")
        elif event.is_error:
            print(f"error {event.error_code}: {event.message}", file=sys.stderr)


async def _drive(stream: JobStream, renderer: Renderer) -> int:
    try:
        with renderer:
            async for event in stream:
                renderer.show(event)
        await stream.result()
        return EXIT_OK
    except AuthError as exc:
        print(f"qubitz: authentication failed: {exc.message}", file=sys.stderr)
        return EXIT_AUTH
    except ValidationError as exc:
        print(f"qubitz: request refused: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except JobFailed as exc:
        print(f"qubitz: job failed ({exc.code}): {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    except ConnectionLost as exc:
        print(f"qubitz: {exc.message}", file=sys.stderr)
        return EXIT_CONNECTION
    except QubitzClientError as exc:
        print(f"qubitz: {exc.message}", file=sys.stderr)
        return EXIT_CONNECTION


def _run(args: argparse.Namespace, make: Any) -> int:
    if not args.api_key:
        print("qubitz: no API key: pass --api-key or set QUBITZ_API_KEY", file=sys.stderr)
        return EXIT_USAGE
    client = QubitzClient(args.url, args.api_key)
    try:
        return asyncio.run(_drive(make(client), Renderer(args.json)))
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


def cmd_deploy(args: argparse.Namespace) -> int:
    return _run(
        args,
        lambda c: c.deploy(
            user_id=args.user_id,
            project_id=args.project,
            github_username=args.github_username,
            action="destroy" if args.destroy else None,
        ),
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
    _common(p)
    p.add_argument("--prompt", required=True)
    p.add_argument("--company", required=True, help="company name")
    p.add_argument("--company-url", required=True)
    p.add_argument("--session-id", default=None)
    p.add_argument("--depth", choices=["quick", "standard", "deep"], default="standard")
    p.add_argument("--document", action="append", help="restrict to these corpus documents")
    p.set_defaults(func=cmd_research)

    p = sub.add_parser("chat", help="ask a question about a report (streamed answer)")
    _common(p)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--report-url")
    src.add_argument("--report-file")
    p.add_argument("--message", "-m", required=True)
    p.add_argument("--session-id", default="cli")
    p.add_argument("--project", default=None)
    p.add_argument("--token-limit", type=int, default=None)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("getspec", help="design a multi-agent architecture spec")
    _common(p)
    p.add_argument("--project", required=True)
    p.add_argument("--name", required=True, help="use case name")
    p.add_argument("--description", required=True, help="use case description")
    p.add_argument("--report-url", default=None)
    p.set_defaults(func=cmd_getspec)

    p = sub.add_parser("updatespec", help="change the project's spec by instruction")
    _common(p)
    p.add_argument("--project", required=True)
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--instruction")
    how.add_argument("--rollback-to", type=int)
    p.set_defaults(func=cmd_updatespec)

    p = sub.add_parser("deploy", help="deploy the project's spec; exits non-zero on failure")
    _common(p)
    p.add_argument("project")
    p.add_argument("--github-username", default=None)
    p.add_argument(
        "--wait",
        action="store_true",
        default=True,
        help="follow the deployment until it is live (the default)",
    )
    p.add_argument("--destroy", action="store_true", help="tear the app down instead")
    p.set_defaults(func=cmd_deploy)

    apikey_sub = _subcommands(sub, "apikey", help="API keys of deployed apps")
    p = apikey_sub.add_parser("create", help="create a key for a deployed app")
    _common(p)
    p.add_argument("project")
    p.add_argument("--name", default=None)
    p.add_argument("--rate-limit", type=float, default=None)
    p.add_argument("--burst-limit", type=int, default=None)
    p.add_argument("--quota-limit", type=int, default=None)
    p.add_argument("--quota-period", choices=["DAY", "WEEK", "MONTH"], default=None)
    p.set_defaults(func=cmd_apikey_create)
    p = apikey_sub.add_parser("delete", help="delete a key of a deployed app")
    _common(p)
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
