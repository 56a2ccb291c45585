"""How a budget stands: spend so far, share of the limit, burn rate, forecast.

Spend is the priced cost of the records in the budget's scope whose first
call falls in the period, up to now. An unpriced record adds its tokens but
no money, and its calls are counted, so the money spent reads as a lower
bound rather than as free usage.

For a calendar period the burn rate is what was spent over the time elapsed
in the period; the forecast carries that rate to the period's end, and the
limit is reached, at that rate, on the day the projection meets it (or not
before the period resets). In a period's first hours that rate would rest on
a few calls (one call a second after midnight reads as a fortune a day), so
the rate is taken over at least :data:`MIN_SPAN` of the period's kind: six
hours for a day, a day for a week, three days for a month. Until that much of
the period has gone by, the span reaches back into the previous period, whose
spend in those hours counts too; each measure says which span it used.

A rolling period never ends, and its oldest spend keeps leaving the window.
Its rate is the window's average (its spend over its length) or, when
spending has sped up, the rate of its last quarter (the last 6 hours of a
rolling day, 42 hours of a week, 7.5 days of a 30-day month), whichever is
higher, so an alert comes early rather than late. Over the next period
length, what the window will hold is the spend that has not left it yet plus
that rate times the time gone by; the forecast is the most it will hold, so
never less than what it holds now, and the limit date is the first moment
it meets the limit.
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
"""A rolling period's recent rate is taken over the last 1/RECENT_SHARE of it."""
MIN_SPAN = {
    "day": timedelta(hours=6),
    "week": timedelta(days=1),
    "month": timedelta(days=3),
}
"""The shortest span a calendar period's burn rate is measured over."""
SINCE_START = "since the period began"
TOKENS_SQL = (
    "coalesce(sum(input_tokens + cache_read_tokens + cache_write_tokens "
    "+ output_tokens), 0)::BIGINT"
)


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
    """At the end of a calendar period; the most a rolling window will hold
    over the next period length. At the current rate; never below ``spent``."""
    reached_on: date | None
    """The local day the limit was reached, or will be at the current rate."""
    basis: str = SINCE_START
    """The span the rate was measured over, in words."""

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


def span_text(span: timedelta) -> str:
    """``6 hours``, ``7.5 days``, ``40 minutes``: a span in words, in days
    from two days on, else hours from one hour on, else whole minutes."""
    seconds = span.total_seconds()
    for unit, size, least in (("day", 86_400, 2), ("hour", 3_600, 1)):
        if seconds >= size * least:
            count = f"{seconds / size:.1f}".removesuffix(".0")
            return f"{count} {unit}{'' if count == '1' else 's'}"
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute"
    return f"{minutes} minute{'' if minutes == 1 else 's'}"


def _seconds(span: timedelta) -> Decimal:
    return Decimal(str(span.total_seconds()))


@dataclass(frozen=True)
class Rate:
    """An amount spent over a span of seconds: a burn rate kept as its two
    terms, so a projection multiplies before it divides and stays exact."""

    amount: Decimal
    seconds: Decimal
    basis: str

    def over(self, seconds: Decimal) -> Decimal:
        """What this rate spends in ``seconds``."""
        return self.amount * seconds / self.seconds if self.seconds else Decimal(0)

    def faster_than(self, other: Rate) -> bool:
        return self.amount * other.seconds > other.amount * self.seconds

    def seconds_to(self, amount: Decimal) -> Decimal | None:
        """Seconds to spend ``amount`` at this rate; None at a rate of zero."""
        if self.amount <= 0:
            return None
        return amount * self.seconds / self.amount


def _amount(
    ledger: Ledger, budget: Budget, start: datetime, end: datetime, usd: bool
) -> Decimal:
    """Spend (USD or tokens) in the budget's scope from ``start`` to ``end``."""
    scope, params = budget.scope.where()
    amount = "coalesce(sum(cost_usd), 0)" if usd else TOKENS_SQL
    rows = ledger.fetch(
        f"SELECT {amount} FROM usage WHERE started_at >= ? AND started_at < ? "
        f"AND {scope}",
        [start, end, *params],
    )
    return Decimal(rows[0][0]) if rows else Decimal(0)


def _daily(
    ledger: Ledger, budget: Budget, period: Period, now: datetime
) -> tuple[list[DaySpend], int]:
    scope, params = budget.scope.where()
    rows = ledger.fetch(
        "SELECT strftime(timezone(?, started_at), '%Y-%m-%d'), "
        f"coalesce(sum(cost_usd), 0), {TOKENS_SQL}, "
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


def _calendar_rate(
    ledger: Ledger,
    budget: Budget,
    period: Period,
    now: datetime,
    spent: Decimal,
    usd: bool,
) -> Rate:
    """The spend since the period began over the time it took, or, early in
    the period, the spend of the last :data:`MIN_SPAN` (reaching back)."""
    elapsed = now - period.start
    least = MIN_SPAN[budget.period]
    if elapsed >= least:
        return Rate(spent, _seconds(elapsed), SINCE_START)
    before = _amount(ledger, budget, now - least, period.start, usd)
    basis = (
        f"over the last {span_text(least)}, reaching into the previous period "
        f"(this one began {span_text(elapsed)} ago)"
    )
    return Rate(spent + before, _seconds(least), basis)


def _calendar_measure(
    spent: Decimal,
    limit: Decimal,
    rate: Rate,
    period: Period,
    now: datetime,
    days: list[DaySpend],
    usd: bool,
) -> Measure:
    forecast = spent + rate.over(_seconds(period.end - now))
    reached_on = None
    if spent >= limit:
        reached_on = _reached_day(days, limit, usd)
    else:
        seconds = rate.seconds_to(limit - spent)
        if seconds is not None:
            at = now + timedelta(seconds=float(seconds))
            if at < period.end:
                reached_on = at.astimezone(period.tz).date()
    per_day = rate.over(SECONDS_PER_DAY)
    return Measure(spent, limit, per_day, forecast, reached_on, rate.basis)


def _spend_times(
    ledger: Ledger, budget: Budget, period: Period, usd: bool
) -> list[tuple[datetime, Decimal]]:
    """Spend (USD or tokens) at each moment of a rolling window, oldest first."""
    scope, params = budget.scope.where()
    amount = "coalesce(sum(cost_usd), 0)" if usd else TOKENS_SQL
    rows = ledger.fetch(
        f"SELECT started_at, {amount} FROM usage "
        f"WHERE started_at >= ? AND started_at < ? AND {scope} "
        "GROUP BY started_at ORDER BY started_at",
        [period.start, period.end, *params],
    )
    return [(row[0], Decimal(row[1])) for row in rows]


def _rolling_rate(spend: list[tuple[datetime, Decimal]], period: Period) -> Rate:
    """The window's average, or its last quarter's rate when that is higher."""
    length = period.length
    whole = Rate(
        sum((amount for _, amount in spend), Decimal(0)),
        _seconds(length),
        f"over the whole window ({span_text(length)})",
    )
    recent = length / RECENT_SHARE
    since = period.end - recent
    quick = Rate(
        sum((amount for at, amount in spend if at >= since), Decimal(0)),
        _seconds(recent),
        f"over the last {span_text(recent)}, faster than the window's average",
    )
    return quick if quick.faster_than(whole) else whole


def _held_until(
    spend: list[tuple[datetime, Decimal]], period: Period
) -> list[tuple[Decimal, Decimal]]:
    """For each spend, the seconds from now until it leaves the window and
    what the window holds until then (that spend and all later ones)."""
    held = sum((amount for _, amount in spend), Decimal(0))
    steps = []
    for at, amount in spend:
        steps.append((_seconds(at - period.start), held))
        held -= amount
    return steps


def _rolling_reached_on(
    steps: list[tuple[Decimal, Decimal]], limit: Decimal, period: Period, rate: Rate
) -> date | None:
    """The first day the window meets ``limit``: between two departures the
    window grows at ``rate`` from what it still holds."""
    start = Decimal(0)
    for leaves, held in [*steps, (_seconds(period.length), Decimal(0))]:
        seconds = rate.seconds_to(limit - held)
        if seconds is not None and start <= seconds <= leaves:
            at = period.end + timedelta(seconds=float(seconds))
            return at.astimezone(period.tz).date()
        start = leaves
    return None


def _rolling_measure(
    spend: list[tuple[datetime, Decimal]],
    limit: Decimal,
    period: Period,
    days: list[DaySpend],
    usd: bool,
) -> Measure:
    spent = sum((amount for _, amount in spend), Decimal(0))
    rate = _rolling_rate(spend, period)
    steps = _held_until(spend, period)
    # The window peaks just before a spend leaves it, or when all has left.
    peaks = [held + rate.over(leaves) for leaves, held in steps]
    forecast = max([spent, rate.over(_seconds(period.length)), *peaks])
    if spent >= limit:
        reached_on = _reached_day(days, limit, usd)
    else:
        reached_on = _rolling_reached_on(steps, limit, period, rate)
    per_day = rate.over(SECONDS_PER_DAY)
    return Measure(spent, limit, per_day, forecast, reached_on, rate.basis)


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
        rate = _calendar_rate(ledger, budget, period, now, spent, usd)
        return _calendar_measure(spent, limit, rate, period, now, days, usd)
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
