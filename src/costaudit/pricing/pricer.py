"""Choosing the price of each usage record, in order of trust.

1. a user override for the model;
2. the energy model, for a model served locally;
3. the provider's own reported cost (the agent recorded an actual charge);
4. the genai-prices library, at the time of each call where the ledger has
   per-call times (else the record's first call), through the alias table
   for names a provider bills as another model;
5. the agent's own estimate, when the library does not know the model;
6. otherwise the record is unpriced: never shown as $0.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from costaudit.config import Config
from costaudit.pricing.aliases import ALIASES
from costaudit.pricing.call_times import CallTime, price_by_call_time
from costaudit.pricing.cost import Cost, CostSource
from costaudit.pricing.energy import EnergyPricer, EnergySettings, Throughput
from costaudit.pricing.library import (
    PROVIDER_IDS,
    LibraryPricer,
    Tokens,
    library_version,
)
from costaudit.pricing.locality import Locality
from costaudit.pricing.overrides import OverridePricer


@dataclass(frozen=True, slots=True)
class Call:
    """What pricing needs to know of a record."""

    model: str
    provider: str | None
    endpoint: str | None
    stated_local: bool | None
    at: datetime
    tokens: Tokens
    agent_cost_usd: Decimal | None = None
    agent_cost_status: str | None = None
    call_times: tuple[CallTime, ...] = ()
    """The record's calls one by one, where a log gives them."""


class Pricer:
    """Prices records with provenance; see the module docstring for the order."""

    def __init__(
        self,
        config: Config,
        measured: dict[str, Throughput] | None = None,
    ) -> None:
        self.config = config
        self.locality = Locality.from_config(config)
        self.overrides = OverridePricer.from_config(config)
        providers = config.section("providers")
        self.library = LibraryPricer({k: providers.string(k) or k for k in providers})
        self.energy = EnergyPricer(EnergySettings.from_config(config), measured)

    def is_local(self, call: Call) -> bool:
        return self.locality.is_local(call.model, call.endpoint, call.stated_local)

    def price(self, call: Call) -> tuple[Cost, bool]:
        """The cost of ``call`` and whether it ran locally."""
        local = self.is_local(call)
        override = self.overrides.price(call.model, call.provider, call.tokens)
        if override is not None:
            return override, local
        if local:
            return self.energy.price(call.model, call.tokens), True
        if call.agent_cost_status == "actual" and call.agent_cost_usd is not None:
            detail = "cost reported by the provider"
            return Cost(
                call.agent_cost_usd, CostSource.PROVIDER_REPORTED, detail
            ), False
        if call.agent_cost_status == "included":
            detail = "included in a subscription (no per-token charge)"
            return Cost(Decimal(0), CostSource.PROVIDER_REPORTED, detail), False
        library = price_by_call_time(
            self.library,
            call.model,
            call.provider,
            call.endpoint,
            call.at,
            call.tokens,
            call.call_times,
        )
        if library is not None:
            return library, False
        if call.agent_cost_status == "estimated" and call.agent_cost_usd:
            return (
                Cost(call.agent_cost_usd, CostSource.AGENT_ESTIMATE, "agent estimate"),
                False,
            )
        detail = f"no price for {call.model!r} (provider {call.provider or '?'})"
        return Cost(None, CostSource.UNPRICED, detail), False

    def fingerprints(self) -> tuple[str, str]:
        """(API, local) fingerprints: a change means records need repricing."""
        common = repr(
            (
                self.config.raw.get("prices"),
                self.config.raw.get("providers"),
                self.config.raw.get("local"),
                library_version(),
                ALIASES,
                sorted(PROVIDER_IDS.items()),
            )
        )
        api = hashlib.sha256(f"api|{common}".encode()).hexdigest()[:16]
        local = hashlib.sha256(
            f"local|{common}|{self.energy.fingerprint()}".encode()
        ).hexdigest()[:16]
        return api, local
