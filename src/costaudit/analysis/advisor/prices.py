"""What some tokens cost on a given model at a given time, for what-ifs.

The ledger holds what each record cost; a strategy needs what the same
tokens (or fewer, or cheaper ones) would cost on the same or another model.
Prices come from the same places as the ledger's: a user override, the
energy model for local models, genai-prices for API models.

genai-prices' models often carry prices per web search or per request next
to their token prices; the ledger's linear rates skip such models and price
each record through the library. A what-if only needs the token prices, so
they are read here by pricing 1,000 tokens of each kind (below any tier
threshold) with the model's price at that time, and kept per price period.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from genai_prices.data_snapshot import get_snapshot

from costaudit.analysis.advisor.history import Row
from costaudit.pricing.library import Rates, Tokens, to_library_usage
from costaudit.pricing.locality import endpoint_is_local
from costaudit.pricing.pricer import Pricer

log = logging.getLogger(__name__)

_PROBE = 1_000
_PER_MTOK = Decimal(1_000_000 // _PROBE)


@dataclass(frozen=True)
class Target:
    """A model a call could move to, and how it would be costed."""

    model: str
    local: bool
    provider_id: str | None

    @property
    def label(self) -> str:
        if self.local:
            return f"{self.model} (local, energy model)"
        return f"{self.model} ({self.provider_id or 'API'})"


class Prices:
    """Token rates and what-if costs, cached per model and price period."""

    def __init__(self, pricer: Pricer) -> None:
        self.pricer = pricer
        self._snapshot = get_snapshot()
        self._find = lru_cache(maxsize=1024)(self._find_uncached)
        self._probed: dict[int, Rates] = {}

    def _find_uncached(
        self, model: str, provider: str | None, endpoint: str | None
    ) -> tuple[Any, Any] | None:
        # The same lookup as the ledger's pricing, so both agree on the model.
        provider_id = self.pricer.library.provider_id(provider)
        api_url = None
        if provider_id is None and endpoint and not endpoint_is_local(endpoint):
            api_url = endpoint
        for args in ((model, None, provider_id, api_url), (model, None, None, None)):
            try:
                found = self._snapshot.find_provider_model(*args)
            except LookupError:
                found = None
            if found is not None:
                return found
        return None

    def provider_id(
        self, model: str, provider: str | None, endpoint: str | None
    ) -> str | None:
        """genai-prices' id of the provider serving ``model``, if it knows it."""
        found = self._find(model, provider, endpoint)
        return None if found is None else str(found[0].id)

    def rates(
        self, model: str, provider: str | None, endpoint: str | None, at: datetime
    ) -> Rates | None:
        """Token rates of ``model`` at ``at``, or None when nothing prices it."""
        override = self.pricer.overrides.by_model.get(model)
        if override is not None and (
            not override.provider or not provider or override.provider == provider
        ):
            return override.rates
        found = self._find(model, provider, endpoint)
        if found is None:
            return None
        model_price = found[1].get_prices(at)
        key = id(model_price)
        rates = self._probed.get(key)
        if rates is None:
            rates = self._probe_rates(model_price)
            self._probed[key] = rates
        return rates

    @staticmethod
    def _probe_rates(model_price: Any) -> Rates:
        def probe(tokens: Tokens) -> Decimal:
            price = model_price.calc_price(to_library_usage(tokens))
            return Decimal(price["total_price"])

        base = probe(Tokens())
        return Rates(
            input_mtok=(probe(Tokens(input_tokens=_PROBE)) - base) * _PER_MTOK,
            cache_read_mtok=(probe(Tokens(cache_read_tokens=_PROBE)) - base)
            * _PER_MTOK,
            cache_write_mtok=(probe(Tokens(cache_write_tokens=_PROBE)) - base)
            * _PER_MTOK,
            output_mtok=(probe(Tokens(output_tokens=_PROBE)) - base) * _PER_MTOK,
        )

    def row_rates(self, row: Row) -> Rates | None:
        """Rates of the record's own model at its time (None for local ones)."""
        if row.local:
            return None
        return self.rates(row.model, row.provider, row.endpoint, row.at)

    def own_price(self, row: Row, tokens: Tokens | None = None) -> Decimal | None:
        """What ``tokens`` (the record's own by default) cost on its model."""
        tokens = row.tokens if tokens is None else tokens
        if row.local:
            return self.pricer.energy.price(row.model, tokens).amount_usd
        rates = self.row_rates(row)
        return None if rates is None else rates.cost(tokens)

    def target(self, model: str) -> Target:
        """How ``model`` would be costed: local if config says so or if no
        price list knows it (a model nobody sells is one you run yourself)."""
        locality = self.pricer.locality
        if locality.is_local(model, None, None):
            return Target(model, True, None)
        if model in self.pricer.overrides.by_model:
            return Target(model, False, self.pricer.overrides.by_model[model].provider)
        provider_id = self.provider_id(model, None, None)
        return Target(model, provider_id is None, provider_id)

    def moved_cost(self, target: Target, row: Row) -> Decimal | None:
        """What the record would cost had its calls gone to ``target``."""
        tokens = row.tokens
        if target.local:
            return self.pricer.energy.price(target.model, tokens).amount_usd
        if row.local:
            # A local server's prompt cache does not follow the call to an
            # API: every prompt token is paid as input there.
            tokens = Tokens(tokens.prompt_tokens, 0, 0, tokens.output_tokens, row.calls)
        rates = self.rates(target.model, target.provider_id, None, row.at)
        return None if rates is None else rates.cost(tokens)
