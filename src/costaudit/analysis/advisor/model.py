"""What the advisor says about one strategy, and how it is put together.

A strategy module works out a :class:`Draft`: for each record it applies to,
what that record would have cost after the change (``projected``), plus the
evidence, assumptions, confidence, the change to make and the steps of the
computation with their real figures. :func:`finish` turns a draft into a
:class:`Strategy`: savings over the window and per month, their share of
spend, and which calls and tasks they come from.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from costaudit.analysis.advisor.history import History

TOP_TASKS = 10


class Confidence(StrEnum):
    """How far to trust a projection; ``none`` means it could not be made."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass
class Draft:
    projected: dict[int, Decimal] = field(default_factory=dict)
    """Row index to what the record would cost after the change."""
    answered: dict[int, int] = field(default_factory=dict)
    """Row index to the calls of the record the change takes over, where not
    all of them: a cache answers a session's first call, not the rest."""
    evidence: dict[str, Any] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    confidence: Confidence = Confidence.MEDIUM
    confidence_why: str = ""
    """Why the confidence is what it is, in one sentence."""
    change: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds spent (and counts) on costly steps, for benchmarks and logs."""

    def judge(self, confidence: Confidence, why: str) -> None:
        """Set the confidence and the reason for it, also a step of --explain."""
        self.confidence = confidence
        self.confidence_why = why
        self.steps.append(f"confidence {confidence}: {why}")


@dataclass
class Strategy:
    id: str
    title: str
    group: str | None
    """Strategies of one group are alternatives for a record (two caches
    answering the same call, two new homes for it); see combined.py."""
    savings_usd: Decimal
    monthly_savings_usd: Decimal
    share: Decimal | None
    applies_to: dict[str, Any]
    draft: Draft

    @property
    def projected(self) -> dict[int, Decimal]:
        return self.draft.projected

    @property
    def steps(self) -> list[str]:
        return self.draft.steps

    def document(self) -> dict[str, Any]:
        """The strategy as JSON-ready data (the steps are for --explain).

        ``group`` lets a reader of the combined figures say which strategy,
        applied first, took the calls of one that saves nothing combined.
        """
        return {
            "id": self.id,
            "title": self.title,
            "group": self.group,
            "monthly_savings_usd": self.monthly_savings_usd,
            "savings_usd": self.savings_usd,
            "share": self.share,
            "applies_to": self.applies_to,
            "confidence": str(self.draft.confidence),
            "confidence_why": self.draft.confidence_why,
            "change": self.draft.change,
            "assumptions": self.draft.assumptions,
            "evidence": self.draft.evidence,
        }


def finish(
    history: History, strategy_id: str, title: str, group: str | None, draft: Draft
) -> Strategy:
    """Total a draft's savings and describe what they apply to."""
    savings = Decimal(0)
    by_task: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    sessions: set[tuple[str, str]] = set()
    for index, after in draft.projected.items():
        row = history.rows[index]
        if row.cost is None or after == row.cost:
            continue
        savings += row.cost - after
        sessions.add(row.session)
        by_task[row.operation][0] += draft.answered.get(index, row.calls)
        by_task[row.operation][1] += row.cost - after
    monthly = savings * history.month_factor
    spend = history.spend_usd
    share = savings / spend if spend else None
    draft.steps.append(month_step(history, savings, monthly, share))
    applies_to = _applies_to(history, by_task, len(sessions))
    return Strategy(
        strategy_id, title, group, savings, monthly, share, applies_to, draft
    )


def _applies_to(
    history: History, by_task: dict[tuple[str, str], list[Any]], sessions: int
) -> dict[str, Any]:
    calls = sum(n for n, _ in by_task.values())
    tasks = sorted(by_task.items(), key=lambda item: (-item[1][1], item[0]))
    return {
        "calls": calls,
        "sessions": sessions,
        "call_share": Decimal(calls) / history.calls if history.calls else None,
        "tasks": [
            {"profile": p, "task": t, "calls": n, "savings_usd": s}
            for (p, t), (n, s) in tasks[:TOP_TASKS]
        ],
        "more_tasks": max(0, len(tasks) - TOP_TASKS),
    }


def month_step(
    history: History, savings: Decimal, monthly: Decimal, share: Decimal | None
) -> str:
    days = history.days
    return (
        f"over the window's {days} days the saving is {usd(savings)}; "
        f"x 30.4375 / {days} = {usd(monthly)} a month; "
        f"{percent(share)} of the {usd(history.spend_usd)} spent"
    )


def usd(value: Decimal | None) -> str:
    """Money with enough places to check small amounts by hand."""
    if value is None:
        return "unpriced"
    if value and abs(value) < Decimal("0.01"):
        return f"${value:.6f}"
    return f"${value:,.4f}"


def percent(value: Decimal | float | None) -> str:
    return "n/a" if value is None else f"{float(value) * 100:.1f}%"


def clip(text: str | None, width: int = 100) -> str:
    """A prompt on one line, cut to ``width`` characters for a report."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."
