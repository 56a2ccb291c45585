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


def local_span(window: Window) -> str:
    """SQL for the first and last local day of the records, as ``first_day``
    and ``last_day`` (ISO dates), to go in a query's select list.

    Only the first and last times are converted: in every time zone's
    current rules clocks fall back within a day, never across midnight, so
    the local date of a later time is never an earlier date.
    """
    tz = window.tz_name
    return (
        f"strftime(timezone('{tz}', min(started_at)), '%Y-%m-%d') AS first_day, "
        f"strftime(timezone('{tz}', max(started_at)), '%Y-%m-%d') AS last_day"
    )


def span_days(
    window: Window, first_day: str | None, last_day: str | None
) -> tuple[date | None, date | None, int]:
    """First and last local day the window covers, and the number of days,
    from the first and last day of its records (see :func:`local_span`)."""
    first = window.since or (date.fromisoformat(first_day) if first_day else None)
    last = window.until or (date.fromisoformat(last_day) if last_day else None)
    if first is None or last is None or last < first:
        return first, last, 0
    return first, last, (last - first).days + 1


def window_days(ledger: Ledger, window: Window) -> tuple[date | None, date | None, int]:
    """First and last local day the window covers, and the number of days.

    Open ends are closed by the data itself: the first and last day with
    records inside the other bounds.
    """
    where, params = window.where()
    row = ledger.fetch(f"SELECT {local_span(window)} FROM usage WHERE {where}", params)
    return span_days(window, row[0][0], row[0][1])
