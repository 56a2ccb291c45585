"""The machine's fixed cost (VPS rent, hardware over its life), spread over
the queries of a period to give the cost per query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from costaudit.analysis.window import DAYS_PER_MONTH, Window
from costaudit.config import Config
from costaudit.ledger.store import Ledger


@dataclass(frozen=True)
class Infrastructure:
    monthly_usd: Decimal
    origin: str
    """``config`` or ``not set``."""

    @classmethod
    def from_config(cls, config: Config) -> Infrastructure:
        section = config.section("infrastructure")
        monthly = section.money("monthly_usd")
        if monthly is None:
            return cls(Decimal(0), "not set")
        return cls(monthly, "config")

    def cost(self, days: int) -> Decimal:
        return self.monthly_usd * Decimal(days) / DAYS_PER_MONTH


def window_days(ledger: Ledger, window: Window) -> tuple[date | None, date | None, int]:
    """First and last local day the window covers, and the number of days.

    Open ends are closed by the data itself: the first and last day with
    records inside the other bounds.
    """
    where, params = window.where()
    row = ledger.fetch(
        f"SELECT min({window.local_day()}), max({window.local_day()}) "
        f"FROM usage WHERE {where}",
        params,
    )[0]
    first = window.since or (date.fromisoformat(row[0]) if row[0] else None)
    last = window.until or (date.fromisoformat(row[1]) if row[1] else None)
    if first is None or last is None or last < first:
        return first, last, 0
    return first, last, (last - first).days + 1
