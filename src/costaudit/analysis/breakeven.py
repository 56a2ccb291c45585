"""Local against API: what a machine running a model around the clock
costs, and the monthly token volume at which it costs as much as an API.

The machine draws its idle power all day and its busy power while it works;
it is busy for ``prompt / prompt speed + output / generation speed`` seconds
per call (the energy model's throughput). So a month of it costs

    fixed + idle energy + volume x marginal energy per token

where ``fixed`` is rent or hardware spread over its life, and the marginal
energy of a token is the busy draw above idle for the seconds it takes
(:func:`joules_above_idle`: every energy-per-token figure of the break-even
analysis, the quantisation table and ``bench-local`` is this one). An API
costs ``volume x price per token`` at the same mix of prompt, cache and
output tokens. The two are equal at

    break-even volume = (fixed + idle energy) / (API price - marginal energy)

and never, when a token costs less on the API than its energy locally. One
machine also has a ceiling: a month has only so many busy seconds; a volume
beyond it needs more machines, each with its own fixed cost and idle draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from costaudit.analysis.window import DAYS_PER_MONTH
from costaudit.pricing.energy import JOULES_PER_KWH, Figure, Throughput
from costaudit.pricing.library import Tokens

MTOK = Decimal(1_000_000)
SECONDS_PER_DAY = Decimal(86_400)
SECONDS_PER_MONTH = DAYS_PER_MONTH * SECONDS_PER_DAY


def watts_above_idle(busy_watts: Decimal, idle_watts: Decimal) -> Decimal:
    """The draw work adds to idle (never below zero)."""
    return max(busy_watts - idle_watts, Decimal(0))


def joules_above_idle(
    busy_watts: Decimal, idle_watts: Decimal, tokens_per_second: Decimal
) -> Decimal:
    """Energy one token adds to the idle draw: the draw above idle over the
    speed. Idle power is paid all day whether or not tokens are made (it is
    part of the machine's standing cost), so a token is charged what it adds."""
    return watts_above_idle(busy_watts, idle_watts) / tokens_per_second


def energy_usd(joules: Decimal, kwh_usd: Decimal) -> Decimal:
    # Multiply before dividing, so round figures stay exact.
    return joules * kwh_usd / JOULES_PER_KWH


@dataclass(frozen=True)
class Mix:
    """Shares of a token volume by kind; they add up to 1."""

    input: Decimal
    cache_read: Decimal
    cache_write: Decimal
    output: Decimal

    @classmethod
    def of(cls, tokens: Tokens) -> Mix | None:
        total = tokens.prompt_tokens + tokens.output_tokens
        if total <= 0:
            return None
        whole = Decimal(total)
        return cls(
            Decimal(tokens.input_tokens) / whole,
            Decimal(tokens.cache_read_tokens) / whole,
            Decimal(tokens.cache_write_tokens) / whole,
            Decimal(tokens.output_tokens) / whole,
        )

    @property
    def prompt(self) -> Decimal:
        return self.input + self.cache_read + self.cache_write

    def tokens(self, volume: int) -> Tokens:
        """``volume`` tokens split by this mix (whole tokens)."""
        v = Decimal(volume)
        cache_read, cache_write = int(v * self.cache_read), int(v * self.cache_write)
        output = int(v * self.output)
        return Tokens(volume - cache_read - cache_write - output, cache_read,
                      cache_write, output)  # fmt: skip

    def describe(self) -> str:
        return (
            f"{self.prompt:.0%} prompt ({self.cache_read:.0%} cache read, "
            f"{self.cache_write:.0%} cache write), {self.output:.0%} output"
        )


@dataclass(frozen=True)
class Machine:
    """The local machine: power draw, electricity, fixed cost, speed."""

    busy_watts: Figure
    idle_watts: Figure
    kwh_usd: Figure
    monthly_usd: Decimal
    """Rent, or hardware spread over its life, per month."""
    throughput: Throughput

    def _kwh_usd(self, watts: Decimal, seconds: Decimal) -> Decimal:
        return energy_usd(watts * seconds, self.kwh_usd.value)

    def energy_usd_per_day(self, busy_share: Decimal) -> Decimal:
        """Electricity for a day busy ``busy_share`` of the time, idle the rest."""
        busy = self._kwh_usd(self.busy_watts.value, busy_share * SECONDS_PER_DAY)
        idle_share = 1 - busy_share
        idle = self._kwh_usd(self.idle_watts.value, idle_share * SECONDS_PER_DAY)
        return busy + idle

    def fixed_usd_per_day(self) -> Decimal:
        return self.monthly_usd / DAYS_PER_MONTH

    def seconds_per_token(self, mix: Mix) -> Decimal:
        t = self.throughput
        return mix.prompt / t.prompt_tps.value + mix.output / t.generation_tps.value

    def marginal_watts(self) -> Decimal:
        """Power drawn by work, above idle (never below zero)."""
        return watts_above_idle(self.busy_watts.value, self.idle_watts.value)

    def marginal_usd_per_mtok(self, prompt_share: Decimal) -> Decimal:
        """Energy above idle for a million tokens, ``prompt_share`` of them
        prompt and the rest generated."""
        mix = Mix(prompt_share, Decimal(0), Decimal(0), 1 - prompt_share)
        return self._kwh_usd(self.marginal_watts(), self.seconds_per_token(mix) * MTOK)

    def marginal_usd_per_token(self, mix: Mix) -> Decimal:
        return self._kwh_usd(self.marginal_watts(), self.seconds_per_token(mix))

    def standing_usd_per_month(self) -> Decimal:
        """What the machine costs a month doing nothing: fixed plus idle power."""
        return self.monthly_usd + self._kwh_usd(
            self.idle_watts.value, SECONDS_PER_MONTH
        )

    def usd_per_month(self, volume: Decimal, mix: Mix) -> Decimal:
        return self.standing_usd_per_month() + volume * self.marginal_usd_per_token(mix)

    def capacity_per_month(self, mix: Mix) -> Decimal:
        """Tokens a month with the machine busy all the time."""
        return SECONDS_PER_MONTH / self.seconds_per_token(mix)

    def machines_for(self, volume: Decimal, mix: Mix) -> int:
        """Machines like this one needed to serve ``volume`` a month."""
        return max(1, math.ceil(volume / self.capacity_per_month(mix)))

    def fleet_usd_per_month(self, volume: Decimal, mix: Mix) -> Decimal:
        """``volume`` a month on as many such machines as it needs."""
        machines = self.machines_for(volume, mix)
        standing = machines * self.standing_usd_per_month()
        return standing + volume * self.marginal_usd_per_token(mix)


def break_even_volume(
    machine: Machine, mix: Mix, api_usd_per_token: Decimal
) -> Decimal | None:
    """Tokens a month where local and API cost the same, or None (never)."""
    saving = api_usd_per_token - machine.marginal_usd_per_token(mix)
    if saving <= 0:
        return None
    return machine.standing_usd_per_month() / saving


def volume_grid(low: Decimal, high: Decimal, per_decade: int = 4) -> list[Decimal]:
    """Volumes spaced evenly on a log scale, whole decades covering low..high."""
    first = math.floor(math.log10(max(low, Decimal(1))))
    last = max(math.ceil(math.log10(max(high, Decimal(10)))), first + 1)
    steps = (last - first) * per_decade
    return [
        Decimal(str(round(10 ** (first + i / per_decade)))) for i in range(steps + 1)
    ]
