"""Prices of the OpenAI models one uses with web search (USD per million tokens) for `cost_usd`.

Source: OpenAI's API pricing page (https://platform.openai.com/docs/pricing, "Standard" tier,
and its "Built-in tools" table), as of 2026-12-01. The figures were read from copies of that
page dated March to November 2026 (the page itself was not reachable from here); they had not
changed across those copies.

- Tokens: OpenAI's `input_tokens` include the cached ones (`input_tokens_details.cached_tokens`),
  so the uncached input is `input_tokens - cached_tokens` at the input price and the cached part
  at the cached-input price; output (reasoning tokens included) at the output price.
- Web search (the `web_search` tool, not `web_search_preview`): USD 10 per 1,000 calls, plus the
  search content tokens at the model's rates. Those tokens are counted in the answer's
  `input_tokens`, so they are priced with the input; except on gpt-4o-mini and gpt-4.1-mini,
  whose search content is billed as a fixed block of 8,000 input tokens per call (and is not in
  `input_tokens`): that block is added per call at the input price.

Dated ids (`gpt-4.1-2025-04-14`) are priced like their family (`gpt-4.1`). Unknown models have
no price (None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.llm.port import Usage

WEB_SEARCH_CALL_USD = 0.01  # USD 10 per 1,000 web search tool calls
MINI_SEARCH_CONTENT_TOKENS = 8_000  # fixed block billed per call on the two minis


@dataclass(frozen=True)
class OpenAIPrice:
    input_per_mtok: float
    cached_input_per_mtok: float
    output_per_mtok: float
    # Search content billed as this many input tokens per web search call (0: in input_tokens).
    search_content_tokens_per_call: int = 0


PRICES: dict[str, OpenAIPrice] = {
    "gpt-5": OpenAIPrice(1.25, 0.125, 10.0),
    "gpt-5-mini": OpenAIPrice(0.25, 0.025, 2.0),
    "gpt-4.1": OpenAIPrice(2.0, 0.5, 8.0),
    "gpt-4.1-mini": OpenAIPrice(0.4, 0.1, 1.6, MINI_SEARCH_CONTENT_TOKENS),
    "gpt-4o": OpenAIPrice(2.5, 1.25, 10.0),
    "gpt-4o-mini": OpenAIPrice(0.15, 0.075, 0.6, MINI_SEARCH_CONTENT_TOKENS),
}

_DATE = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def family(model: str) -> str:
    """`gpt-4.1-mini-2025-04-14` gives `gpt-4.1-mini`; `openai/gpt-4o` gives `gpt-4o`."""
    return _DATE.sub("", model.strip().lower().rpartition("/")[2])


def price_for(model: str) -> OpenAIPrice | None:
    return PRICES.get(family(model))


def cost_usd(model: str, usage: Usage, *, web_search_calls: int = 0) -> float | None:
    """USD for one call: its tokens and `web_search_calls` web search tool calls."""
    price = price_for(model)
    if price is None:
        return None
    cached = min(usage.cache_read_tokens, usage.input_tokens)
    search_content = web_search_calls * price.search_content_tokens_per_call
    tokens = (
        (usage.input_tokens - cached + search_content) * price.input_per_mtok
        + cached * price.cached_input_per_mtok
        + usage.output_tokens * price.output_per_mtok
    ) / 1_000_000
    return round(tokens + web_search_calls * WEB_SEARCH_CALL_USD, 8)
