"""Where the prices came from, what is unpriced, and where the agent's own
estimate disagrees with ours."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from costaudit.analysis.window import Window
from costaudit.ledger.store import Ledger

DISAGREEMENT = Decimal("0.10")


def cost_by_source(ledger: Ledger, window: Window) -> list[dict[str, Any]]:
    where, params = window.where()
    return ledger.fetch_dicts(
        f"""
        SELECT cost_source, sum(calls)::BIGINT AS calls, sum(cost_usd) AS cost_usd,
               count(DISTINCT model)::BIGINT AS models,
               any_value(cost_detail) AS example
        FROM usage WHERE {where}
        GROUP BY cost_source ORDER BY cost_usd DESC NULLS LAST
        """,
        params,
    )


def local_models(ledger: Ledger, window: Window) -> list[str]:
    """The models the window's local calls ran on."""
    where, params = window.where()
    rows = ledger.fetch(
        f"SELECT DISTINCT model FROM usage WHERE {where} AND local ORDER BY 1", params
    )
    return [str(row[0]) for row in rows]


def unpriced_models(ledger: Ledger, window: Window) -> list[dict[str, Any]]:
    where, params = window.where()
    return ledger.fetch_dicts(
        f"""
        SELECT model, coalesce(provider, '') AS provider, sum(calls)::BIGINT AS calls,
               sum(input_tokens + cache_read_tokens + cache_write_tokens
                   + output_tokens)::BIGINT AS total_tokens
        FROM usage WHERE {where} AND cost_usd IS NULL
        GROUP BY 1, 2 ORDER BY calls DESC
        """,
        params,
    )


def estimate_disagreements(ledger: Ledger, window: Window) -> list[dict[str, Any]]:
    """Models where the agent's estimate and ours differ by more than 10%.

    Both sides cover the same records: those the agent estimated and the
    price library priced. ``calls`` counts their calls and ``model_calls``
    every call of the model, so a reader sees how much the estimate covers.
    """
    where, params = window.where()
    rows = ledger.fetch_dicts(
        f"""
        SELECT model, coalesce(provider, '') AS provider,
               sum(calls) FILTER (WHERE compared)::BIGINT AS calls,
               sum(calls)::BIGINT AS model_calls,
               sum(agent_cost_usd) FILTER (WHERE compared) AS agent_cost_usd,
               sum(cost_usd) FILTER (WHERE compared) AS cost_usd,
               any_value(split_part(cost_detail, ';', 1))
                   FILTER (WHERE compared) AS priced_with
        FROM (
            SELECT *, (agent_cost_status = 'estimated'
                       AND agent_cost_usd IS NOT NULL
                       AND cost_source = 'price_library') AS compared
            FROM usage WHERE {where}
        )
        GROUP BY 1, 2
        HAVING bool_or(compared)
        ORDER BY cost_usd DESC NULLS LAST, model
        """,
        params,
    )
    found = []
    for row in rows:
        ours, theirs = row["cost_usd"], row["agent_cost_usd"]
        if not ours:
            continue
        gap = (theirs - ours) / ours
        if abs(gap) > DISAGREEMENT:
            row["difference_share"] = gap
            found.append(row)
    return found


def describe_disagreement(row: dict[str, Any], money: Any) -> str:
    """One line on a disagreement, for the terminal."""
    calls, every = row["calls"], row["model_calls"]
    if calls != every:
        covered = f"{calls:,} of its {every:,} calls"
    else:
        covered = "its one call" if calls == 1 else f"all {calls:,} calls"
    return (
        f"the agent estimated {money(row['agent_cost_usd'])} for {row['model']} "
        f"({covered}); {row['priced_with']} gives {money(row['cost_usd'])} "
        f"(the agent's figure is {float(row['difference_share']):+.0%} off ours)"
    )
