"""What ``budget check`` remembers between runs, kept in the ledger.

One row per threshold crossed, per period, per notification target. A
threshold is alerted once in a period: a calendar period is keyed by its
start; a rolling period has no start of its own, so a crossing holds for one
period length from the moment it was seen (after that, everything the window
holds was spent since the alert, and a new crossing is news). A target is
named by a hash of its URL, never the URL, which may carry a token. A row
whose notification failed stays ``failed`` and is sent again on the next
run, until its period ends or it has been tried ``max_attempts`` times;
then it becomes ``given up`` and is not sent again (the threshold still
counts as alerted in that period). ``recorded`` means no notification URL
was configured, so the alert was only printed. ``superseded`` means an alert
at a higher threshold of the same budget stood for it: a lower threshold
crossed in the same run, or a failed alert a newer one covers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from costaudit.ledger.migrations import MIGRATIONS_BY_NAME
from costaudit.ledger.store import Ledger

SENT = "sent"
FAILED = "failed"
RECORDED = "recorded"
GAVE_UP = "given up"
SUPERSEDED = "superseded"
UNDELIVERED = (FAILED, GAVE_UP)
PLACES = Decimal("0.001")
"""The ledger keeps thresholds to three decimals (DECIMAL(9, 3))."""

BUDGET_ALERTS_MIGRATION = MIGRATIONS_BY_NAME["006_budget_alerts"]


def target_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AlertRow:
    budget: str
    threshold: Decimal
    period_start: datetime
    period_end: datetime
    target: str
    crossed_at: datetime
    level: str
    title: str
    body: str
    status: str
    attempts: int
    last_error: str | None = None


def alerted(ledger: Ledger, budget: str, now: datetime) -> set[Decimal]:
    """Thresholds of ``budget`` already alerted in the period holding ``now``."""
    rows = ledger.fetch(
        "SELECT DISTINCT threshold FROM budget_alerts "
        "WHERE budget = ? AND period_start <= ? AND period_end > ?",
        [budget, now, now],
    )
    return {Decimal(row[0]).quantize(PLACES) for row in rows}


def failed(ledger: Ledger) -> list[AlertRow]:
    """Alerts whose notification has not gone through yet, oldest first."""
    rows = ledger.fetch(
        "SELECT budget, threshold, period_start, period_end, target, crossed_at, "
        "level, title, body, status, attempts, last_error FROM budget_alerts "
        "WHERE status = ? ORDER BY crossed_at, budget, threshold",
        [FAILED],
    )
    return [AlertRow(*row) for row in rows]


def undelivered(ledger: Ledger, budget: str, now: datetime) -> list[AlertRow]:
    """Alerts of ``budget`` in the period holding ``now`` that did not go
    through: still to be retried, or given up."""
    rows = ledger.fetch(
        "SELECT budget, threshold, period_start, period_end, target, crossed_at, "
        "level, title, body, status, attempts, last_error FROM budget_alerts "
        "WHERE budget = ? AND period_start <= ? AND period_end > ? "
        "AND status IN (?, ?) ORDER BY threshold",
        [budget, now, now, *UNDELIVERED],
    )
    return [AlertRow(*row) for row in rows]


def save(ledger: Ledger, row: AlertRow, now: datetime) -> None:
    ledger.con.execute(
        "INSERT OR REPLACE INTO budget_alerts VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            row.budget, row.threshold, row.period_start, row.period_end,
            row.target, row.crossed_at, row.level, row.title, row.body,
            row.status, row.attempts, row.last_error, now,
        ],
    )  # fmt: skip
