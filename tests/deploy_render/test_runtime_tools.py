"""The runtime's tools (the files copied into every generated repository)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from infra_templates.runtime.fetch import FetchLimits
from infra_templates.runtime.tools import ToolContext, ToolError, current_time, evaluate, run_tool
from tests.deploy_render.peers import web_peer


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "faq.txt").write_text("Q: hours?\nA: 9 to 5 on weekdays\n")
    return ToolContext(documents_dir=tmp_path)


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("2 ** 10 % 1000", 24),
        ("7 // 2 - -1", 4),
        ("sqrt(2) ** 2", 2.0000000000000004),
        ("round(pi, 2)", 3.14),
    ],
)
def test_calculator_evaluates_arithmetic(expression: str, value: float) -> None:
    """Arithmetic operators, parentheses and math functions evaluate."""
    assert evaluate(expression) == value


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('true')",
        "open('/etc/passwd')",
        "x",
        "(lambda: 1)()",
        "[1][0]",
        "'a' * 3",
        "9 ** 99999",
        "factorial(5000)",
        "1 / 0",
        "abs(x=1)",
    ],
)
def test_calculator_refuses_anything_but_arithmetic(expression: str, ctx: ToolContext) -> None:
    """Names, calls outside the allow-list, strings, huge powers and errors are refused."""
    with pytest.raises(ToolError):
        run_tool("calculator", {"expression": expression}, ctx)


def test_current_time_uses_the_named_zone(ctx: ToolContext) -> None:
    """A fixed instant is shown in the requested zone; unknown zones are refused."""
    moment = dt.datetime(2025, 1, 15, 12, 0, tzinfo=dt.UTC)
    answer = json.loads(current_time({"timezone": "America/New_York"}, ctx, now=moment))
    assert answer == {
        "timezone": "America/New_York",
        "iso": "2025-01-15T07:00:00-05:00",
        "weekday": "Wednesday",
    }
    with pytest.raises(ToolError, match="unknown time zone"):
        run_tool("current_time", {"timezone": "Nowhere/City"}, ctx)


def test_json_query_selects_by_path(ctx: ToolContext) -> None:
    """Dotted keys and [index] steps select values; a missing step is an error."""
    doc = {"orders": [{"id": 1, "items": [{"sku": "A"}]}, {"id": 2, "items": []}]}
    assert (
        run_tool("json_query", {"document": json.dumps(doc), "path": "orders[0].items[0].sku"}, ctx)
        == '"A"'
    )
    assert run_tool("json_query", {"document": doc, "path": "orders[-1].id"}, ctx) == "2"
    with pytest.raises(ToolError, match="not found"):
        run_tool("json_query", {"document": doc, "path": "orders[5]"}, ctx)
    with pytest.raises(ToolError, match="bad path"):
        run_tool("json_query", {"document": doc, "path": "orders..id"}, ctx)


def test_document_reader_stays_inside_documents(ctx: ToolContext) -> None:
    """list/read/search work on bundled files; names outside the folder are not found."""
    assert json.loads(run_tool("document_reader", {"action": "list"}, ctx)) == ["notes/faq.txt"]
    assert "9 to 5" in run_tool("document_reader", {"action": "read", "name": "notes/faq.txt"}, ctx)
    hits = json.loads(run_tool("document_reader", {"action": "search", "query": "WEEKDAYS"}, ctx))
    assert hits == [{"document": "notes/faq.txt", "line": 2, "text": "A: 9 to 5 on weekdays"}]
    with pytest.raises(ToolError, match="no document"):
        run_tool("document_reader", {"action": "read", "name": "../../etc/passwd"}, ctx)


def test_http_fetch_refuses_loopback_by_default(ctx: ToolContext) -> None:
    """A loopback server is refused unless the allow-private test flag is set."""
    with web_peer(b"secret") as base, pytest.raises(ToolError, match="non-public address"):
        run_tool("http_fetch", {"url": f"{base}/page"}, ctx)
    for url in (
        "http://localhost/",
        "http://[::1]/",
        "http://169.254.169.254/",
        "ftp://example.com/",
    ):
        with pytest.raises(ToolError):
            run_tool("http_fetch", {"url": url}, ctx)


def test_http_fetch_reads_text_follows_redirects_and_caps_size(tmp_path: Path) -> None:
    """With the flag set: HTML becomes text, redirects are followed, bodies are truncated."""
    ctx = ToolContext(documents_dir=tmp_path, allow_private_fetch=True)
    page = (
        b"<html><head><style>p{}</style></head>"
        b"<body><p>Hello</p><script>x()</script><p>World</p></body></html>"
    )
    with web_peer(page, "text/html; charset=utf-8") as base:
        assert run_tool("http_fetch", {"url": f"{base}/redirect"}, ctx) == "Hello\nWorld"
    small = ToolContext(
        documents_dir=tmp_path, allow_private_fetch=True, fetch_limits=FetchLimits(max_bytes=10)
    )
    with web_peer(b"0123456789abcdef") as base:
        assert run_tool("http_fetch", {"url": f"{base}/big"}, small) == "0123456789\n[truncated]"
