"""Usage and cost grouped by any of profile, task, model, provider, platform,
day, week or month, with a totals row that the groups sum to."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costaudit.analysis.infra import Infrastructure, window_days
from costaudit.analysis.window import Window
from costaudit.errors import CostauditError
from costaudit.ledger.store import Ledger

TOKEN_COLUMNS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)


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
    "day",
    "week",
    "month",
)


def parse_group_keys(text: str) -> list[str]:
    keys = [k.strip() for k in text.split(",") if k.strip()]
    for key in keys:
        if key not in GROUP_KEYS:
            raise CostauditError(
                f"cannot group by {key!r}: choose from {', '.join(GROUP_KEYS)}"
            )
    return keys


_AGGREGATES = """
    sum(calls)::BIGINT AS calls,
    count(DISTINCT profile || '/' || session_id)::BIGINT AS sessions,
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


def _finish(row: dict[str, Any], infra_total: Decimal, all_calls: int) -> None:
    calls = int(row["calls"] or 0)
    share = (
        infra_total * Decimal(calls) / Decimal(all_calls) if all_calls else Decimal(0)
    )
    row["infra_cost_usd"] = share
    cost = row["cost_usd"]
    priced_calls = calls - int(row["unpriced_calls"] or 0)
    if calls == 0 or (cost is None and not share):
        row["cost_per_query_usd"] = None
        return
    # Usage cost over the calls that have a price (an unpriced call is not a
    # free one), plus the machine's share spread over every call.
    usage = (cost or Decimal(0)) / Decimal(priced_calls) if priced_calls else Decimal(0)
    row["cost_per_query_usd"] = usage + share / Decimal(calls)


def build_report(
    ledger: Ledger, window: Window, group_by: list[str], infra: Infrastructure
) -> Report:
    """Rows per group, and totals over the same records."""
    where, params = window.where()
    select_keys = ", ".join(f"{group_expression(k, window)} AS {k}" for k in group_by)
    group_clause = ", ".join(str(i + 1) for i in range(len(group_by)))
    if group_by:
        sql = (
            f"SELECT {select_keys}, {_AGGREGATES} FROM usage WHERE {where} "
            f"GROUP BY {group_clause} ORDER BY cost_usd DESC NULLS LAST, "
            f"total_tokens DESC, {group_clause}"
        )
        rows = ledger.fetch_dicts(sql, params)
    else:
        rows = []
    totals = ledger.fetch_dicts(
        f"SELECT {_AGGREGATES} FROM usage WHERE {where}", params
    )[0]
    _first, _last, days = window_days(ledger, window)
    infra_total = infra.cost(days)
    all_calls = int(totals["calls"] or 0)
    for row in rows:
        _finish(row, infra_total, all_calls)
    _finish(totals, infra_total, all_calls)
    return Report(group_by, rows, totals, days, infra)
