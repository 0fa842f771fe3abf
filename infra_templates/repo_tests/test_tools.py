"""The tool catalog works offline: arithmetic, time zones, JSON paths, documents, URL guard."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import unittest
from pathlib import Path

from runtime.tools import ToolContext, ToolError, run_tool


class ToolsTest(unittest.TestCase):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.docs = Path(self._tmp.name)
        (self.docs / "guide.md").write_text("# Guide\nRefunds take 14 days.\n", encoding="utf-8")
        self.ctx = ToolContext(documents_dir=self.docs)

    def tearDown(self) -> None:
        self._tmp.cleanup()

    def test_calculator_evaluates_arithmetic(self) -> None:
        self.assertEqual(
            run_tool("calculator", {"expression": "(2 + 3) * 4 ** 2 - 10 % 3"}, self.ctx), "79"
        )
        self.assertEqual(
            run_tool("calculator", {"expression": "sqrt(16) + floor(2.7)"}, self.ctx), "6.0"
        )

    def test_calculator_refuses_code(self) -> None:
        for expression in ("__import__('os')", "open('x')", "[1, 2]", "a.b", "2 ** 999999", "1/0"):
            with self.subTest(expression=expression), self.assertRaises(ToolError):
                run_tool("calculator", {"expression": expression}, self.ctx)

    def test_current_time_in_a_named_zone(self) -> None:
        answer = json.loads(run_tool("current_time", {"timezone": "Asia/Tokyo"}, self.ctx))
        self.assertTrue(answer["iso"].endswith("+09:00"))
        self.assertEqual(
            dt.datetime.fromisoformat(answer["iso"]).utcoffset(), dt.timedelta(hours=9)
        )
        with self.assertRaises(ToolError):
            run_tool("current_time", {"timezone": "Mars/Olympus"}, self.ctx)

    def test_json_query_follows_dotted_and_indexed_paths(self) -> None:
        document = json.dumps({"a": {"b": [{"c": 1}, {"c": "two"}]}})
        self.assertEqual(
            run_tool("json_query", {"document": document, "path": "a.b[1].c"}, self.ctx), '"two"'
        )
        self.assertEqual(
            run_tool("json_query", {"document": document, "path": "a.b[-2]"}, self.ctx), '{"c": 1}'
        )
        with self.assertRaises(ToolError):
            run_tool("json_query", {"document": document, "path": "a.x"}, self.ctx)

    def test_document_reader_lists_reads_and_searches(self) -> None:
        self.assertEqual(
            json.loads(run_tool("document_reader", {"action": "list"}, self.ctx)), ["guide.md"]
        )
        self.assertIn(
            "14 days", run_tool("document_reader", {"action": "read", "name": "guide.md"}, self.ctx)
        )
        hits = json.loads(
            run_tool("document_reader", {"action": "search", "query": "refunds"}, self.ctx)
        )
        self.assertEqual(
            hits, [{"document": "guide.md", "line": 2, "text": "Refunds take 14 days."}]
        )
        with self.assertRaises(ToolError):
            run_tool("document_reader", {"action": "read", "name": "../etc/passwd"}, self.ctx)

    def test_http_fetch_refuses_private_addresses(self) -> None:
        for url in (
            "http://127.0.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.1/",
            "file:///etc/passwd",
        ):
            with self.subTest(url=url), self.assertRaises(ToolError):
                run_tool("http_fetch", {"url": url}, self.ctx)


if __name__ == "__main__":
    unittest.main()
