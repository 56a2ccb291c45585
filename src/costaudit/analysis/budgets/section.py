"""Budgets as plain data: for ``budget status --format json`` and the audit
document, whose HTML report draws a burn-down from ``daily``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from costaudit.analysis.budgets.evaluate import BudgetStatus, Measure, evaluate_all
from costaudit.analysis.budgets.settings import budgets_from_config
from costaudit.analysis.window import Window

if TYPE_CHECKING:
    from costaudit.workspace import Workspace


def _measure(prefix: str, measure: Measure | None) -> dict[str, Any]:
    if measure is None:
        return {
            f"{prefix}_share": None,
            f"burn_{prefix}_per_day": None,
            f"burn_{prefix}_basis": None,
            f"forecast_{prefix}": None,
        }
    return {
        f"{prefix}_share": measure.share,
        f"burn_{prefix}_per_day": measure.per_day,
        f"burn_{prefix}_basis": measure.basis,
        f"forecast_{prefix}": measure.forecast,
    }


def status_document(status: BudgetStatus) -> dict[str, Any]:
    """One budget's status; money in USD, shares as fractions (1 = limit).

    ``burn_*_basis`` says the span each burn rate was measured over (see
    :mod:`costaudit.analysis.budgets.evaluate`); a forecast is never below
    what was spent.
    """
    budget, period = status.budget, status.period
    tokens = status.tokens
    return {
        "name": budget.name,
        "scope": str(budget.scope),
        "period": budget.period_label,
        "period_start": period.first_day.isoformat(),
        "period_end": period.last_day.isoformat(),
        "timezone": period.tz.key,
        "as_of": status.now,
        "spent_usd": status.spent_usd,
        "limit_usd": budget.limit_usd,
        **_measure("usd", status.usd),
        "spent_tokens": status.spent_tokens,
        "limit_tokens": budget.limit_tokens,
        **_measure("tokens", tokens),
        "share": status.share,
        "limit_reached_on": status.reached_on,
        "thresholds": list(budget.thresholds),
        "crossed": list(status.crossed),
        "level": status.level,
        "unpriced_calls": status.unpriced_calls,
        "daily": [
            {
                "day": d.day.isoformat(),
                "usd": d.usd,
                "tokens": d.tokens,
                "cumulative_usd": d.cumulative_usd,
                "cumulative_tokens": d.cumulative_tokens,
            }
            for d in status.daily
        ],
    }


def budget_section(workspace: Workspace, window: Window) -> dict[str, Any]:
    """``{"budgets": [...]}`` for the audit document.

    An audit describes its window, so each budget stands as it did at the
    window's last recorded call (or its end, or now, whichever is first);
    ``budget status`` is the command for where budgets stand now.
    """
    now = datetime.now(tz=UTC)
    end = window.end()
    if end is not None and end <= now:
        now = end - timedelta(microseconds=1)
    where, params = window.where()
    last = workspace.ledger.fetch(
        f"SELECT max(ended_at) FROM usage WHERE {where}", params
    )
    if last and last[0][0] is not None and last[0][0] < now:
        now = last[0][0]
    budgets = budgets_from_config(workspace.config)
    statuses = evaluate_all(workspace.ledger, budgets, now, window.tz)
    return {"budgets": [status_document(s) for s in statuses]}
