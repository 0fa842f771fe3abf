"""A paced OpenAI-compatible model on loopback for bench_research (the model's side of the wire).

`POST /v1/chat/completions` (`stream: true`) answers `text/event-stream` chat.completion.chunk
lines of `chunk` characters, `delay` seconds apart, then a usage chunk and `[DONE]`, as
agents/llm/openai_compat.py expects. Answers follow what each research request asks for (its
`response_format` schema name): a plan of `questions` questions, claims quoted from the sources
in the prompt, three use cases, and a report written from the verified claims.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "bench-model"
_SOURCE = re.compile(r"^\[(\d+)\] [^\n]*\n(.*?)(?=\n\n\[\d+\] |\n\nAnswer as JSON|\Z)", re.M | re.S)
_SENTENCE = re.compile(r"[A-Z][^.!?\n]{39,300}[.!?](?=\s|$)")
_CLAIM = re.compile(r"^- (.+?) \[(\d+)\]$", re.M)


def _claims(prompt: str) -> dict[str, Any]:
    sources = prompt.partition("\nSources:\n")[2]
    claims = []
    for match in _SOURCE.finditer(sources):
        flat = " ".join(match.group(2).replace("**", "").split())
        sentence = next(iter(_SENTENCE.findall(flat)), None)
        if sentence:
            claims.append({"claim": sentence, "source": int(match.group(1)), "quote": sentence})
    return {"claims": claims, "missing": []}


def _use_cases() -> dict[str, Any]:
    return {
        "use_cases": [
            {
                "title": f"Use case {i}",
                "description": f"Description {i}",
                "business_value": "Saves analyst time",
                "implementation": "Start with a pilot",
                "estimated_roi": "",
                "roi_basis": "",
                "evidence": [1],
                "cost": "low",
                "risk": "medium",
                "fit": "strong",
            }
            for i in range(1, 4)
        ]
    }


def _written(prompt: str) -> str:
    facts = [f"{text.rstrip('.')} [{n}]." for text, n in _CLAIM.findall(prompt)] or [
        "Banks invest in AI [1]."
    ]
    headings = ("Executive Summary", "Market Analysis", "Key Findings", "Recommendations")
    return "\n\n".join(
        f"## {h}\n\n" + " ".join(facts[i::4] or facts[:1]) for i, h in enumerate(headings)
    )


def answer(body: dict[str, Any], questions: int) -> str:
    fmt = body.get("response_format") or {}
    schema = (fmt.get("json_schema") or {}).get("name")
    prompt = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
    if schema == "research_plan":
        asked = [f"Research question {i} on AI adoption in banking?" for i in range(questions)]
        return json.dumps({"questions": asked})
    if schema == "research_claims":
        return json.dumps(_claims(prompt))
    if schema == "use_cases":
        return json.dumps(_use_cases())
    return _written(prompt)


@contextmanager
def paced_model(*, questions: int, delay: float, chunk: int = 8) -> Iterator[str]:
    """Serve the model; yields its base URL (`http://127.0.0.1:PORT/v1`)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            text = answer(body, questions)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for i in range(0, len(text), chunk):
                if delay:
                    time.sleep(delay)
                self._send({"choices": [{"index": 0, "delta": {"content": text[i : i + chunk]}}]})
            self._send({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            tokens = {
                "prompt_tokens": len(json.dumps(body)) // 4,
                "completion_tokens": len(text) // 4,
            }
            self._send({"choices": [], "usage": tokens})
            self.wfile.write(b"data: [DONE]\n\n")

        def _send(self, payload: dict[str, Any]) -> None:
            chunk = {"id": "bench", "object": "chat.completion.chunk", "model": MODEL, **payload}
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
