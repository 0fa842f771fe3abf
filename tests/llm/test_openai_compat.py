"""The OpenAI-compatible provider against a real llama.cpp server (llama_cpp.server) on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from agents.llm.errors import (
    LLMConnectionError,
    LLMRetriesExhaustedError,
    LLMServerError,
)
from agents.llm.local_models import TINY, packaged_file
from agents.llm.openai_compat import OpenAICompatibleLLM
from agents.llm.port import Completed, CompletionRequest, Message, TextDelta, complete
from agents.llm.retry import RetryPolicy
from tests.llm.needs import needs_tiny_model

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.allow_model_requests,
    needs_tiny_model,
]

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(packaged_file(TINY)),
            "--model_alias",
            "tiny",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, "llama_cpp.server exited; see its log"
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "llama_cpp.server did not start in 90 s"
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=60) as c:
        yield c


def ask(text: str, **kw: object) -> CompletionRequest:
    return CompletionRequest(
        system="You are brief.",
        messages=[Message("user", text)],
        temperature=0.0,
        **kw,  # type: ignore[arg-type]
    )


async def test_streams_deltas_then_a_result(llama_server: str, client: httpx.AsyncClient) -> None:
    """Chunks from /v1/chat/completions stream as deltas; the result joins them."""
    llm = OpenAICompatibleLLM(base_url=llama_server, model="tiny", http_client=client)
    events = [e async for e in llm.stream(ask("Name a fruit.", max_tokens=10))]
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    final = events[-1]
    assert isinstance(final, Completed)
    assert len(deltas) >= 1
    assert final.result.text == "".join(deltas)
    assert final.result.stop_reason in {"end_turn", "max_tokens"}
    assert 0 < final.result.usage.output_tokens <= 10


async def test_structured_output_validates_against_the_schema(
    llama_server: str, client: httpx.AsyncClient
) -> None:
    """json_object mode with a schema makes the server constrain decoding; the dict validates."""
    llm = OpenAICompatibleLLM(
        base_url=llama_server, model="tiny", http_client=client, structured_mode="json_object"
    )
    result = await complete(llm, ask("Paris as JSON.", max_tokens=48, json_schema=SCHEMA))
    assert result.structured is not None
    assert isinstance(result.structured["city"], str)
    assert isinstance(result.structured["population"], int)


async def test_stream_closed_without_finishing_is_an_error_not_an_empty_answer(
    llama_server: str, client: httpx.AsyncClient
) -> None:
    """llama-cpp-python's server answers an over-long prompt with an empty 200 stream: an error."""
    llm = OpenAICompatibleLLM(
        base_url=llama_server, model="tiny", http_client=client, retry=RetryPolicy(max_attempts=1)
    )
    with pytest.raises(LLMServerError, match="ended before the model finished"):
        await complete(llm, ask("word " * 3000, max_tokens=4))


async def test_refused_connection_is_retried_then_exhausted(client: httpx.AsyncClient) -> None:
    """Nothing listening: connection errors are retried up to the bound, then exhausted."""
    delays: list[float] = []

    async def sleep(d: float) -> None:
        delays.append(d)

    llm = OpenAICompatibleLLM(
        base_url=f"http://127.0.0.1:{free_port()}/v1",
        model="tiny",
        http_client=client,
        retry=RetryPolicy(max_attempts=2, sleep=sleep),
    )
    with pytest.raises(LLMRetriesExhaustedError) as info:
        await complete(llm, ask("x", max_tokens=4))
    assert isinstance(info.value.last, LLMConnectionError)
    assert len(delays) == 1
