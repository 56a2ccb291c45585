"""Axes for the charts: round tick values, scales, and tick labels."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from costaudit.interfaces.html.markup import short_count

NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def nice_ticks(low: float, high: float, target: int = 5) -> list[float]:
    """About ``target`` round values that cover ``[low, high]``."""
    if high < low:
        low, high = high, low
    if high == low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in NICE_STEPS if raw <= m * magnitude * 1.0001)
    first = math.floor(low / step + 1e-9) * step
    count = math.ceil((high - first) / step - 1e-9)
    return [round(first + i * step, 12) for i in range(count + 1)]


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten around ``[low, high]`` (both positive)."""
    first = math.floor(math.log10(low))
    last = math.ceil(math.log10(high))
    return [10.0**k for k in range(first, max(last, first + 1) + 1)]


@dataclass(frozen=True)
class Scale:
    """Maps data values in ``[low, high]`` to positions in ``[start, end]``."""

    low: float
    high: float
    start: float
    end: float
    log: bool = False

    def __call__(self, value: float) -> float:
        if self.log:
            low, high = math.log10(self.low), math.log10(self.high)
            # A value under the axis lies below the plot (a chart clips it);
            # only zero and less, which have no logarithm, sit at its foot.
            value = math.log10(value) if value > 0 else low
        else:
            low, high = self.low, self.high
        share = (value - low) / (high - low) if high != low else 0.0
        return round(self.start + share * (self.end - self.start), 2)


def money_tick(value: float, step: float) -> str:
    """``$0``, ``$0.25``, ``$2.50``, ``$1.5k``: cents once steps are fractions."""
    sign = "-" if value < 0 else ""
    size = abs(value)
    if size >= 1000:
        return f"{sign}${short_count(size)}"
    places = next(
        (p for p in range(7) if abs(step * 10**p - round(step * 10**p)) < 1e-6), 6
    )
    if places:
        places = max(places, 2)
    return f"{sign}${size:,.{places}f}"


def day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


def day_ticks(first: date, last: date, target: int = 6) -> list[date]:
    """Days spaced evenly from ``first``, about ``target`` of them."""
    span = (last - first).days
    step = max(1, math.ceil(span / target))
    if step > 3:
        step = 7 * max(1, round(step / 7))
    return [date.fromordinal(first.toordinal() + k) for k in range(0, span + 1, step)]


def log_money_tick(value: float) -> str:
    """A power of ten in dollars: ``$0.01``, ``$1``, ``$100``, ``$10k``."""
    if value >= 1000:
        return f"${short_count(value)}"
    if value >= 1:
        return f"${value:,.0f}"
    return f"${value:.{-math.floor(math.log10(value) + 1e-9)}f}"
