"""How a budget stands: spend so far, share of the limit, burn rate, forecast.

Spend is the priced cost of the records in the budget's scope whose first
call falls in the period, up to now. An unpriced record adds its tokens but
no money, and its calls are counted, so the money spent reads as a lower
bound rather than as free usage.

The burn rate is what was spent over the time elapsed in the period. For a
calendar period the forecast carries that rate to the period's end, and the
limit is reached, at that rate, on the day the projection meets it (or not
before the period resets). A rolling period never ends: at a steady rate its
total stays where it is, so its forecast is what it holds now, and a limit
date is only given once the limit has been reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from costaudit.analysis.budgets.period import Period, current_period
from costaudit.analysis.budgets.settings import Budget
from costaudit.ledger.store import Ledger

SECONDS_PER_DAY = Decimal(86_400)


@dataclass(frozen=True)
class DaySpend:
    day: date
    usd: Decimal
    tokens: int
    cumulative_usd: Decimal
    cumulative_tokens: int


@dataclass(frozen=True)
class Measure:
    """One limited quantity, in USD or tokens, and where it is heading."""

    spent: Decimal
    limit: Decimal
    per_day: Decimal
    forecast: Decimal
    """At the end of the period, at the current rate."""
    reached_on: date | None
    """The local day the limit was reached, or will be at the current rate."""

    @property
    def share(self) -> Decimal:
        return self.spent / self.limit


@dataclass(frozen=True)
class BudgetStatus:
    budget: Budget
    period: Period
    now: datetime
    spent_usd: Decimal
    spent_tokens: int
    unpriced_calls: int
    usd: Measure | None
    tokens: Measure | None
    daily: tuple[DaySpend, ...]

    @property
    def measures(self) -> list[Measure]:
        return [m for m in (self.usd, self.tokens) if m is not None]

    @property
    def share(self) -> Decimal:
        """The larger share of the two limits (1 means the limit is reached)."""
        return max(m.share for m in self.measures)

    @property
    def crossed(self) -> tuple[Decimal, ...]:
        """Thresholds (percent) the spend has reached."""
        percent = self.share * 100
        return tuple(t for t in self.budget.thresholds if percent >= t)

    @property
    def reached_on(self) -> date | None:
        days = [m.reached_on for m in self.measures if m.reached_on is not None]
        return min(days, default=None)

    @property
    def level(self) -> str:
        """``over`` at or past the limit, ``warning`` past a lower threshold."""
        if self.share >= 1:
            return "over"
        return "warning" if self.crossed else "ok"


def _daily(
    ledger: Ledger, budget: Budget, period: Period, now: datetime
) -> tuple[list[DaySpend], int]:
    scope, params = budget.scope.where()
    rows = ledger.fetch(
        "SELECT strftime(timezone(?, started_at), '%Y-%m-%d'), "
        "coalesce(sum(cost_usd), 0), "
        "coalesce(sum(input_tokens + cache_read_tokens + cache_write_tokens "
        "+ output_tokens), 0)::BIGINT, "
        "coalesce(sum(calls) FILTER (WHERE cost_usd IS NULL), 0)::BIGINT "
        f"FROM usage WHERE started_at >= ? AND started_at < ? AND started_at <= ? "
        f"AND {scope} GROUP BY 1",
        [period.tz.key, period.start, period.end, now, *params],
    )
    by_day = {date.fromisoformat(r[0]): (Decimal(r[1]), int(r[2])) for r in rows}
    unpriced = sum(int(r[3]) for r in rows)
    days, usd, tokens = [], Decimal(0), 0
    day, last = period.first_day, now.astimezone(period.tz).date()
    while day <= last:
        spent_usd, spent_tokens = by_day.get(day, (Decimal(0), 0))
        usd, tokens = usd + spent_usd, tokens + spent_tokens
        days.append(DaySpend(day, spent_usd, spent_tokens, usd, tokens))
        day += timedelta(days=1)
    return days, unpriced


def _reached_day(days: list[DaySpend], limit: Decimal, usd: bool) -> date | None:
    for day in days:
        if (day.cumulative_usd if usd else day.cumulative_tokens) >= limit:
            return day.day
    return None


def _measure(
    spent: Decimal,
    limit: Decimal,
    period: Period,
    now: datetime,
    days: list[DaySpend],
    usd: bool,
) -> Measure:
    length = Decimal(period.length.total_seconds())
    elapsed = min(Decimal(max((now - period.start).total_seconds(), 1)), length)
    if period.rolling:
        per_day = spent / length * SECONDS_PER_DAY
        forecast = spent
    else:
        per_day = spent / elapsed * SECONDS_PER_DAY
        forecast = spent + spent / elapsed * (length - elapsed)
    reached_on = None
    if spent >= limit:
        reached_on = _reached_day(days, limit, usd)
    elif not period.rolling and spent > 0:
        seconds_left = (limit - spent) / spent * elapsed
        at = now + timedelta(seconds=float(seconds_left))
        if at < period.end:
            reached_on = at.astimezone(period.tz).date()
    return Measure(spent, limit, per_day, forecast, reached_on)


def evaluate(
    ledger: Ledger, budget: Budget, now: datetime, tz: ZoneInfo
) -> BudgetStatus:
    """The status of ``budget`` at ``now`` (an aware datetime)."""
    now = now.astimezone(UTC)
    period = current_period(budget, now, tz)
    days, unpriced = _daily(ledger, budget, period, now)
    spent_usd = days[-1].cumulative_usd if days else Decimal(0)
    spent_tokens = days[-1].cumulative_tokens if days else 0
    usd = tokens = None
    if budget.limit_usd is not None:
        usd = _measure(spent_usd, budget.limit_usd, period, now, days, True)
    if budget.limit_tokens is not None:
        limit = Decimal(budget.limit_tokens)
        tokens = _measure(Decimal(spent_tokens), limit, period, now, days, False)
    return BudgetStatus(
        budget, period, now, spent_usd, spent_tokens, unpriced, usd, tokens,
        tuple(days),
    )  # fmt: skip


def evaluate_all(
    ledger: Ledger, budgets: list[Budget], now: datetime, tz: ZoneInfo
) -> list[BudgetStatus]:
    return [evaluate(ledger, budget, now, tz) for budget in budgets]
