"""Time series for charts: spend per day, split by profile."""

from __future__ import annotations

from typing import Any

from costaudit.analysis.report import build_report
from costaudit.analysis.window import Window
from costaudit.workspace import Workspace

SERIES_FIELDS = ("calls", "total_tokens", "cost_usd", "unpriced_calls")


def daily_by_profile(workspace: Workspace, window: Window) -> list[dict[str, Any]]:
    """One row per (day, profile) with records, ordered by day then profile.

    ``cost_usd`` is what the calls cost (None when none of them is priced);
    infrastructure is left out, as it is a fixed cost and not a profile's.
    """
    report = build_report(
        workspace.ledger, window, ["day", "profile"], workspace.infrastructure()
    )
    rows = [
        {"day": row["day"], "profile": row["profile"]}
        | {key: row[key] for key in SERIES_FIELDS}
        for row in report.rows
    ]
    return sorted(rows, key=lambda r: (r["day"], r["profile"]))
