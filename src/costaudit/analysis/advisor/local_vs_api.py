"""Run each task where it costs least: on the local model or on an API.

Per profile and task, what its records cost as billed, what they would cost
on the local model (energy model) and on one API model. A task moves whole,
one way, when that costs less.

The local model is small, so a task moves to it only when every one of its
calls is simple, or when the local model has already done that task in the
history (the user has seen how it does). A task with medium calls the local
model never did, or with any hard or expert call, is held back and listed
with the reason and what it would have saved. Moving local work to an API
model, a larger one, needs no such care.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from costaudit.analysis.advisor.facts import Facts
from costaudit.analysis.advisor.model import Confidence, Draft, usd
from costaudit.analysis.advisor.prices import Target
from costaudit.analysis.advisor.settings import DEFAULT_LOCAL_MODEL

ID = "local_vs_api"
TITLE = "Run each task where it costs least"
GROUP = "venue"
HARD_TIERS = frozenset({"hard", "expert"})
MAX_BUSY_HOURS = Decimal(20)
"""Local work a day beyond which one machine may not keep up."""

Moves = list[tuple[int, Decimal, Decimal]]
"""(row index, cost, cost elsewhere) of the records that would move."""


@dataclass
class _Task:
    profile: str
    task: str
    calls: int = 0
    billed: Decimal = Decimal(0)
    medium_calls: int = 0
    hard_calls: int = 0
    local_done: bool = False
    """The local model already ran main-loop calls of this task."""
    local_busy_s: Decimal = Decimal(0)
    """Seconds the local machine would work on the API records."""
    to_local: Moves = field(default_factory=list)
    to_api: Moves = field(default_factory=list)
    move: str | None = None
    savings: Decimal = Decimal(0)
    held: str | None = None
    """Why a task that would cost less locally stays where it is."""

    @property
    def local_saves(self) -> Decimal:
        return sum((c - o for _, c, o in self.to_local), Decimal(0))

    @property
    def api_saves(self) -> Decimal:
        return sum((c - o for _, c, o in self.to_api), Decimal(0))

    def document(self) -> dict[str, object]:
        return {
            "profile": self.profile,
            "task": self.task,
            "calls": self.calls,
            "billed_usd": self.billed,
            "api_records_as_local_usd": sum(
                (c for _, _, c in self.to_local), Decimal(0)
            ),
            "local_records_as_api_usd": sum((c for _, _, c in self.to_api), Decimal(0)),
            "medium_calls": self.medium_calls,
            "hard_calls": self.hard_calls,
            "local_model_did_it": self.local_done,
            "move": self.move,
            "savings_usd": self.savings,
            "held_back": self.held,
        }


def local_model(facts: Facts) -> str:
    """The configured local model, the ladder's if local, or the busiest one."""
    settings = facts.settings
    if settings.local_model:
        return settings.local_model
    simple = facts.prices.target(settings.ladder["simple"])
    if simple.local:
        return simple.model
    used: Counter[str] = Counter()
    for row in facts.history.rows:
        if row.local:
            used[row.model] += row.calls
    return used.most_common(1)[0][0] if used else DEFAULT_LOCAL_MODEL


def _gather(facts: Facts, local: Target, api: Target) -> dict[tuple[str, str], _Task]:
    throughput = facts.prices.pricer.energy.throughput(local.model)
    tasks: dict[tuple[str, str], _Task] = {}
    for row in facts.history.rows:
        if row.cost is None:
            continue
        task = tasks.setdefault(row.operation, _Task(*row.operation))
        task.calls += row.calls
        task.billed += row.cost
        task.local_done |= row.is_main and row.model == local.model
        difficulty = facts.difficulty(row)
        if difficulty is not None and difficulty.tier in HARD_TIERS:
            task.hard_calls += row.calls
        elif difficulty is not None and difficulty.tier == "medium":
            task.medium_calls += row.calls
        other = facts.prices.moved_cost(api if row.local else local, row)
        if other is None:
            continue
        if row.local:
            task.to_api.append((row.index, row.cost, other))
        else:
            task.to_local.append((row.index, row.cost, other))
            task.local_busy_s += throughput.busy_seconds(row.tokens)
    return tasks


def _hold_reason(task: _Task, local: str) -> str | None:
    """Why the task should not move to the local model, if it should not."""
    if task.hard_calls:
        return f"{task.hard_calls:,} hard or expert calls"
    if task.medium_calls and not task.local_done:
        return f"{task.medium_calls:,} medium calls, and {local} never did this task"
    return None


def _decide(task: _Task, local: str) -> Moves:
    """Pick the direction that saves more; the records that move."""
    local_saves, api_saves = task.local_saves, task.api_saves
    if local_saves > 0:
        task.held = _hold_reason(task, local)
        if task.held:
            local_saves = Decimal(0)
    if local_saves <= 0 and api_saves <= 0:
        return []
    if local_saves >= api_saves:
        task.move, task.savings = "to local", local_saves
        return task.to_local
    task.move, task.savings = "to API", api_saves
    return task.to_api


def analyse(facts: Facts) -> Draft:
    local = Target(local_model(facts), True, None)
    api = facts.prices.target(facts.settings.api_model)
    draft = Draft()
    if api.local:
        draft.steps.append(f"genai-prices has no price for {api.model!r}")
        draft.change.append("set [advisor] api_model to a model genai-prices knows")
        draft.judge(Confidence.NONE, f"no API price for {api.model!r}")
        return draft
    tasks = sorted(
        _gather(facts, local, api).values(), key=lambda t: (-t.billed, t.profile)
    )
    for task in tasks:
        for index, _cost, other in _decide(task, local.model):
            draft.projected[index] = other
    _describe(facts, draft, tasks, local, api)
    return draft


def _energy_text(facts: Facts, model: str) -> str:
    return facts.prices.energy_text(model)


def _describe(
    facts: Facts, draft: Draft, tasks: list[_Task], local: Target, api: Target
) -> None:
    moved = [t for t in tasks if t.move]
    held = sorted((t for t in tasks if t.held), key=lambda t: -t.local_saves)
    days = facts.history.days or 1
    busy_s = sum((t.local_busy_s for t in moved if t.move == "to local"), Decimal(0))
    busy_per_day = busy_s / Decimal(3600) / Decimal(days)
    draft.evidence = {
        "local_model": _energy_text(facts, local.model),
        "api_model": api.label,
        "tasks": [t.document() for t in tasks[:20]],
        "held_back": [
            f"{t.profile}/{t.task}: {t.held}; it would save {usd(t.local_saves)}"
            for t in held[:10]
        ],
        "local_busy_hours_per_day": busy_per_day.quantize(Decimal("0.01")),
    }
    draft.steps.append(f"local: {_energy_text(facts, local.model)}; API: {api.label}")
    _steps(draft, tasks, moved, held, local, api)
    draft.steps.append(
        f"the tasks moved to local would keep it busy {busy_per_day:.2f} h a day"
    )
    _assume(facts, draft, local, moved, busy_per_day)


def _steps(
    draft: Draft,
    tasks: list[_Task],
    moved: list[_Task],
    held: list[_Task],
    local: Target,
    api: Target,
) -> None:
    records = sum(len(t.to_local) + len(t.to_api) for t in tasks)
    draft.steps.append(
        f"priced {records:,} records of {len(tasks):,} tasks both ways; a task "
        "moves to the local model only if all its calls are simple or the local "
        "model already did it"
    )
    for t in sorted(moved, key=lambda t: -t.savings)[:8]:
        moving = t.to_local if t.move == "to local" else t.to_api
        before = sum((c for _, c, _ in moving), Decimal(0))
        after = sum((o for _, _, o in moving), Decimal(0))
        draft.steps.append(
            f"  {t.profile}/{t.task}: {len(moving):,} records moved {t.move}, "
            f"{usd(before)} -> {usd(after)}: saves {usd(t.savings)}"
        )
        target = local.label if t.move == "to local" else api.label
        draft.change.append(f"run {t.profile}/{t.task} on {target}")
    for t in held[:5]:
        draft.steps.append(
            f"  held back {t.profile}/{t.task}: {t.held} (would save "
            f"{usd(t.local_saves)})"
        )
    if held:
        draft.change.append(
            f"to move a held-back task, try {local.model} on a few of its runs "
            "first; once it has done the task, the next advice counts it"
        )


def _assume(
    facts: Facts,
    draft: Draft,
    local: Target,
    moved: list[_Task],
    busy_per_day: Decimal,
) -> None:
    throughput = facts.prices.pricer.energy.throughput(local.model)
    defaults = "default" in (
        throughput.prompt_tps.origin,
        throughput.generation_tps.origin,
    )
    draft.assumptions = [
        f"{local.model} does a task as well when all its calls are simple or "
        "when it already did the task; quality is not measured",
        "local cost is electricity only: the machine is paid for anyway",
        "local prompt caches do not follow a call to an API",
    ]
    if defaults:
        draft.assumptions.append(
            "local throughput is a default figure; measure it for a firmer answer"
        )
    if busy_per_day > MAX_BUSY_HOURS:
        draft.assumptions.append(
            f"{busy_per_day:.1f} h a day of local work may not fit on one machine"
        )
    if not moved:
        draft.judge(
            Confidence.MEDIUM,
            "no task costs less elsewhere among those each side can take",
        )
    elif defaults:
        draft.judge(Confidence.LOW, "the local throughput is a default, not measured")
    elif busy_per_day > MAX_BUSY_HOURS:
        draft.judge(
            Confidence.LOW, f"{busy_per_day:.1f} h a day of local work on one machine"
        )
    else:
        draft.judge(
            Confidence.MEDIUM,
            "measured local throughput; every task moved to the local model is "
            "simple or one it already did",
        )
