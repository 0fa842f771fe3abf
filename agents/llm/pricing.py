"""Prices of the supported Anthropic models (USD per million tokens) for `cost_usd`.

Cache writes (5-minute TTL) cost 1.25x the input price, cache reads 0.1x. Web searches cost
USD 10 per 1,000. Bedrock model ids (`anthropic.claude-...-v1:0`, with or without a region prefix
such as `us.`) are priced like the Anthropic model they name. Unknown models have no price (None).
OpenAI's prices (and its web search fee) are in agents/llm/pricing_openai.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agents.llm.port import Usage


@dataclass(frozen=True)
class Price:
    input_per_mtok: float
    output_per_mtok: float

    @property
    def cache_write_per_mtok(self) -> float:
        return self.input_per_mtok * 1.25

    @property
    def cache_read_per_mtok(self) -> float:
        return self.input_per_mtok * 0.1


WEB_SEARCH_USD = 0.01

# Keys are model families: the id without its date suffix.
PRICES: dict[str, Price] = {
    "claude-opus-4-6": Price(5.0, 25.0),
    "claude-opus-4-5": Price(5.0, 25.0),
    "claude-opus-4-1": Price(15.0, 75.0),
    "claude-opus-4": Price(15.0, 75.0),
    "claude-sonnet-4-6": Price(3.0, 15.0),
    "claude-sonnet-4-5": Price(3.0, 15.0),
    "claude-sonnet-4": Price(3.0, 15.0),
    "claude-3-7-sonnet": Price(3.0, 15.0),
    "claude-haiku-4-5": Price(1.0, 5.0),
    "claude-3-5-haiku": Price(0.8, 4.0),
    "claude-3-haiku": Price(0.25, 1.25),
}

_BEDROCK = re.compile(r"^(?:[a-z]{2,4}\.)?anthropic\.(?P<name>.+?)(?:-v\d+(?::\d+)?)?$")
_DATE = re.compile(r"-\d{8}$")


def family(model: str) -> str:
    """`claude-sonnet-4-5-20250929` and `us.anthropic.claude-sonnet-4-5-20250929-v1:0` both give
    `claude-sonnet-4-5`."""
    match = _BEDROCK.match(model)
    name = match.group("name") if match else model
    name = _DATE.sub("", name)
    return name.removesuffix("-latest")


def price_for(model: str) -> Price | None:
    return PRICES.get(family(model))


def cost_usd(model: str, usage: Usage, *, web_searches: int = 0) -> float | None:
    price = price_for(model)
    if price is None:
        return None
    total = (
        usage.input_tokens * price.input_per_mtok
        + usage.output_tokens * price.output_per_mtok
        + usage.cache_write_tokens * price.cache_write_per_mtok
        + usage.cache_read_tokens * price.cache_read_per_mtok
    ) / 1_000_000
    return round(total + web_searches * WEB_SEARCH_USD, 8)
