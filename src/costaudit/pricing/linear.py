"""Prices that are linear in the token counts, kept exact.

A flat library price, a user override, the energy model, and each band of a
tiered price (one where the prompt's size picks the price of every token) are
a fixed amount per record plus an amount per token of each kind. Those
amounts are kept here as fractions of a picodollar (1e-12 USD, the ledger's
precision), so that a record priced in SQL with 128-bit integers gets, to the
last digit, the amount the same price gives it in Python.

A library price is read by asking the library itself what some token counts
cost, never from its tables, and the result is checked against one more
answer of the library; a price that does not pass is priced record by record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from itertools import pairwise

from costaudit.pricing.energy import JOULES_PER_KWH, EnergyPricer
from costaudit.pricing.library import LibraryPricer, Match, Rates, Tokens

PICO = 10**12
"""Picodollars per dollar."""
MAX_FACTOR = 10**18
"""Largest integer a price may need: with token counts under
:data:`MAX_TOKENS` every sum stays well inside 128 bits."""
MAX_TOKENS = 10**15
"""Records with a larger count are priced record by record."""
TOP = 2**62
"""Above every prompt size a record can have."""
PROBE = 1_000_000
"""Tokens the library is asked to price when a price is read from it."""


@dataclass(frozen=True, slots=True)
class Linear:
    """A fixed amount per record and one per token of each kind, in
    picodollars: input, cache read, cache write, output."""

    fixed: Fraction
    per_token: tuple[Fraction, Fraction, Fraction, Fraction]

    def amount(self, tokens: Tokens) -> Fraction:
        counts = (
            tokens.input_tokens,
            tokens.cache_read_tokens,
            tokens.cache_write_tokens,
            tokens.output_tokens,
        )
        return self.fixed + sum(
            (n * price for n, price in zip(counts, self.per_token, strict=True)),
            Fraction(0),
        )

    def integers(self) -> tuple[tuple[int, ...], int] | None:
        """Numerators (fixed, then per kind) over one denominator; None
        when they would not fit 64 bits."""
        values = (self.fixed, *self.per_token)
        denominator = math.lcm(*(v.denominator for v in values))
        numerators = tuple(int(v * denominator) for v in values)
        if denominator > MAX_FACTOR or max(numerators) > MAX_FACTOR:
            return None
        return numerators, denominator


ZERO = Linear(Fraction(0), (Fraction(0),) * 4)


@dataclass(frozen=True, slots=True)
class Band:
    """A price for the records whose prompt (input, cache read and cache
    write tokens) is above ``low`` and at most ``high`` tokens."""

    low: int
    high: int
    price: Linear


def whole(price: Linear) -> list[Band]:
    """One band for every prompt size."""
    return [Band(-1, TOP, price)]


def from_rates(rates: Rates) -> Linear:
    """``Rates.cost``: tokens times USD per million tokens."""
    per_token = Fraction(PICO, 1_000_000)
    return Linear(
        Fraction(0),
        (
            Fraction(rates.input_mtok) * per_token,
            Fraction(rates.cache_read_mtok) * per_token,
            Fraction(rates.cache_write_mtok) * per_token,
            Fraction(rates.output_mtok) * per_token,
        ),
    )


def from_energy(energy: EnergyPricer, model: str) -> Linear:
    """``watts x busy seconds x price per kWh / joules per kWh``, a busy
    second being a prompt token over the prompt speed or an output token
    over the generation speed."""
    throughput = energy.throughput(model)
    scale = (
        Fraction(energy.watts(model).value)
        * Fraction(energy.settings.kwh_usd.value)
        * PICO
        / Fraction(JOULES_PER_KWH)
    )
    prompt = scale / Fraction(throughput.prompt_tps.value)
    output = scale / Fraction(throughput.generation_tps.value)
    return Linear(Fraction(0), (prompt, prompt, prompt, output))


def library_bands(
    library: LibraryPricer, match: Match, at: datetime
) -> list[Band] | None:
    """The library's price of ``match`` at ``at``, one band per tier of
    prompt sizes; None when a band is not linear as read."""
    from genai_prices.types import TieredPrices

    prices = vars(match.model.get_prices(at)).values()
    starts = sorted(
        {t.start for p in prices if isinstance(p, TieredPrices) for t in p.tiers}
    )
    bands = []
    for low, high in pairwise([-1, *starts, TOP]):
        if high <= low:
            continue
        price = _read_band(library, match, at, low, high)
        if price is None:
            return None
        bands.append(Band(low, high, price))
    return bands


def _read_band(
    library: LibraryPricer, match: Match, at: datetime, low: int, high: int
) -> Linear | None:
    """What the library charges for prompts in ``(low, high]``, read from
    its answers for a few token counts and checked on one more."""

    def cost(tokens: Tokens) -> Fraction:
        return Fraction(library.amount(match, at, tokens)) * PICO

    small = max(low + 1, 0)
    big = min(high, small + PROBE)
    if big <= small:
        return None
    at_small, at_big = cost(Tokens(input_tokens=small)), cost(Tokens(input_tokens=big))
    per_input = (at_big - at_small) / (big - small)
    fixed = at_small - per_input * small
    price = Linear(
        fixed,
        (
            per_input,
            (cost(Tokens(cache_read_tokens=big)) - fixed) / big,
            (cost(Tokens(cache_write_tokens=big)) - fixed) / big,
            (cost(Tokens(input_tokens=big, output_tokens=PROBE)) - at_big) / PROBE,
        ),
    )
    prompt = (small + big + 1) // 2
    mixed = Tokens(
        input_tokens=prompt - prompt // 3 - prompt // 5,
        cache_read_tokens=prompt // 3,
        cache_write_tokens=prompt // 5,
        output_tokens=PROBE // 7,
    )
    return price if price.amount(mixed) == cost(mixed) else None
