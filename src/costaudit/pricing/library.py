"""Prices from the genai-prices library, at the time of the call.

genai-prices counts cached tokens inside ``input_tokens``; our records count
non-cached input apart, so the prompt is converted before pricing. A model
name its provider bills as another model (see :mod:`aliases`) is looked up
under that model. The library is imported on first use: it takes a tenth of
a second, which a report with nothing new to price need not pay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache
from importlib import metadata
from typing import TYPE_CHECKING, Any, cast

from costaudit.pricing.aliases import Alias, alias_for
from costaudit.pricing.cost import MTOK, Cost, CostSource
from costaudit.pricing.locality import endpoint_is_local

if TYPE_CHECKING:
    from genai_prices import Usage

log = logging.getLogger(__name__)


@cache
def library_version() -> str:
    """``genai-prices X.Y.Z``, read from the installed package's metadata."""
    return f"genai-prices {metadata.version('genai-prices')}"


# Provider names agents record, mapped to genai-prices provider ids. Most
# are Hermes Agent's (0.19.0): its provider registry, its aliases, and the
# billing routes it writes to ``billing_provider``. A name that already is a
# genai-prices id passes through unmapped; one that is neither leaves the
# provider unknown, and the model is looked up by its endpoint or its maker.
PROVIDER_IDS: dict[str, str] = {
    "anthropic": "anthropic",
    "claude": "anthropic",
    "claude-code": "anthropic",
    "arcee": "arcee",
    "arcee-ai": "arcee",
    "aws": "aws",
    "aws-bedrock": "aws",
    "amazon-bedrock": "aws",
    "bedrock": "aws",
    "azure": "azure",
    "azure-foundry": "azure",
    "cerebras": "cerebras",
    "cohere": "cohere",
    "copilot": "github-copilot",
    "copilot-acp": "github-copilot",
    "github-copilot": "github-copilot",
    "deepseek": "deepseek",
    "deep-seek": "deepseek",
    "fireworks": "fireworks",
    "fireworks-ai": "fireworks",
    "fw": "fireworks",
    "gemini": "google",
    "google": "google",
    "google-gemini": "google",
    "vertex": "google",
    "glm": "zai",
    "z-ai": "zai",
    "zai": "zai",
    "groq": "groq",
    "kimi": "moonshotai",
    "kimi-coding": "moonshotai",
    "kimi-coding-cn": "moonshotai",
    "moonshot": "moonshotai",
    "moonshotai": "moonshotai",
    "minimax": "minimax",
    "minimax-cn": "minimax",
    "minimax-oauth": "minimax",
    "mistral": "mistral",
    "novita": "novita",
    "novita-ai": "novita",
    "novitaai": "novita",
    "openai": "openai",
    "openai-api": "openai",
    "openai-codex": "openai",
    "openrouter": "openrouter",
    "perplexity": "perplexity",
    "together": "together",
    "grok": "x-ai",
    "x-ai": "x-ai",
    "xai": "x-ai",
    "xai-oauth": "x-ai",
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
    from genai_prices import Usage

    return Usage(
        input_tokens=tokens.prompt_tokens,
        cache_read_tokens=tokens.cache_read_tokens,
        cache_write_tokens=tokens.cache_write_tokens,
        output_tokens=tokens.output_tokens,
    )


@dataclass(frozen=True, slots=True)
class Match:
    """The library's entry that prices a model, and the alias that led to it."""

    provider: Any
    model: Any
    alias: Alias | None = None

    def detail(self) -> str:
        text = f"{library_version()}: {self.provider.id}/{self.model.id}"
        return f"{text} ({self.alias.note()})" if self.alias else text

    @property
    def time_dependent(self) -> bool:
        """Whether the price changes with the date or the time of day."""
        return isinstance(self.model.prices, list)

    @property
    def time_of_day(self) -> bool:
        """Whether the price changes with the time of day."""
        return self.time_dependent and any(
            type(c.constraint).__name__ == "TimeOfDateConstraint"
            for c in self.model.prices
        )


class LibraryPricer:
    """Prices API calls with genai-prices, caching lookups and linear rates."""

    def __init__(self, provider_ids: dict[str, str] | None = None) -> None:
        given = {k.lower(): v for k, v in (provider_ids or {}).items()}
        self.provider_ids = {**PROVIDER_IDS, **given}
        self._snapshot: Any = None
        self._ids_known: frozenset[str] | None = None
        self._rates: dict[int, Rates | None] = {}
        self._find = lru_cache(maxsize=4096)(self._find_uncached)

    @property
    def snapshot(self) -> Any:
        if self._snapshot is None:
            from genai_prices.data_snapshot import get_snapshot

            self._snapshot = get_snapshot()
        return self._snapshot

    def provider_id(self, provider: str | None) -> str | None:
        """The genai-prices id of an agent's provider name: mapped, or the
        name itself when the library has a provider by that id."""
        if not provider:
            return None
        name = provider.strip().lower()
        mapped = self.provider_ids.get(name)
        if mapped is not None:
            return mapped
        return name if name in self._library_ids() else None

    def _library_ids(self) -> frozenset[str]:
        if self._ids_known is None:
            self._ids_known = frozenset(p.id for p in self.snapshot.providers)
        return self._ids_known

    def _find_uncached(
        self, model: str, provider_id: str | None, api_url: str | None
    ) -> tuple[Any, Any] | None:
        try:
            found = self.snapshot.find_provider_model(model, None, provider_id, api_url)
        except LookupError:
            found = None
        if found is None and (provider_id or api_url):
            # An unknown provider name should not hide a model the library
            # knows under its maker's name.
            try:
                found = self.snapshot.find_provider_model(model, None, None, None)
            except LookupError:
                found = None
        return cast("tuple[Any, Any] | None", found)

    def _ids(
        self, provider: str | None, endpoint: str | None
    ) -> tuple[str | None, str | None]:
        provider_id = self.provider_id(provider)
        api_url = None
        if provider_id is None and endpoint and not endpoint_is_local(endpoint):
            api_url = endpoint
        return provider_id, api_url

    def knows(self, model: str, provider: str | None, endpoint: str | None) -> bool:
        return self._find(model, *self._ids(provider, endpoint)) is not None

    def resolve(
        self, model: str, provider: str | None, endpoint: str | None, at: datetime
    ) -> Match | None:
        """The entry that prices ``model`` at ``at``, through an alias if one
        is in force then; None when the library does not know the model."""
        provider_id, api_url = self._ids(provider, endpoint)
        alias = alias_for(model, provider_id, at)
        if alias is not None:
            found = self._find(alias.priced_as, alias.provider, None)
            if found is not None:
                return Match(found[0], found[1], alias)
            log.warning(
                "%s has no model %r for the alias %r; pricing the name itself",
                library_version(),
                alias.priced_as,
                alias.model,
            )
        found = self._find(model, provider_id, api_url)
        return None if found is None else Match(found[0], found[1])

    def rates(
        self, model: str, provider: str | None, endpoint: str | None, at: datetime
    ) -> Rates | None:
        """Linear per-MTok rates at ``at``, or None (unknown or not linear)."""
        match = self.resolve(model, provider, endpoint, at)
        if match is None:
            return None
        return self._linear_rates(match.model.get_prices(at))

    def price_key(self, match: Match, at: datetime) -> int:
        """Equal for two times priced alike by ``match``'s entry."""
        return id(match.model.get_prices(at))

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

    def amount(self, match: Match, at: datetime, tokens: Tokens) -> Decimal:
        """What ``tokens`` cost at ``at`` on ``match``'s entry."""
        rates = self._linear_rates(match.model.get_prices(at))
        if rates is not None:
            return rates.cost(tokens)
        calc = match.model.calc_price(
            to_library_usage(tokens), match.provider, genai_request_timestamp=at
        )
        return Decimal(calc.total_price)

    def price(
        self,
        model: str,
        provider: str | None,
        endpoint: str | None,
        at: datetime,
        tokens: Tokens,
    ) -> Cost | None:
        """The library's price for ``tokens`` at ``at``, or None if unknown."""
        match = self.resolve(model, provider, endpoint, at)
        if match is None:
            return None
        amount = self.amount(match, at, tokens)
        return Cost(amount, CostSource.PRICE_LIBRARY, match.detail())
