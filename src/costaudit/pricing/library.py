"""Prices from the genai-prices library, at the time of the call.

genai-prices counts cached tokens inside ``input_tokens``; our records count
non-cached input apart, so the prompt is converted before pricing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import genai_prices
from genai_prices import Usage
from genai_prices.data_snapshot import get_snapshot

from costaudit.pricing.cost import MTOK, Cost, CostSource
from costaudit.pricing.locality import endpoint_is_local

log = logging.getLogger(__name__)

LIBRARY_VERSION = f"genai-prices {genai_prices.__version__}"

# Provider names used by agents, mapped to genai-prices provider ids.
PROVIDER_IDS: dict[str, str] = {
    "anthropic": "anthropic",
    "aws": "aws",
    "azure": "azure",
    "bedrock": "aws",
    "cerebras": "cerebras",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "fireworks": "fireworks",
    "gemini": "google",
    "glm": "zai",
    "google": "google",
    "groq": "groq",
    "kimi": "moonshotai",
    "minimax": "minimax",
    "minimax-cn": "minimax",
    "mistral": "mistral",
    "moonshot": "moonshotai",
    "moonshotai": "moonshotai",
    "novita": "novita",
    "openai": "openai",
    "openai-api": "openai",
    "openrouter": "openrouter",
    "perplexity": "perplexity",
    "together": "together",
    "vertex": "google",
    "x-ai": "x-ai",
    "xai": "x-ai",
    "zai": "zai",
}


@dataclass(frozen=True, slots=True)
class Tokens:
    """Token counts in our convention (input is non-cached)."""

    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    calls: int = 1

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens


@dataclass(frozen=True, slots=True)
class Rates:
    """Linear prices in USD per million tokens, by kind of token."""

    input_mtok: Decimal
    cache_read_mtok: Decimal
    cache_write_mtok: Decimal
    output_mtok: Decimal

    def cost(self, tokens: Tokens) -> Decimal:
        total = (
            tokens.input_tokens * self.input_mtok
            + tokens.cache_read_tokens * self.cache_read_mtok
            + tokens.cache_write_tokens * self.cache_write_mtok
            + tokens.output_tokens * self.output_mtok
        )
        return total / MTOK


def to_library_usage(tokens: Tokens) -> Usage:
    """Our counts in genai-prices' convention (input includes cached)."""
    return Usage(
        input_tokens=tokens.prompt_tokens,
        cache_read_tokens=tokens.cache_read_tokens,
        cache_write_tokens=tokens.cache_write_tokens,
        output_tokens=tokens.output_tokens,
    )


class LibraryPricer:
    """Prices API calls with genai-prices, caching lookups and linear rates."""

    def __init__(self, provider_ids: dict[str, str] | None = None) -> None:
        self.provider_ids = {**PROVIDER_IDS, **(provider_ids or {})}
        self._snapshot = get_snapshot()
        self._rates: dict[int, Rates | None] = {}
        self._find = lru_cache(maxsize=4096)(self._find_uncached)

    def provider_id(self, provider: str | None) -> str | None:
        if not provider:
            return None
        return self.provider_ids.get(provider.lower())

    def _find_uncached(
        self, model: str, provider: str | None, endpoint: str | None
    ) -> tuple[Any, Any] | None:
        provider_id = self.provider_id(provider)
        api_url = None
        if provider_id is None and endpoint and not endpoint_is_local(endpoint):
            api_url = endpoint
        try:
            found = self._snapshot.find_provider_model(
                model, None, provider_id, api_url
            )
        except LookupError:
            found = None
        if found is None and (provider_id or api_url):
            # An unknown provider name should not hide a model the library
            # knows under its maker's name.
            try:
                found = self._snapshot.find_provider_model(model, None, None, None)
            except LookupError:
                found = None
        return found

    def knows(self, model: str, provider: str | None, endpoint: str | None) -> bool:
        return self._find(model, provider, endpoint) is not None

    def rates(
        self, model: str, provider: str | None, endpoint: str | None, at: datetime
    ) -> Rates | None:
        """Linear per-MTok rates at ``at``, or None (unknown or not linear)."""
        found = self._find(model, provider, endpoint)
        if found is None:
            return None
        model_price = found[1].get_prices(at)
        return self._linear_rates(model_price)

    def _linear_rates(self, model_price: Any) -> Rates | None:
        key = id(model_price)
        if key in self._rates:
            return self._rates[key]
        prices = {k: v for k, v in vars(model_price).items() if v is not None}
        rates = None
        # Flat prices are linear in token counts; tiers depend on the prompt's
        # size and a per-request fee on the number of calls, so those go
        # through the library's full calculation record by record.
        if "requests_kcount" not in prices and all(
            isinstance(v, Decimal) for v in prices.values()
        ):
            # Probe the library's own calculation, so conventions such as
            # "cache reads priced as input when no cache price is set" hold.
            base = self._probe(model_price, Tokens(input_tokens=1_000_000))
            rates = Rates(
                input_mtok=base,
                cache_read_mtok=self._probe(
                    model_price, Tokens(cache_read_tokens=1_000_000)
                ),
                cache_write_mtok=self._probe(
                    model_price, Tokens(cache_write_tokens=1_000_000)
                ),
                output_mtok=self._probe(model_price, Tokens(output_tokens=1_000_000)),
            )
        self._rates[key] = rates
        return rates

    @staticmethod
    def _probe(model_price: Any, tokens: Tokens) -> Decimal:
        price = model_price.calc_price(to_library_usage(tokens))
        return Decimal(price["total_price"])

    def price(
        self,
        model: str,
        provider: str | None,
        endpoint: str | None,
        at: datetime,
        tokens: Tokens,
    ) -> Cost | None:
        """The library's price for ``tokens`` at ``at``, or None if unknown."""
        found = self._find(model, provider, endpoint)
        if found is None:
            return None
        lib_provider, model_info = found
        model_price = model_info.get_prices(at)
        rates = self._linear_rates(model_price)
        if rates is not None:
            amount = rates.cost(tokens)
        else:
            calc = model_info.calc_price(
                to_library_usage(tokens), lib_provider, genai_request_timestamp=at
            )
            amount = Decimal(calc.total_price)
        detail = f"{LIBRARY_VERSION}: {lib_provider.id}/{model_info.id}"
        return Cost(amount, CostSource.PRICE_LIBRARY, detail)
