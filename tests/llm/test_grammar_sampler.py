"""The grammar sampler that checks the sampled token first (agents/llm/grammar_sampler.py),
against llama-cpp-python's own grammar-first chain, on the tiny model with real llama.cpp."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agents.llm.local import _sequence_state_llama, schema_grammar
from agents.llm.local_models import TINY, ensure_model_file
from tests.llm.needs import needs_tiny_model

pytestmark = [needs_tiny_model]

USE_CASES = {
    "type": "object",
    "properties": {
        "items": {
            "type": "array",
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {
                    "title": {"type": "string", "maxLength": 40},
                    "impact": {"enum": ["High", "Medium", "Low"]},
                },
                "required": ["title", "impact"],
            },
        }
    },
    "required": ["items"],
}
PROMPT = (
    "<|im_start|>user\nList three uses of AI in logistics as JSON.<|im_end|>\n"
    "<|im_start|>assistant\n"
)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_model_file(TINY, tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def llamas(model_path: Path) -> Iterator[tuple[Any, Any]]:
    from llama_cpp import Llama

    stock = Llama(model_path=str(model_path), n_ctx=1024, verbose=False)
    checked = _sequence_state_llama()(model_path=str(model_path), n_ctx=1024, verbose=False)
    yield stock, checked
    stock.close()
    checked.close()


def _complete(llama: Any, schema: dict[str, Any], max_tokens: int = 300) -> str:
    grammar = schema_grammar(json.dumps(schema))
    llama.reset()
    out = llama.create_completion(PROMPT, max_tokens=max_tokens, temperature=0.0, grammar=grammar)
    return str(out["choices"][0]["text"])


def test_greedy_output_is_the_same_as_with_the_grammar_applied_first(
    llamas: tuple[Any, Any],
) -> None:
    stock, checked = llamas
    text = _complete(checked, USE_CASES)
    assert text == _complete(stock, USE_CASES)
    assert isinstance(json.loads(text)["items"], list)
    sampler = checked._sampler
    assert sampler.checked > 10, "the checking sampler generated this text"


def test_a_token_the_grammar_rejects_is_resampled_under_the_grammar(
    llamas: tuple[Any, Any],
) -> None:
    """The model would not write this value by itself: every token of it is a rejection."""
    _stock, checked = llamas
    schema = {
        "type": "object",
        "properties": {"code": {"enum": ["zq-17-xv"]}},
        "required": ["code"],
    }
    text = _complete(checked, schema, max_tokens=40)
    assert json.loads(text) == {"code": "zq-17-xv"}
    assert checked._sampler.resampled > 0


def test_sampling_with_temperature_stays_inside_the_grammar(llamas: tuple[Any, Any]) -> None:
    _stock, checked = llamas
    grammar = schema_grammar(json.dumps(USE_CASES))
    for seed in (1, 2, 3):
        checked.reset()
        checked.set_seed(seed)
        out = checked.create_completion(PROMPT, max_tokens=200, temperature=0.9, grammar=grammar)
        assert out["choices"][0]["finish_reason"] == "stop"
        items = json.loads(out["choices"][0]["text"])["items"]
        assert all(i["impact"] in ("High", "Medium", "Low") for i in items)
