"""The tool catalog: http_fetch, calculator, current_time, json_query, document_reader.

Each tool takes a dict of arguments (validated here, never trusted) and returns text. A tool
that cannot do what was asked raises ToolError; the agent loop hands the message to the model.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .fetch import FetchError, FetchLimits, fetch_text
from .models import ToolSpec


class ToolError(ValueError):
    """The tool refused or failed; the message is shown to the model."""


@dataclass(frozen=True)
class ToolContext:
    documents_dir: Path
    fetch_limits: FetchLimits = FetchLimits()
    allow_private_fetch: bool = False  # tests only: lets http_fetch reach loopback servers
    max_document_chars: int = 20_000


ToolFn = Callable[[dict[str, Any], ToolContext], str]


# --- calculator ----------------------------------------------------------------------------

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: getattr(math, name)
    for name in (
        "sqrt",
        "exp",
        "log",
        "log10",
        "log2",
        "sin",
        "cos",
        "tan",
        "asin",
        "acos",
        "atan",
        "floor",
        "ceil",
        "fabs",
        "factorial",
    )
} | {"abs": abs, "round": round, "min": min, "max": max}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
_MAX_EXPRESSION = 500
_MAX_EXPONENT = 10_000
_MAX_MAGNITUDE = 10**100


def evaluate(expression: str) -> int | float:
    """Evaluate arithmetic safely: numbers, + - * / // % **, parentheses, math functions."""
    if len(expression) > _MAX_EXPRESSION:
        raise ToolError(f"expression longer than {_MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"not an arithmetic expression: {exc.msg}") from None
    try:
        return _eval(tree.body)
    except (ZeroDivisionError, OverflowError, ValueError, TypeError) as exc:
        raise ToolError(f"cannot evaluate: {exc}") from None


def _eval(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise ToolError(f"exponent larger than {_MAX_EXPONENT}")
        result = _BINARY[type(node.op)](left, right)
        if isinstance(result, int) and abs(result) > _MAX_MAGNITUDE:
            raise ToolError("result too large")
        return result
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        args = [_eval(a) for a in node.args]
        if node.func.id == "factorial" and args and args[0] > 1000:
            raise ToolError("factorial argument larger than 1000")
        return _FUNCTIONS[node.func.id](*args)
    raise ToolError(f"not allowed in an arithmetic expression: {type(node).__name__}")


def calculator(args: dict[str, Any], ctx: ToolContext) -> str:
    expression = args.get("expression")
    if not isinstance(expression, str) or not expression.strip():
        raise ToolError("calculator needs 'expression' (a string)")
    return repr(evaluate(expression))


# --- current_time --------------------------------------------------------------------------


def current_time(args: dict[str, Any], ctx: ToolContext, *, now: dt.datetime | None = None) -> str:
    name = args.get("timezone") or "UTC"
    if not isinstance(name, str):
        raise ToolError("'timezone' must be an IANA time zone name such as Europe/Paris")
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(f"unknown time zone {name!r}") from None
    moment = (now or dt.datetime.now(dt.UTC)).astimezone(zone)
    return json.dumps(
        {
            "timezone": name,
            "iso": moment.isoformat(timespec="seconds"),
            "weekday": moment.strftime("%A"),
        }
    )


# --- json_query ----------------------------------------------------------------------------

_PATH_TOKEN = re.compile(r"([^.\[\]]+)|\[(-?\d+)\]")


def parse_path(path: str) -> list[str | int]:
    tokens: list[str | int] = []
    position = 0
    for match in _PATH_TOKEN.finditer(path):
        gap = path[position : match.start()]
        if gap not in ("", "."):
            raise ToolError(f"bad path {path!r} near {gap!r}")
        tokens.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        position = match.end()
    if path[position:] not in ("",):
        raise ToolError(f"bad path {path!r} near {path[position:]!r}")
    return tokens


def query(document: Any, path: str) -> Any:
    value = document
    for token in parse_path(path) if path else []:
        if isinstance(token, int):
            if not isinstance(value, list) or not -len(value) <= token < len(value):
                raise ToolError(f"index [{token}] not found in {path!r}")
            value = value[token]
        elif isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            raise ToolError(f"key {token!r} not found in {path!r}")
    return value


def json_query(args: dict[str, Any], ctx: ToolContext) -> str:
    document = args.get("document")
    path = args.get("path", "")
    if not isinstance(path, str):
        raise ToolError("'path' must be a string such as a.b[0].c")
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            raise ToolError(f"'document' is not valid JSON: {exc.msg}") from None
    if document is None:
        raise ToolError("json_query needs 'document' (JSON text or a JSON value)")
    return json.dumps(query(document, path), ensure_ascii=False)


# --- document_reader -----------------------------------------------------------------------

_TEXT_SUFFIXES = {".md", ".txt", ".csv", ".json", ".html", ".htm", ".xml", ".yaml", ".yml"}


def _documents(ctx: ToolContext) -> list[Path]:
    if not ctx.documents_dir.is_dir():
        return []
    return sorted(
        p
        for p in ctx.documents_dir.rglob("*")
        if p.is_file() and p.suffix.lower() in _TEXT_SUFFIXES
    )


def _name(path: Path, ctx: ToolContext) -> str:
    return path.relative_to(ctx.documents_dir).as_posix()


def document_reader(args: dict[str, Any], ctx: ToolContext) -> str:
    action = args.get("action", "list")
    documents = _documents(ctx)
    if action == "list":
        return json.dumps([_name(p, ctx) for p in documents])
    if action == "read":
        name = args.get("name")
        match = [p for p in documents if _name(p, ctx) == name]
        if not match:
            raise ToolError(f"no document named {name!r}; use action 'list'")
        text = match[0].read_text(encoding="utf-8", errors="replace")
        return text[: ctx.max_document_chars]
    if action == "search":
        needle = args.get("query")
        if not isinstance(needle, str) or not needle.strip():
            raise ToolError("search needs 'query'")
        hits = []
        for path in documents:
            for number, line in enumerate(
                path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
            ):
                if needle.lower() in line.lower():
                    hits.append(
                        {"document": _name(path, ctx), "line": number, "text": line.strip()[:300]}
                    )
                    if len(hits) >= 50:
                        return json.dumps(hits, ensure_ascii=False)
        return json.dumps(hits, ensure_ascii=False)
    raise ToolError("action must be one of list, read, search")


# --- http_fetch ----------------------------------------------------------------------------


def http_fetch(args: dict[str, Any], ctx: ToolContext) -> str:
    url = args.get("url")
    if not isinstance(url, str):
        raise ToolError("http_fetch needs 'url'")
    try:
        return fetch_text(url, limits=ctx.fetch_limits, allow_private=ctx.allow_private_fetch)
    except FetchError as exc:
        raise ToolError(str(exc)) from None


# --- catalog -------------------------------------------------------------------------------

_STRING = {"type": "string"}
TOOLS: dict[str, tuple[ToolFn, ToolSpec]] = {
    "http_fetch": (
        http_fetch,
        ToolSpec(
            "http_fetch",
            "Fetch a public http(s) URL and return its text (private addresses are refused).",
            {"type": "object", "properties": {"url": _STRING}, "required": ["url"]},
        ),
    ),
    "calculator": (
        calculator,
        ToolSpec(
            "calculator",
            "Evaluate arithmetic: + - * / // % ** parentheses, sqrt, log, sin, pi, e.",
            {"type": "object", "properties": {"expression": _STRING}, "required": ["expression"]},
        ),
    ),
    "current_time": (
        current_time,
        ToolSpec(
            "current_time",
            "The current date and time in UTC or in a named IANA time zone (e.g. Europe/Paris).",
            {"type": "object", "properties": {"timezone": _STRING}},
        ),
    ),
    "json_query": (
        json_query,
        ToolSpec(
            "json_query",
            "Select a value from a JSON document with a dotted/indexed path such as a.b[0].c.",
            {
                "type": "object",
                "properties": {"document": _STRING, "path": _STRING},
                "required": ["document", "path"],
            },
        ),
    ),
    "document_reader": (
        document_reader,
        ToolSpec(
            "document_reader",
            "List, read or search the documents bundled with this app.",
            {
                "type": "object",
                "properties": {
                    "action": {"type": "string", "enum": ["list", "read", "search"]},
                    "name": _STRING,
                    "query": _STRING,
                },
                "required": ["action"],
            },
        ),
    ),
}


def run_tool(name: str, args: dict[str, Any], ctx: ToolContext) -> str:
    if name not in TOOLS:
        raise ToolError(f"unknown tool {name!r}")
    return TOOLS[name][0](args, ctx)
