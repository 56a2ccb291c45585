"""How a budget stands: spend so far, share of the limit, burn rate, forecast.

Spend is the priced cost of the records in the budget's scope whose first
call falls in the period, up to now. An unpriced record adds its tokens but
no money, and its calls are counted, so the money spent reads as a lower
bound rather than as free usage.

For a calendar period the burn rate is what was spent over the time elapsed
in the period; the forecast carries that rate to the period's end, and the
limit is reached, at that rate, on the day the projection meets it (or not
before the period resets).

A rolling period never ends, and its oldest spend keeps leaving the window,
so its rate is the recent one: the spend of the window's last quarter (the
last 6 hours of a rolling day, 42 hours of a week, 7.5 days of a 30-day
month) over that quarter's length. The forecast is what the window holds one
period length from now if spending goes on at that rate (all of it spent at
that rate by then). The limit date is found hour by hour over the next
period length: what the window will hold is the spend that has not left it
yet plus the recent rate times the hours gone by; the first hour at which
that meets the limit gives the day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from costaudit.analysis.budgets.period import Period, current_period
from costaudit.analysis.budgets.settings import EVERYTHING, Budget, suggest
from costaudit.ledger.store import Ledger

SECONDS_PER_DAY = Decimal(86_400)
RECENT_SHARE = 4
"""A rolling period's rate is taken over the last 1/RECENT_SHARE of it."""
STEP = timedelta(hours=1)


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


def _calendar_measure(
    spent: Decimal,
    limit: Decimal,
    period: Period,
    now: datetime,
    days: list[DaySpend],
    usd: bool,
) -> Measure:
    length = Decimal(period.length.total_seconds())
    elapsed = min(Decimal(max((now - period.start).total_seconds(), 1)), length)
    per_day = spent / elapsed * SECONDS_PER_DAY
    forecast = spent + spent / elapsed * (length - elapsed)
    reached_on = None
    if spent >= limit:
        reached_on = _reached_day(days, limit, usd)
    elif spent > 0:
        seconds_left = (limit - spent) / spent * elapsed
        at = now + timedelta(seconds=float(seconds_left))
        if at < period.end:
            reached_on = at.astimezone(period.tz).date()
    return Measure(spent, limit, per_day, forecast, reached_on)


def _spend_times(
    ledger: Ledger, budget: Budget, period: Period, usd: bool
) -> list[tuple[datetime, Decimal]]:
    """Spend (USD or tokens) at each moment of a rolling window, oldest first."""
    scope, params = budget.scope.where()
    amount = (
        "coalesce(sum(cost_usd), 0)"
        if usd
        else "coalesce(sum(input_tokens + cache_read_tokens + cache_write_tokens "
        "+ output_tokens), 0)::BIGINT"
    )
    rows = ledger.fetch(
        f"SELECT started_at, {amount} FROM usage "
        f"WHERE started_at >= ? AND started_at < ? AND {scope} "
        "GROUP BY started_at ORDER BY started_at",
        [period.start, period.end, *params],
    )
    return [(row[0], Decimal(row[1])) for row in rows]


def _rolling_reached_on(
    spend: list[tuple[datetime, Decimal]],
    limit: Decimal,
    period: Period,
    rate_per_second: Decimal,
) -> date | None:
    """The first day the window meets ``limit`` at the recent rate."""
    steps = int(period.length / STEP)
    held = sum((amount for _, amount in spend), Decimal(0))
    index = 0
    for step in range(1, steps + 1):
        cutoff = period.start + step * STEP
        while index < len(spend) and spend[index][0] < cutoff:
            held -= spend[index][1]
            index += 1
        gone = Decimal((step * STEP).total_seconds())
        if held + rate_per_second * gone >= limit:
            return (period.end + step * STEP).astimezone(period.tz).date()
    return None


def _rolling_measure(
    spend: list[tuple[datetime, Decimal]],
    limit: Decimal,
    period: Period,
    days: list[DaySpend],
    usd: bool,
) -> Measure:
    spent = sum((amount for _, amount in spend), Decimal(0))
    recent = period.length / RECENT_SHARE
    since = period.end - recent
    recent_spend = sum((a for at, a in spend if at >= since), Decimal(0))
    rate = recent_spend / Decimal(recent.total_seconds())
    length = Decimal(period.length.total_seconds())
    forecast = rate * length
    if spent >= limit:
        reached_on = _reached_day(days, limit, usd)
    else:
        reached_on = _rolling_reached_on(spend, limit, period, rate)
    return Measure(spent, limit, rate * SECONDS_PER_DAY, forecast, reached_on)


def _measure(
    ledger: Ledger,
    budget: Budget,
    spent: Decimal,
    limit: Decimal,
    period: Period,
    now: datetime,
    days: list[DaySpend],
    usd: bool,
) -> Measure:
    if not period.rolling:
        return _calendar_measure(spent, limit, period, now, days, usd)
    spend = _spend_times(ledger, budget, period, usd)
    return _rolling_measure(spend, limit, period, days, usd)


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
        usd = _measure(
            ledger, budget, spent_usd, budget.limit_usd, period, now, days, True
        )
    if budget.limit_tokens is not None:
        limit = Decimal(budget.limit_tokens)
        tokens = _measure(
            ledger, budget, Decimal(spent_tokens), limit, period, now, days, False
        )
    return BudgetStatus(
        budget, period, now, spent_usd, spent_tokens, unpriced, usd, tokens,
        tuple(days),
    )  # fmt: skip


def evaluate_all(
    ledger: Ledger, budgets: list[Budget], now: datetime, tz: ZoneInfo
) -> list[BudgetStatus]:
    return [evaluate(ledger, budget, now, tz) for budget in budgets]


def scope_problem(ledger: Ledger, budget: Budget) -> str | None:
    """Why the budget's scope may never match, or None: a profile, task,
    model or provider that no usage record in the ledger has."""
    scope = budget.scope
    if scope.kind == EVERYTHING:
        return None
    column = "coalesce(provider, '')" if scope.kind == "provider" else scope.kind
    known = [
        str(row[0])
        for row in ledger.fetch(f"SELECT DISTINCT {column} FROM usage ORDER BY 1")
    ]
    if scope.value in known:
        return None
    hint = suggest(scope.value, known)
    return (
        f"budget {budget.name!r}: no usage record in the ledger has "
        f"{scope.kind} {scope.value!r}{hint}, so it counts nothing yet"
    )
