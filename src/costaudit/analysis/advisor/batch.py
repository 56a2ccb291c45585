"""Batch or shift scheduled work: no one waits for a cron run's answer.

Work that is not interactive (platform ``cron`` or ``batch``, or a record of
a cron job) can go through a provider's batch API at a discount, or run in
the hours when the provider's price list is cheaper. Which providers offer
which is below; a provider with neither is named in the report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from costaudit.analysis.advisor.facts import Facts
from costaudit.analysis.advisor.history import Row
from costaudit.analysis.advisor.model import Confidence, Draft, usd
from costaudit.pricing.library import Rates

ID = "batch"
TITLE = "Batch or shift scheduled work"
GROUP = "venue"

# Discount of batch APIs on standard token prices, by genai-prices provider
# id. Sources (each provider's own documentation):
# - openai: "Batch API" guide, platform.openai.com/docs/guides/batch: 50%
#   lower costs, results within 24 hours;
# - anthropic: "Batch processing", docs.anthropic.com (Message Batches API):
#   50% of standard prices;
# - google: Gemini API "Batch Mode", ai.google.dev/gemini-api/docs/batch-mode:
#   50% of the standard cost.
BATCH_DISCOUNTS: dict[str, Decimal] = {
    "openai": Decimal("0.5"),
    "anthropic": Decimal("0.5"),
    "google": Decimal("0.5"),
}
NEITHER = "the provider offers no batch discount or off-peak price we know of"
ALREADY_CHEAPEST = "already runs at the cheapest time of day"
_SLOT = timedelta(minutes=30)
_SLOTS = 48


@dataclass
class _Option:
    """One way to make scheduled calls cheaper, over the records it fits."""

    provider: str
    model: str
    how: str
    detail: str
    records: int = 0
    calls: int = 0
    cost: Decimal = Decimal(0)
    savings: Decimal = Decimal(0)
    tasks: dict[tuple[str, str], Decimal] = field(
        default_factory=lambda: defaultdict(Decimal)
    )


@dataclass(frozen=True)
class _Plan:
    after: Decimal
    how: str
    """``batch API`` or ``off-peak from HH:MM UTC``."""
    detail: str


class _OffPeak:
    """The cheapest half-hours of a day in a model's price list."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self._days: dict[tuple[str, str | None, str | None, date], list[Rates]] = {}

    def _slots(self, row: Row) -> list[Rates]:
        day = row.at.date()
        key = (row.model, row.provider, row.endpoint, day)
        if key not in self._days:
            start = datetime.combine(day, time.min, tzinfo=UTC)
            rates = [
                self.facts.prices.rates(
                    row.model, row.provider, row.endpoint, start + i * _SLOT
                )
                for i in range(_SLOTS)
            ]
            self._days[key] = [r for r in rates if r is not None]
        return self._days[key]

    def varies(self, row: Row) -> bool:
        """Whether the model's price changes with the time of day."""
        return len(set(self._slots(row))) > 1

    def plan(self, row: Row) -> _Plan | None:
        rates = self.facts.prices.row_rates(row)
        slots = self._slots(row)
        if rates is None or row.cost is None or len(slots) != _SLOTS:
            return None
        now = rates.cost(row.tokens)
        cheapest = min(set(slots), key=lambda r: r.cost(row.tokens))
        low = cheapest.cost(row.tokens)
        if not now or low >= now:
            return None
        cheap = [i for i, r in enumerate(slots) if r == cheapest]
        first = next(i for i in cheap if (i - 1) % _SLOTS not in cheap)
        clock = (datetime.min + first * _SLOT).strftime("%H:%M")
        hours = len(cheap) / 2
        return _Plan(
            row.cost * low / now,
            f"off-peak from {clock} UTC",
            f"price list is lower {hours:g} h a day from {clock} UTC "
            f"(input ${cheapest.input_mtok.normalize():f} vs "
            f"${rates.input_mtok.normalize():f} per MTok)",
        )


def _plan(row: Row, provider: str, off_peak: _OffPeak) -> _Plan | None:
    """The cheaper of the batch discount and the off-peak price, if any."""
    assert row.cost is not None
    best = None
    discount = BATCH_DISCOUNTS.get(provider)
    if discount is not None:
        best = _Plan(
            row.cost * (1 - discount),
            "batch API",
            f"{provider} batch API: {float(discount) * 100:g}% off, results "
            "within 24 h",
        )
    shifted = off_peak.plan(row)
    if shifted is not None and (best is None or shifted.after < best.after):
        best = shifted
    return best


def analyse(facts: Facts) -> Draft:
    off_peak = _OffPeak(facts)
    options: dict[tuple[str, str, str], _Option] = {}
    neither: dict[tuple[str, str, str], list[Decimal]] = defaultdict(
        lambda: [Decimal(0), Decimal(0)]
    )
    draft = Draft()
    for row in facts.history.rows:
        if not row.scheduled or row.local or row.cost is None:
            continue
        provider = facts.prices.provider_id(row.model, row.provider, row.endpoint)
        name = provider or row.provider or "?"
        plan = _plan(row, name, off_peak)
        if plan is None:
            note = ALREADY_CHEAPEST if off_peak.varies(row) else NEITHER
            neither[(name, row.model, note)][0] += row.calls
            neither[(name, row.model, note)][1] += row.cost
            continue
        draft.projected[row.index] = plan.after
        key = (name, row.model, plan.how)
        option = options.setdefault(key, _Option(*key, plan.detail))
        option.records += 1
        option.calls += row.calls
        option.cost += row.cost
        option.savings += row.cost - plan.after
        option.tasks[row.operation] += row.cost - plan.after
    ranked = sorted(options.values(), key=lambda o: -o.savings)
    _describe(facts, draft, ranked, neither)
    return draft


def _evidence(
    options: list[_Option], neither: dict[tuple[str, str, str], list[Decimal]]
) -> dict[str, Any]:
    return {
        "options": [
            {"provider": o.provider, "model": o.model, "how": o.how,
             "detail": o.detail, "records": o.records, "calls": o.calls,
             "cost_usd": o.cost, "savings_usd": o.savings,
             "tasks": [f"{p}/{t}" for p, t in _top(o.tasks)]}
            for o in options
        ],
        "not_moved": [
            {"provider": p, "model": m, "calls": int(c), "cost_usd": cost,
             "note": note}
            for (p, m, note), (c, cost) in sorted(
                neither.items(), key=lambda i: -i[1][1]
            )
        ],
    }  # fmt: skip


def _describe(
    facts: Facts,
    draft: Draft,
    options: list[_Option],
    neither: dict[tuple[str, str, str], list[Decimal]],
) -> None:
    draft.evidence = _evidence(options, neither)
    for o in options:
        draft.steps.append(
            f"{o.provider}/{o.model} ({o.how}): {o.records:,} scheduled records, "
            f"{o.calls:,} calls, cost {usd(o.cost)}; {o.detail}: saves "
            f"{usd(o.savings)}"
        )
        tasks = ", ".join(f"{p}/{t}" for p, t in _top(o.tasks))
        if o.how == "batch API":
            draft.change.append(
                f"send the scheduled runs of {tasks} on {o.model} through the "
                f"{o.provider} batch API"
            )
        else:
            draft.change.append(f"reschedule {tasks} on {o.model} to run {o.how}")
    for (provider, model, note), (calls, cost) in neither.items():
        draft.steps.append(
            f"{provider}/{model}: {int(calls):,} scheduled calls ({usd(cost)}): {note}"
        )
    draft.assumptions = [
        "scheduled work can wait: batch results come within 24 hours",
        "batch discounts: OpenAI, Anthropic and Google 50% (their batch API "
        "documentation); off-peak prices from genai-prices' time-of-day prices",
        "the discount applies to each record's cost as billed, cache reads included",
    ]
    draft.confidence = Confidence.MEDIUM


def _top(tasks: dict[tuple[str, str], Decimal]) -> list[tuple[str, str]]:
    return [k for k, _ in sorted(tasks.items(), key=lambda i: -i[1])[:3]]
