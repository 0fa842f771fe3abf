"""`qubitz apikey ...`: operator view of deployed apps' API keys and their usage.

    qubitz apikey list PROJECT --workspace WS [--all] [--json]
    qubitz apikey usage PROJECT KEY_ID --workspace WS [--days N] [--json]

Usage is what the local gateway counted (accepted requests per UTC day). Keys of apps on AWS are
listed too; their traffic is counted by API Gateway (see its usage API), not here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from agents.appkeys.ports import AppKeyRepository

T = TypeVar("T")


async def usage_report(
    repo: AppKeyRepository, workspace_id: str, project_id: str, key_id: str, *, days: int
) -> dict[str, Any] | None:
    """Per-day counts for one key of the project, or None when it is not in this workspace."""
    key = await repo.get_key(workspace_id, project_id, key_id)
    if key is None:
        return None
    since = datetime.now(UTC).date() - timedelta(days=max(days, 1) - 1)
    rows = await repo.usage(workspace_id, key_id, since=since)
    return {
        "api_key_id": key.key_id,
        "project_id": key.project_id,
        "target": key.target,
        "status": "active" if key.active else "deleted",
        "since": since.isoformat(),
        "days": [{"day": r.day.isoformat(), "count": r.count} for r in rows],
        "total": sum(r.count for r in rows),
    }


async def list_report(
    repo: AppKeyRepository, workspace_id: str, project_id: str, *, include_deleted: bool
) -> list[dict[str, Any]]:
    """The project's keys (never their values) with an additive `usage` summary."""
    today = datetime.now(UTC).date()
    out: list[dict[str, Any]] = []
    for key in await repo.list_keys(workspace_id, project_id, include_deleted=include_deleted):
        rows = await repo.usage(workspace_id, key.key_id)
        out.append(
            {
                "api_key_id": key.key_id,
                "name": key.name,
                "app_id": key.app_id,
                "target": key.target,
                "usage_plan_id": key.usage_plan_id,
                "status": "active" if key.active else "deleted",
                "created_at": key.created_at.isoformat() if key.created_at else None,
                "usage": {
                    "today": sum(r.count for r in rows if r.day == today),
                    "last_30_days": sum(r.count for r in rows if r.day > today - timedelta(30)),
                    "total": sum(r.count for r in rows),
                },
            }
        )
    return out


async def _with_repo(args: argparse.Namespace, fn: Callable[[Any], Awaitable[T]]) -> T:
    from server.db.appkeys import SqlAppKeyRepository
    from server.db.base import make_engine, make_sessionmaker
    from server.db.migrate import upgrade
    from server.settings import load_settings

    settings = load_settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)
        return await fn(SqlAppKeyRepository(make_sessionmaker(engine)))
    finally:
        await engine.dispose()


def cmd_list(args: argparse.Namespace) -> int:
    async def run(repo: Any) -> list[dict[str, Any]]:
        return await list_report(
            repo, args.workspace, args.project, include_deleted=args.include_deleted
        )

    keys = asyncio.run(_with_repo(args, run))
    if args.json:
        print(json.dumps(keys, indent=2))
        return 0
    print(f"{'KEY ID':14} {'NAME':24} {'TARGET':10} {'PLAN':16} {'TODAY':>7} {'TOTAL':>9} STATUS")
    for k in keys:
        print(
            f"{k['api_key_id']:14} {(k['name'] or '-')[:24]:24} {k['target'][:10]:10} "
            f"{k['usage_plan_id'][:16]:16} {k['usage']['today']:>7} {k['usage']['total']:>9} "
            f"{k['status']}"
        )
    return 0


def cmd_usage(args: argparse.Namespace) -> int:
    async def run(repo: Any) -> dict[str, Any] | None:
        return await usage_report(repo, args.workspace, args.project, args.key_id, days=args.days)

    report = asyncio.run(_with_repo(args, run))
    if report is None:
        print(f"no API key {args.key_id} in project {args.project}", file=sys.stderr)
        return 2  # not found: the usage/not-found exit code
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"key {report['api_key_id']} ({report['status']}, {report['target']})")
    for row in report["days"]:
        print(f"{row['day']}  {row['count']:>9}")
    print(f"total since {report['since']}: {report['total']}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    apikey = subparsers.add_parser("apikey", help="API keys of deployed apps (local gateway)")
    sub = apikey.add_subparsers(dest="apikey_cmd", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("project", help="project id")
        p.add_argument("--workspace", required=True, help="workspace the project belongs to")
        p.add_argument("--data-dir", dest="data_dir", default=None, help="data directory")
        p.add_argument("--json", action="store_true", help="print JSON")

    lst = sub.add_parser("list", help="list a project's app keys with usage")
    common(lst)
    lst.add_argument("--all", dest="include_deleted", action="store_true", help="with deleted")
    lst.set_defaults(func=cmd_list)

    usage = sub.add_parser("usage", help="requests per day for one key")
    common(usage)
    usage.add_argument("key_id", help="api_key_id from /createapikey")
    usage.add_argument("--days", type=int, default=30, help="how many days back (default 30)")
    usage.set_defaults(func=cmd_usage)
