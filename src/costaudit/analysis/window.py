"""Which records an analysis covers: a time window, a time zone, filters."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

DAYS_PER_MONTH = Decimal("30.4375")


@dataclass(frozen=True)
class Window:
    """Records whose first call falls in [since, until] (local dates, inclusive)."""

    tz: ZoneInfo
    since: date | None = None
    until: date | None = None
    profiles: tuple[str, ...] = ()
    models: tuple[str, ...] = ()

    @property
    def tz_name(self) -> str:
        return self.tz.key

    @property
    def filtered(self) -> bool:
        """Whether the window keeps only some profiles or models."""
        return bool(self.profiles or self.models)

    def dates_only(self) -> Window:
        """The same dates, every profile and model."""
        return replace(self, profiles=(), models=())

    def start(self) -> datetime | None:
        if self.since is None:
            return None
        return datetime.combine(self.since, time.min, tzinfo=self.tz)

    def end(self) -> datetime | None:
        if self.until is None:
            return None
        return datetime.combine(
            self.until + timedelta(days=1), time.min, tzinfo=self.tz
        )

    def where(self, alias: str = "") -> tuple[str, list[Any]]:
        """A SQL condition and its parameters."""
        prefix = f"{alias}." if alias else ""
        clauses = ["TRUE"]
        params: list[Any] = []
        start, end = self.start(), self.end()
        if start is not None:
            clauses.append(f"{prefix}started_at >= ?")
            params.append(start)
        if end is not None:
            clauses.append(f"{prefix}started_at < ?")
            params.append(end)
        if self.profiles:
            clauses.append(
                f"{prefix}profile IN ({', '.join('?' * len(self.profiles))})"
            )
            params.extend(self.profiles)
        if self.models:
            clauses.append(f"{prefix}model IN ({', '.join('?' * len(self.models))})")
            params.extend(self.models)
        return " AND ".join(clauses), params

    def local_day(self, column: str = "started_at") -> str:
        return f"strftime(timezone('{self.tz_name}', {column}), '%Y-%m-%d')"
