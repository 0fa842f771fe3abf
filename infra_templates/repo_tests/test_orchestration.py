"""Pipeline and supervisor orchestration, tool calls and memory, with a scripted model."""

from __future__ import annotations

import tempfile
import unittest
from pathlib import Path

from runtime.orchestrate import Runtime, parse_decision
from runtime.spec import parse_spec
from runtime.tools import ToolContext
from tests.fakes import ScriptedModel, spec_dict, tool_call


def make_runtime(
    model: ScriptedModel, pattern: str = "pipeline", **orchestration: object
) -> Runtime:
    return Runtime(
        parse_spec(spec_dict(pattern, **orchestration)),
        model,
        tool_context=ToolContext(documents_dir=Path(tempfile.gettempdir()) / "no-such-documents"),
    )


class PipelineTest(unittest.TestCase):
    def test_each_agent_gets_the_request_and_the_previous_output(self) -> None:
        model = ScriptedModel("plan", "facts", "final text")
        result = make_runtime(model).run("topic", session_id="s1")
        self.assertEqual(result.output, "final text")
        self.assertEqual([t["agent"] for t in result.trace], ["lead", "researcher", "writer"])
        inputs = [call["messages"][-1]["content"][0]["text"] for call in model.calls]
        self.assertEqual(inputs[0], "topic")
        for text, previous in zip(inputs[1:], ["plan", "facts"], strict=True):
            self.assertTrue(text.startswith("User request:\ntopic\n"))
            self.assertTrue(text.endswith(f"):\n{previous}"))

    def test_tool_calls_run_and_return_results(self) -> None:
        model = ScriptedModel("plan", tool_call("calculator", expression="6*7"), "it is 42", "done")
        result = make_runtime(model).run("topic", session_id="s1")
        researcher_second_call = model.calls[2]
        result_block = researcher_second_call["messages"][-1]["content"][0]["toolResult"]
        self.assertEqual(result_block["content"][0]["text"], "42")
        self.assertEqual(result.trace[1]["tool_calls"][0]["tool"], "calculator")
        self.assertEqual(model.calls[1]["tools"], ["calculator"])

    def test_memory_carries_turns_within_a_session(self) -> None:
        model = ScriptedModel("a1", "r1", "w1", "a2", "r2", "w2", "a3", "r3", "w3")
        runtime = make_runtime(model)
        runtime.run("first", session_id="same")
        runtime.run("second", session_id="same")
        runtime.run("third", session_id="other")
        lead_calls = [c for c in model.calls if c["system"] == "You are the lead."]
        texts = [[m["content"][0]["text"] for m in c["messages"]] for c in lead_calls]
        self.assertEqual(texts[1], ["first", "a1", "second"])
        self.assertEqual(texts[2], ["third"])


class SupervisorTest(unittest.TestCase):
    def test_supervisor_delegates_then_finishes(self) -> None:
        model = ScriptedModel(
            '{"next": "researcher", "input": "find facts"}',
            "facts found",
            '{"next": "writer", "input": "write it up"}',
            "the article",
            '{"final": "the article, checked"}',
        )
        result = make_runtime(model, "supervisor").run("topic", session_id="s")
        self.assertEqual(result.output, "the article, checked")
        agents = [t["agent"] for t in result.trace]
        self.assertEqual(agents, ["lead", "researcher", "lead", "writer", "lead"])
        self.assertEqual(model.calls[1]["messages"][-1]["content"][0]["text"], "find facts")

    def test_supervisor_is_bounded_by_max_turns(self) -> None:
        replies = []
        for i in range(2):
            replies += ['{"next": "researcher", "input": "again"}', f"result {i}"]
        result = make_runtime(ScriptedModel(*replies), "supervisor", max_turns=2).run(
            "x", session_id="s"
        )
        self.assertEqual(result.output, "result 1")
        self.assertEqual(result.trace[-1]["note"], "max_turns reached")

    def test_decision_parsing(self) -> None:
        self.assertEqual(
            parse_decision('Sure: {"next": "writer", "input": "go"}').next_agent, "writer"
        )
        self.assertEqual(parse_decision("plain answer").final, "plain answer")


if __name__ == "__main__":
    unittest.main()
