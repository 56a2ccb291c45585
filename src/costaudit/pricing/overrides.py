"""Prices the user sets per model in config, which win over every other."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from costaudit.config import Config, Section
from costaudit.pricing.cost import Cost, CostSource
from costaudit.pricing.library import Rates, Tokens


@dataclass(frozen=True)
class Override:
    model: str
    provider: str | None
    rates: Rates


def _override(model: str, section: Section) -> Override:
    input_mtok = section.money("input_mtok")
    output_mtok = section.money("output_mtok")
    if input_mtok is None or output_mtok is None:
        raise section._fail("input_mtok", "set with output_mtok (USD per MTok)", None)
    return Override(
        model=model,
        provider=section.string("provider"),
        rates=Rates(
            input_mtok=input_mtok,
            cache_read_mtok=section.money("cache_read_mtok", input_mtok) or Decimal(0),
            cache_write_mtok=section.money("cache_write_mtok", input_mtok)
            or Decimal(0),
            output_mtok=output_mtok,
        ),
    )


class OverridePricer:
    """``[prices."MODEL"]`` tables: input_mtok, output_mtok, cache_*_mtok."""

    def __init__(self, overrides: list[Override]) -> None:
        self.by_model = {o.model: o for o in overrides}

    @classmethod
    def from_config(cls, config: Config) -> OverridePricer:
        prices = config.section("prices")
        return cls([_override(m, prices.table(m)) for m in prices])

    def price(self, model: str, provider: str | None, tokens: Tokens) -> Cost | None:
        override = self.by_model.get(model)
        if override is None:
            return None
        if override.provider and provider and override.provider != provider:
            return None
        r = override.rates
        detail = (
            f"user override: ${r.input_mtok}/${r.output_mtok} per MTok in/out, "
            f"cache ${r.cache_read_mtok} read, ${r.cache_write_mtok} write"
        )
        return Cost(r.cost(tokens), CostSource.USER_OVERRIDE, detail)
