"""The most expensive operations: a profile's task, over its runs.

A row's cost sums its priced calls only; ``unpriced_calls`` says how many
calls it leaves out (its costs are then marked as lower bounds), and a row
with no priced call has no cost (None).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from costaudit.analysis.infra import window_days
from costaudit.analysis.window import DAYS_PER_MONTH, Window
from costaudit.errors import UsageError
from costaudit.ledger.store import Ledger
from costaudit.pricing.cost import partial


class Rank(StrEnum):
    """What ``top`` ranks operations by."""

    cost = "cost"
    tokens = "tokens"


RANKS = tuple(rank.value for rank in Rank)


def top_operations(
    ledger: Ledger, window: Window, limit: int = 5, rank: str = Rank.cost
) -> list[dict[str, Any]]:
    if rank not in RANKS:
        raise UsageError(f"cannot rank by {rank!r}: choose {' or '.join(RANKS)}")
    where, params = window.where()
    order = (
        "cost_usd DESC NULLS LAST, total_tokens DESC"
        if rank == Rank.cost
        else "total_tokens DESC, cost_usd DESC NULLS LAST"
    )
    rows = ledger.fetch_dicts(
        f"""
        SELECT profile, task,
               count(DISTINCT session_id)::BIGINT AS runs,
               sum(calls)::BIGINT AS calls,
               sum(input_tokens + cache_read_tokens + cache_write_tokens
                   + output_tokens)::BIGINT AS total_tokens,
               sum(cost_usd) AS cost_usd,
               coalesce(sum(calls) FILTER (WHERE cost_usd IS NULL), 0)::BIGINT
                   AS unpriced_calls,
               bool_or(local) AS any_local
        FROM usage WHERE {where}
        GROUP BY profile, task ORDER BY {order}, profile, task LIMIT ?
        """,
        [*params, limit],
    )
    # A month of the window's dates, whichever profiles it keeps.
    _first, _last, days = window_days(ledger, window.dates_only())
    for row in rows:
        runs = int(row["runs"]) or 1
        row["tokens_per_run"] = int(row["total_tokens"]) // runs
        cost = row["cost_usd"]
        unpriced = int(row["unpriced_calls"])
        row["cost_usd"] = partial(cost, unpriced)
        row["cost_per_run_usd"] = (
            None if cost is None else partial(cost / runs, unpriced)
        )
        row["cost_per_month_usd"] = (
            None
            if cost is None or not days
            else partial(cost * DAYS_PER_MONTH / Decimal(days), unpriced)
        )
    return rows
