"""Usage and cost grouped by any of profile, task, model, provider, platform,
source, call kind, cost source, day, week or month, with a totals row that
the groups sum to.

The infrastructure's cost (a fixed monthly amount) is shared out per call
over every call of the date window, whatever the profile or model filters:
filtering a report to one profile shows that profile's share, and neither
raises its cost per query nor charges it the others' share.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costaudit.analysis.infra import Infrastructure, local_span, span_days
from costaudit.analysis.window import Window
from costaudit.errors import UsageError
from costaudit.ledger.store import Ledger
from costaudit.pricing.cost import partial

TIME_KEYS = ("day", "week", "month")


def group_expression(key: str, window: Window) -> str:
    tz = window.tz_name
    expressions = {
        "profile": "profile",
        "task": "task",
        "model": "model",
        "provider": "coalesce(provider, '')",
        "platform": "coalesce(platform, '')",
        "source": "source",
        "call_kind": "call_kind",
        "cost_source": "coalesce(cost_source, 'unpriced')",
        "day": f"strftime(timezone('{tz}', started_at), '%Y-%m-%d')",
        "week": f"strftime(timezone('{tz}', started_at), '%G-W%V')",
        "month": f"strftime(timezone('{tz}', started_at), '%Y-%m')",
    }
    return expressions[key]


GROUP_KEYS = (
    "profile",
    "task",
    "model",
    "provider",
    "platform",
    "source",
    "call_kind",
    "cost_source",
    "day",
    "week",
    "month",
)


def parse_group_keys(text: str) -> list[str]:
    keys = [k.strip() for k in text.split(",") if k.strip()]
    for key in keys:
        if key not in GROUP_KEYS:
            close = difflib.get_close_matches(key, GROUP_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(
                f"cannot group by {key!r}{hint}: choose from {', '.join(GROUP_KEYS)}"
            )
    return keys


# A sum over no priced record is NULL, never 0: unknown is not free. The API
# and local sums are 0 for a group with no call of that kind (nothing was
# spent there), and NULL when its calls of that kind have no price.
_AGGREGATES = """
    sum(calls)::BIGINT AS calls,
    count(DISTINCT (profile, session_id))::BIGINT AS sessions,
    sum(input_tokens)::BIGINT AS input_tokens,
    sum(cache_read_tokens)::BIGINT AS cache_read_tokens,
    sum(cache_write_tokens)::BIGINT AS cache_write_tokens,
    sum(output_tokens)::BIGINT AS output_tokens,
    sum(reasoning_tokens)::BIGINT AS reasoning_tokens,
    sum(input_tokens + cache_read_tokens + cache_write_tokens + output_tokens)::BIGINT
        AS total_tokens,
    sum(cost_usd) AS cost_usd,
    CASE WHEN count(*) FILTER (WHERE NOT coalesce(local, FALSE)) = 0 THEN 0
         ELSE sum(cost_usd) FILTER (WHERE NOT coalesce(local, FALSE)) END
        AS api_cost_usd,
    CASE WHEN count(*) FILTER (WHERE local) = 0 THEN 0
         ELSE sum(cost_usd) FILTER (WHERE local) END AS local_cost_usd,
    coalesce(sum(calls) FILTER (WHERE cost_usd IS NULL), 0)::BIGINT AS unpriced_calls
"""


@dataclass
class Report:
    group_by: list[str]
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    days: int
    infrastructure: Infrastructure
    notes: list[str] = field(default_factory=list)
    window_calls: int = 0
    """Every call of the date window, over which the infrastructure is shared."""


def _finish(row: dict[str, Any], rent_per_call: Decimal) -> None:
    calls = int(row["calls"] or 0)
    share = rent_per_call * calls
    row["infra_cost_usd"] = share
    unpriced = int(row["unpriced_calls"] or 0)
    # A cost that leaves out unpriced calls is a lower bound, and says so
    # (those calls are API calls: the energy model prices every local one).
    for key in ("cost_usd", "api_cost_usd"):
        row[key] = partial(row[key], unpriced)
    priced_calls = calls - unpriced
    if priced_calls == 0:
        # Nothing of the group has a price: its cost per query is unknown,
        # not the infrastructure's share alone.
        row["cost_per_query_usd"] = None
        return
    # Usage cost over the calls that have a price (an unpriced call is not a
    # free one), plus the machine's share of a call.
    row["cost_per_query_usd"] = row["cost_usd"] / Decimal(priced_calls) + share / calls


def _order(group_by: list[str]) -> str:
    """Time keys in time order first; within them, the costliest first."""
    positions = {key: i + 1 for i, key in enumerate(group_by)}
    times = [str(positions[k]) for k in group_by if k in TIME_KEYS]
    others = ", ".join(str(positions[k]) for k in group_by if k not in TIME_KEYS)
    parts = [*times, "cost_usd DESC NULLS LAST", "total_tokens DESC"]
    return ", ".join([*parts, others] if others else parts)


def rent_per_call(
    ledger: Ledger, window: Window, infra: Infrastructure
) -> tuple[Decimal, int, int]:
    """The infrastructure's cost per call over every call of the window's
    dates (filters aside), with the number of days and of calls."""
    dates = window.dates_only()
    where, params = dates.where()
    row = ledger.fetch(
        f"SELECT coalesce(sum(calls), 0), {local_span(dates)} FROM usage WHERE {where}",
        params,
    )[0]
    return _rent(dates, infra, int(row[0]), row[1], row[2])


def _rent(
    dates: Window,
    infra: Infrastructure,
    calls: int,
    first_day: str | None,
    last_day: str | None,
) -> tuple[Decimal, int, int]:
    _first, _last, days = span_days(dates, first_day, last_day)
    if not calls:
        return Decimal(0), days, 0
    return infra.cost(days) / Decimal(calls), days, calls


def build_report(
    ledger: Ledger, window: Window, group_by: list[str], infra: Infrastructure
) -> Report:
    """Rows per group, and totals over the same records.

    The totals query also gives the window's days and calls, over which the
    infrastructure is shared, unless profiles or models are filtered out:
    then the window's other records count too, and are queried apart.
    """
    where, params = window.where()
    rows: list[dict[str, Any]] = []
    if group_by:
        select_keys = ", ".join(
            f"{group_expression(k, window)} AS {k}" for k in group_by
        )
        group_clause = ", ".join(str(i + 1) for i in range(len(group_by)))
        rows = ledger.fetch_dicts(
            f"SELECT {select_keys}, {_AGGREGATES} FROM usage WHERE {where} "
            f"GROUP BY {group_clause} ORDER BY {_order(group_by)}",
            params,
        )
    totals = ledger.fetch_dicts(
        f"SELECT {_AGGREGATES}, {local_span(window)} FROM usage WHERE {where}",
        params,
    )[0]
    first_day, last_day = totals.pop("first_day"), totals.pop("last_day")
    if window.filtered:
        rent, days, window_calls = rent_per_call(ledger, window, infra)
    else:
        calls = int(totals["calls"] or 0)
        rent, days, window_calls = _rent(window, infra, calls, first_day, last_day)
    for row in [*rows, totals]:
        _finish(row, rent)
    if not totals["sessions"]:
        # Nothing matched: nothing was used or spent, which is not unknown.
        totals.update({k: v or 0 for k, v in totals.items()})
    return Report(group_by, rows, totals, days, infra, window_calls=window_calls)


def no_match_reason(ledger: Ledger, window: Window) -> str:
    """Why ``window`` holds no records, in words: profiles or models that
    the ledger has never seen (with the names closest to them), dates
    outside the ledger's, or an empty ledger."""
    unknown = [
        _unknown_names(ledger, column, asked)
        for column, asked in (("profile", window.profiles), ("model", window.models))
    ]
    named = [text for text in unknown if text]
    if named:
        return f"no records match: {'; '.join(named)}"
    first, last = ledger.fetch(
        f"SELECT min({window.local_day()}), max({window.local_day()}) FROM usage"
    )[0]
    if first is None:
        return "no records match: the ledger holds no usage yet (costaudit sources)"
    dated, params = window.dates_only().where()
    if not ledger.fetch(f"SELECT 1 FROM usage WHERE {dated} LIMIT 1", params):
        return (
            "no records match: the ledger's usage runs from "
            f"{first} to {last} ({window.tz_name})"
        )
    return "no records match these dates, profiles and models together"


def _unknown_names(ledger: Ledger, column: str, asked: tuple[str, ...]) -> str:
    """The names in ``asked`` that no record has in ``column``, with the
    closest ones it has; empty when every name is known."""
    if not asked:
        return ""
    known = [
        str(row[0])
        for row in ledger.fetch(f"SELECT DISTINCT {column} FROM usage ORDER BY 1")
    ]
    parts = []
    for name in asked:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        parts.append(f"{name!r}{hint}")
    if not parts:
        return ""
    listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
    return f"no {column} {', '.join(parts)} in the ledger, which has {listed or 'none'}"
