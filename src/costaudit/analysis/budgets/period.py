"""The period a budget covers at a given moment, in the user's time zone.

A calendar period starts at local midnight: the day, the ISO week (Monday
first) or the month that holds the moment. A rolling period is the last 1, 7
or 30 days up to the moment. Bounds are aware datetimes, so a spend at 23:30
UTC falls on the next day in Europe/Berlin. Bounds are kept in UTC: Python
subtracts two datetimes of the same zone by wall clock, which would make a
day with a daylight-saving change 24 hours long instead of 23 or 25.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from costaudit.analysis.budgets.settings import ROLLING_DAYS, Budget


@dataclass(frozen=True)
class Period:
    start: datetime
    """In UTC."""
    end: datetime
    """In UTC, exclusive; for a rolling period, the moment it was taken at."""
    tz: ZoneInfo
    rolling: bool

    @property
    def first_day(self) -> date:
        return self.start.astimezone(self.tz).date()

    @property
    def last_day(self) -> date:
        """The last local day the period touches (inclusive)."""
        return (self.end - timedelta(microseconds=1)).astimezone(self.tz).date()

    @property
    def length(self) -> timedelta:
        return self.end - self.start


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def calendar_bounds(period: str, day: date) -> tuple[date, date]:
    """First day of the calendar ``period`` holding ``day``, and the day after."""
    if period == "day":
        return day, day + timedelta(days=1)
    if period == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=7)
    first = day.replace(day=1)
    return first, _next_month(first)


def current_period(budget: Budget, now: datetime, tz: ZoneInfo) -> Period:
    """The period of ``budget`` that holds ``now`` (an aware datetime)."""
    if budget.rolling:
        length = timedelta(days=ROLLING_DAYS[budget.period])
        end = now.astimezone(UTC)
        return Period(end - length, end, tz, rolling=True)
    first, after = calendar_bounds(budget.period, now.astimezone(tz).date())
    return Period(_midnight(first, tz), _midnight(after, tz), tz, rolling=False)
