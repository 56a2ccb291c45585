"""What some tokens cost on a given model at a given time, for what-ifs.

The ledger holds what each record cost; a strategy needs what the same
tokens (or fewer, or cheaper ones) would cost on the same or another model.
Prices come from the same places as the ledger's: a user override, the
energy model for local models, genai-prices for API models, looked up
through the pricer's library (so a retired model name priced as its
successor is priced that way here too).

genai-prices' models often carry prices per web search or per request next
to their token prices; the ledger's linear rates skip such models and price
each record through the library. A what-if only needs the token prices, so
they are read here by pricing 1,000 tokens of each kind (below any tier
threshold) with the model's price at that time, and kept per price period.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from costaudit.analysis.advisor.history import Row
from costaudit.pricing.library import Match, Rates, Tokens, to_library_usage
from costaudit.pricing.pricer import Pricer

log = logging.getLogger(__name__)

_PROBE = 1_000
_PER_MTOK = Decimal(1_000_000 // _PROBE)
BATCH = {"processing": "batch"}
"""genai-prices' price context of a provider's batch API."""


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


@dataclass(frozen=True)
class BatchRates:
    """A model's standard and batch API token rates, and when they hold."""

    standard: Rates
    batch: Rates
    at: datetime
    """The time they were read at: the record's, or the first day
    genai-prices has a batch price when that is later."""


class Prices:
    """Token rates and what-if costs, cached per model and price period."""

    def __init__(self, pricer: Pricer) -> None:
        self.pricer = pricer
        self._probed: dict[int, Rates] = {}
        self._probed_variants: dict[str, Rates] = {}
        # Which provider sells a ladder model, asked once per run; a label,
        # not a price, so the run's start is a fine moment to ask at.
        self._now = datetime.now(UTC)

    def _match(
        self, model: str, provider: str | None, endpoint: str | None, at: datetime
    ) -> Match | None:
        # The ledger's own lookup, aliases included, so both agree on the model.
        return self.pricer.library.resolve(model, provider, endpoint, at)

    def provider_id(
        self,
        model: str,
        provider: str | None,
        endpoint: str | None,
        at: datetime | None = None,
    ) -> str | None:
        """genai-prices' id of the provider serving ``model``, if it knows it."""
        found = self._match(model, provider, endpoint, at or self._now)
        return None if found is None else str(found.provider.id)

    def rates(
        self, model: str, provider: str | None, endpoint: str | None, at: datetime
    ) -> Rates | None:
        """Token rates of ``model`` at ``at``, or None when nothing prices it."""
        override = self.pricer.overrides.by_model.get(model)
        if override is not None and (
            not override.provider or not provider or override.provider == provider
        ):
            return override.rates
        found = self._match(model, provider, endpoint, at)
        if found is None:
            return None
        return self._rates_of(found.model.get_prices(at))

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

    def batch_rates(self, row: Row) -> BatchRates | None:
        """The record's model at standard and batch API prices, if
        genai-prices has a batch price for it (none for a user override).

        genai-prices dates each batch price from when it was added; for a
        record older than that, the first dated batch price stands in: the
        question is what moving such work would save, and that is today's
        price list."""
        if row.local or row.model in self.pricer.overrides.by_model:
            return None
        found = self._match(row.model, row.provider, row.endpoint, row.at)
        if found is None:
            return None
        info = found.model
        for at in (row.at, *_later_starts(info, row.at)):
            standard = self._rates_of(info.get_prices(at))
            batch = self._variant_rates(info.get_prices(at, BATCH))
            if batch != standard:
                return BatchRates(standard, batch, at)
        return None

    def _rates_of(self, model_price: Any) -> Rates:
        # The snapshot's own price objects live as long as it does.
        key = id(model_price)
        rates = self._probed.get(key)
        if rates is None:
            rates = self._probe_rates(model_price)
            self._probed[key] = rates
        return rates

    def _variant_rates(self, model_price: Any) -> Rates:
        # A price with a variant applied is a fresh copy each time: keyed
        # by its value, not its identity.
        key = repr(model_price)
        rates = self._probed_variants.get(key)
        if rates is None:
            rates = self._probe_rates(model_price)
            self._probed_variants[key] = rates
        return rates

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

    def energy_text(self, model: str) -> str:
        """How the energy model costs a local model, for checking by hand."""
        energy = self.pricer.energy
        throughput = energy.throughput(model)
        kwh = energy.settings.kwh_usd
        return (
            f"{model}: {energy.watts(model).labelled('W')}, prompt "
            f"{throughput.prompt_tps.labelled('tok/s')}, generation "
            f"{throughput.generation_tps.labelled('tok/s')}, ${kwh}/kWh "
            f"({kwh.origin})"
        )

    def row_price_text(self, row: Row) -> str:
        """The prices a record was costed at, for checking by hand."""
        if row.local:
            return f"energy model, {self.energy_text(row.model)}"
        rates = self.row_rates(row)
        return "unpriced" if rates is None else rates_text(rates)

    def target_price_text(self, target: Target, at: datetime) -> str:
        """The prices a call moved to ``target`` is costed at."""
        if target.local:
            return f"energy model, {self.energy_text(target.model)}"
        rates = self.rates(target.model, target.provider_id, None, at)
        return "unpriced" if rates is None else rates_text(rates)

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


def rates_text(rates: Rates) -> str:
    """Token prices per million, as a report prints them."""
    return (
        f"input ${rates.input_mtok.normalize():f}, cache read "
        f"${rates.cache_read_mtok.normalize():f}, cache write "
        f"${rates.cache_write_mtok.normalize():f}, output "
        f"${rates.output_mtok.normalize():f} per MTok"
    )


def _later_starts(info: Any, after: datetime) -> list[datetime]:
    """Start dates of the model's batch prices that come after ``after``."""
    starts: set[date] = set()
    for variant in getattr(info, "price_variants", None) or ():
        start = getattr(variant.constraint, "start_date", None)
        if variant.when == BATCH and isinstance(start, date):
            starts.add(start)
    moments = (datetime.combine(d, time.min, tzinfo=UTC) for d in sorted(starts))
    return [m for m in moments if m > after]
