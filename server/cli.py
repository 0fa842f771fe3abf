"""The `qubitz` command: serve, keys, db, and the commands each area registers."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import DBAPIError

from agents.protocol import Scope
from server.logs import configure_logging
from server.settings import Settings, SettingsError, load_settings

# Modules that add their own subcommands with `register(subparsers)`.
COMMAND_MODULES = (
    "server.cli_models",
    "server.cli_spec",
    "server.cli_apikey",
    "server.cli_client",
    "server.cli_jobs",
    "server.doctor",
)

EXIT_OK, EXIT_USAGE, EXIT_CONNECTION = 0, 2, 5
EXIT_CODES = """exit codes: 0 success · 2 usage, refused request, or not found · 3 authentication or
scope · 4 the job failed or was cancelled · 5 connection lost / service unreachable ·
130 interrupted (Ctrl-C; a followed job was detached and goes on) · `qubitz doctor` and
`qubitz models`: 1 when a configured part is not usable"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("qubitz")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("host", "port", "data_dir"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    settings = load_settings(**overrides)
    from server.extras import require_extras

    require_extras(settings)  # a configured backend whose extra is missing: exit 2, named
    return settings


def _add_db_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        dest="data_dir",
        default=None,
        help="data directory (default .qubitz, or QUBITZ_DATA_DIR)",
    )


# -- serve ------------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from server.serve import serve

    settings = _settings(args)
    _startup_summary(settings)
    serve(settings)
    return EXIT_OK


def _startup_summary(settings: Settings) -> None:
    """What `qubitz doctor` says, logged once before serving (problems as warnings)."""
    import logging

    from server.doctor import run_checks

    log = logging.getLogger("qubitz.startup")
    for check in asyncio.run(run_checks(settings)):
        if check.ok:
            log.info("%-9s %s: %s", check.part, check.what, check.detail)
        else:
            fix = f" (fix: {check.fix})" if check.fix else ""
            log.warning("%-9s %s: %s%s", check.part, check.what, check.detail, fix)


# -- keys -------------------------------------------------------------------------------------


async def _with_keys(settings: Settings, fn: Any) -> Any:
    from server.auth import KeyService
    from server.db.base import make_engine, make_sessionmaker
    from server.db.keys import KeyRepository
    from server.db.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    try:
        await upgrade(engine)
        repo = KeyRepository(make_sessionmaker(engine))
        return await fn(repo, KeyService(repo))
    finally:
        await engine.dispose()


def cmd_keys_create(args: argparse.Namespace) -> int:
    scope = Scope.UCT if args.scope == "uct" else Scope.CONTROL_HUB

    async def run(_repo: Any, keys: Any) -> None:
        key, record = await keys.create(scope, workspace_id=args.workspace, name=args.name or "")
        print(
            f"id={record.id} scope={record.scope} workspace={record.workspace_id} "
            f"name={record.name!r}",
            file=sys.stderr,
        )
        print(
            "Store this key now: it is shown once and kept only as a SHA-256 hash.", file=sys.stderr
        )
        print(key)

    asyncio.run(_with_keys(_settings(args), run))
    return EXIT_OK


def _key_json(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "scope": r.scope,
        "workspace_id": r.workspace_id,
        "name": r.name,
        "prefix": r.prefix,
        "use_count": r.use_count,
        "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None,
        "status": "revoked" if r.revoked_at else "active",
    }


def cmd_keys_list(args: argparse.Namespace) -> int:
    async def run(repo: Any, _keys: Any) -> None:
        rows = await repo.list_keys(args.workspace)
        if args.json:
            print(json.dumps([_key_json(r) for r in rows], indent=2))
            return
        print(
            f"{'ID':22} {'SCOPE':5} {'WORKSPACE':16} {'NAME':16} {'PREFIX':14} "
            f"{'USES':>5} {'LAST USED':20} STATUS"
        )
        for r in rows:
            last = r.last_used_at.strftime("%Y-%m-%d %H:%M:%S") if r.last_used_at else "-"
            status = "revoked" if r.revoked_at else "active"
            print(
                f"{r.id:22} {r.scope:5} {r.workspace_id[:16]:16} {r.name[:16]:16} "
                f"{r.prefix + '…':14} {r.use_count:>5} {last:20} {status}"
            )

    asyncio.run(_with_keys(_settings(args), run))
    return EXIT_OK


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    async def run(repo: Any, _keys: Any) -> bool:
        return bool(await repo.revoke(args.key_id))

    if not asyncio.run(_with_keys(_settings(args), run)):
        print(f"qubitz: no active key {args.key_id}", file=sys.stderr)
        return EXIT_USAGE
    print(f"revoked {args.key_id}")
    return EXIT_OK


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    async def run(_repo: Any, _keys: Any) -> None:
        return None

    asyncio.run(_with_keys(_settings(args), run))
    print("database is at the newest schema revision")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qubitz",
        description=__doc__,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the service (uvicorn)")
    serve.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8008)")
    _add_db_flags(serve)
    serve.set_defaults(func=cmd_serve)

    keys = sub.add_parser("keys", help="service API keys").add_subparsers(
        dest="keys_cmd", required=True
    )
    create = keys.add_parser("create", help="mint a key; printed once, on the last line")
    create.add_argument("--scope", choices=["uct", "ch"], required=True)
    create.add_argument("--name", default=None)
    create.add_argument("--workspace", default="default")
    _add_db_flags(create)
    create.set_defaults(func=cmd_keys_create)
    lst = keys.add_parser("list", help="list keys (never their secrets)")
    lst.add_argument("--workspace", default=None)
    lst.add_argument("--json", action="store_true", help="print JSON")
    _add_db_flags(lst)
    lst.set_defaults(func=cmd_keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    _add_db_flags(revoke)
    revoke.set_defaults(func=cmd_keys_revoke)

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_cmd", required=True)
    up = db.add_parser("upgrade", help="apply migrations")
    _add_db_flags(up)
    up.set_defaults(func=cmd_db_upgrade)

    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging("debug" if args.verbose else "info")
    if not args.verbose:  # one INFO line per HTTP request is noise in a terminal
        logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        print(f"qubitz: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except FileNotFoundError as exc:
        print(f"qubitz: no such file: {exc.filename}", file=sys.stderr)
        return EXIT_USAGE
    except (ConnectionError, TimeoutError, DBAPIError) as exc:  # a backend does not answer
        reason = getattr(exc, "orig", None) or exc
        print(f"qubitz: cannot reach a backend: {str(reason)[:300]}", file=sys.stderr)
        print("qubitz: `qubitz doctor` shows what is configured and how to fix it", file=sys.stderr)
        return EXIT_CONNECTION


if __name__ == "__main__":
    raise SystemExit(main())
