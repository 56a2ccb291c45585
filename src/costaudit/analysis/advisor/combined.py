"""All strategies together, applied in sequence to the same records.

Each strategy says what a record would cost after its change. Applied one
after another, a strategy acts on what is left of the record's cost after
the ones before it: its own ratio (projected / recorded cost) multiplies the
residual. A record's residual never goes below zero, so the combined saving
never exceeds spend, and a saving is never counted twice.

The order, and why:

1. ``rate_limit``: calls that should not happen at all go first;
2. ``exact_cache``, 3. ``semantic_cache``: calls answered without a model;
4. ``system_prompt``, 5. ``prompt_caching``: fewer and cheaper tokens in the
   calls that remain;
6. ``model_routing``, 7. ``local_vs_api``, 8. ``batch``: where the remaining
   calls run, and at which price.

Strategies of one group are alternatives for a record, not steps: both
caches would answer the same call, and routing, moving a task and batching
each decide where a call runs. A record takes the first strategy of a group
that changes it; later ones of that group leave it alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from costaudit.analysis.advisor.history import History
from costaudit.analysis.advisor.model import Strategy, percent, usd

ORDER = (
    "rate_limit",
    "exact_cache",
    "semantic_cache",
    "system_prompt",
    "prompt_caching",
    "model_routing",
    "local_vs_api",
    "batch",
)


@dataclass
class Combined:
    spend_usd: Decimal
    savings_usd: Decimal
    monthly_savings_usd: Decimal
    share: Decimal | None
    steps: list[dict[str, Any]]
    explanation: list[str]

    def document(self) -> dict[str, Any]:
        return {
            "order": list(ORDER),
            "spend_usd": self.spend_usd,
            "savings_usd": self.savings_usd,
            "monthly_savings_usd": self.monthly_savings_usd,
            "share": self.share,
            "residual_usd": self.spend_usd - self.savings_usd,
            "steps": self.steps,
        }


def combine(history: History, strategies: Sequence[Strategy]) -> Combined:
    """Apply ``strategies`` in :data:`ORDER` to the residual of each record."""
    residual = {r.index: r.cost for r in history.rows if r.cost is not None}
    claimed: dict[str, set[int]] = {}
    by_id = {s.id: s for s in strategies}
    steps: list[dict[str, Any]] = []
    explanation: list[str] = []
    spend = history.spend_usd
    for strategy_id in ORDER:
        strategy = by_id.get(strategy_id)
        if strategy is None:
            continue
        saved = _apply(history, strategy, residual, claimed)
        left = sum(residual.values(), Decimal(0))
        steps.append(
            {"id": strategy_id, "savings_usd": saved,
             "monthly_savings_usd": saved * history.month_factor,
             "residual_usd": left}
        )  # fmt: skip
        explanation.append(
            f"{strategy_id}: saves {usd(saved)} of what is left "
            f"(alone it saves {usd(strategy.savings_usd)}); {usd(left)} remains"
        )
    total = spend - sum(residual.values(), Decimal(0))
    monthly = total * history.month_factor
    share = total / spend if spend else None
    explanation.append(
        f"together: {usd(total)} of {usd(spend)} over {history.days} days "
        f"({percent(share)}), x 30.4375 / {history.days} = {usd(monthly)} a month"
    )
    return Combined(spend, total, monthly, share, steps, explanation)


def _apply(
    history: History,
    strategy: Strategy,
    residual: dict[int, Decimal],
    claimed: dict[str, set[int]],
) -> Decimal:
    taken = claimed.setdefault(strategy.group, set()) if strategy.group else None
    saved = Decimal(0)
    for index, after in strategy.projected.items():
        cost = history.rows[index].cost
        if not cost or index not in residual or after == cost:
            continue
        if taken is not None:
            if index in taken:
                continue
            taken.add(index)
        before = residual[index]
        residual[index] = max(before * after / cost, Decimal(0))
        saved += before - residual[index]
    return saved
