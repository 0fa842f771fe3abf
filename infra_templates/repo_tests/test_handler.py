"""The Lambda handler's request contract: 200 with output and trace, 400 on a bad body."""

from __future__ import annotations

import base64
import json
import tempfile
import unittest
from pathlib import Path

from runtime.app import App
from runtime.handler import handle_event
from runtime.orchestrate import Runtime
from runtime.spec import parse_spec
from runtime.tools import ToolContext
from tests.fakes import ScriptedModel, spec_dict


def make_app(model: ScriptedModel) -> App:
    context = ToolContext(documents_dir=Path(tempfile.gettempdir()) / "no-such-documents")
    return App(Runtime(parse_spec(spec_dict()), model, tool_context=context))


class HandlerTest(unittest.TestCase):
    def test_invoke_runs_the_pipeline(self) -> None:
        app = make_app(ScriptedModel("a", "b", "c"))
        event = {"resource": "/invoke", "body": json.dumps({"input": "hi", "session_id": "abc"})}
        response = handle_event(app, event)
        self.assertEqual(response["statusCode"], 200)
        body = json.loads(response["body"])
        self.assertEqual(body["output"], "c")
        self.assertEqual(body["session_id"], "abc")
        self.assertEqual(len(body["agents"]), 3)

    def test_target_path_runs_one_agent_and_base64_bodies_decode(self) -> None:
        app = make_app(ScriptedModel("only the researcher"))
        raw = base64.b64encode(json.dumps({"input": "hi"}).encode()).decode()
        response = handle_event(
            app, {"resource": "/research", "body": raw, "isBase64Encoded": True}
        )
        body = json.loads(response["body"])
        self.assertEqual(body["output"], "only the researcher")
        self.assertEqual([t["agent"] for t in body["agents"]], ["researcher"])
        self.assertTrue(body["session_id"])

    def test_bad_bodies_are_400_with_a_message(self) -> None:
        app = make_app(ScriptedModel())
        for body, fragment in (
            (None, "empty"),
            ("not json", "not valid JSON"),
            ("[1]", "JSON object"),
            ('{"input": ""}', "'input'"),
            ('{"input": "x", "extra": 1}', "unknown field"),
            ('{"input": "x", "session_id": "bad id!"}', "session_id"),
        ):
            with self.subTest(body=body):
                response = handle_event(app, {"resource": "/invoke", "body": body})
                self.assertEqual(response["statusCode"], 400)
                self.assertIn(fragment, json.loads(response["body"])["error"])


if __name__ == "__main__":
    unittest.main()
