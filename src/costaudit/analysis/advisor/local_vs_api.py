"""Run each task where it costs least: on the local model or on an API.

Per profile and task, what its records cost as billed, what they would cost
on the local model (energy model) and on one API model. A task moves whole,
one way, when that costs less. Tasks with hard or expert calls are not
moved to the local model, which is small; they are listed as held back.
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


@dataclass
class _Task:
    profile: str
    task: str
    calls: int = 0
    billed: Decimal = Decimal(0)
    hard_calls: int = 0
    local_busy_s: Decimal = Decimal(0)
    """Seconds the local machine would work on the API records."""
    to_local: list[tuple[int, Decimal, Decimal]] = field(default_factory=list)
    """(row index, cost, cost on the local model) of API records."""
    to_api: list[tuple[int, Decimal, Decimal]] = field(default_factory=list)
    """(row index, cost, cost on the API model) of local records."""
    move: str | None = None
    savings: Decimal = Decimal(0)

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
            "hard_calls": self.hard_calls,
            "move": self.move,
            "savings_usd": self.savings,
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
        difficulty = facts.difficulty(row)
        if difficulty is not None and difficulty.tier in HARD_TIERS:
            task.hard_calls += row.calls
        other = facts.prices.moved_cost(api if row.local else local, row)
        if other is None:
            continue
        if row.local:
            task.to_api.append((row.index, row.cost, other))
        else:
            task.to_local.append((row.index, row.cost, other))
            task.local_busy_s += throughput.busy_seconds(row.tokens)
    return tasks


def _decide(task: _Task) -> list[tuple[int, Decimal, Decimal]]:
    """Pick the direction that saves more; the records that move."""
    local_saves = sum((c - o for _, c, o in task.to_local), Decimal(0))
    api_saves = sum((c - o for _, c, o in task.to_api), Decimal(0))
    if task.hard_calls:
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
        draft.confidence = Confidence.NONE
        draft.steps.append(f"genai-prices has no price for {api.model!r}")
        draft.change.append("set [advisor] api_model to a model genai-prices knows")
        return draft
    tasks = sorted(
        _gather(facts, local, api).values(), key=lambda t: (-t.billed, t.profile)
    )
    for task in tasks:
        for index, _cost, other in _decide(task):
            draft.projected[index] = other
    _describe(facts, draft, tasks, local, api)
    return draft


def _energy_text(facts: Facts, model: str) -> str:
    energy = facts.prices.pricer.energy
    throughput = energy.throughput(model)
    kwh = energy.settings.kwh_usd
    return (
        f"{model}: {energy.watts(model).labelled('W')}, prompt "
        f"{throughput.prompt_tps.labelled('tok/s')}, generation "
        f"{throughput.generation_tps.labelled('tok/s')}, ${kwh}/kWh ({kwh.origin})"
    )


def _describe(
    facts: Facts, draft: Draft, tasks: list[_Task], local: Target, api: Target
) -> None:
    moved = [t for t in tasks if t.move]
    held = [
        t
        for t in tasks
        if t.hard_calls and sum((c - o for _, c, o in t.to_local), Decimal(0)) > 0
    ]
    days = facts.history.days or 1
    busy_h = sum((t.local_busy_s for t in moved if t.move == "to local"), Decimal(0))
    busy_per_day = busy_h / Decimal(3600) / Decimal(days)
    draft.evidence = {
        "local_model": _energy_text(facts, local.model),
        "api_model": api.label,
        "tasks": [t.document() for t in tasks[:20]],
        "held_back": [f"{t.profile}/{t.task}: {t.hard_calls:,} hard or expert calls"
                      for t in held[:10]],
        "local_busy_hours_per_day": busy_per_day.quantize(Decimal("0.01")),
    }  # fmt: skip
    draft.steps.append(f"local: {_energy_text(facts, local.model)}; API: {api.label}")
    for t in sorted(moved, key=lambda t: -t.savings)[:8]:
        records = t.to_local if t.move == "to local" else t.to_api
        before = sum((c for _, c, _ in records), Decimal(0))
        after = sum((o for _, _, o in records), Decimal(0))
        draft.steps.append(
            f"  {t.profile}/{t.task}: {len(records):,} records moved {t.move}, "
            f"{usd(before)} -> {usd(after)}: saves {usd(t.savings)}"
        )
        target = local.label if t.move == "to local" else api.label
        draft.change.append(f"run {t.profile}/{t.task} on {target}")
    draft.steps.append(
        f"the tasks moved to local would keep it busy {busy_per_day:.2f} h a day"
    )
    _assume(facts, draft, local, busy_per_day)


def _assume(facts: Facts, draft: Draft, local: Target, busy_per_day: Decimal) -> None:
    throughput = facts.prices.pricer.energy.throughput(local.model)
    defaults = "default" in (
        throughput.prompt_tps.origin,
        throughput.generation_tps.origin,
    )
    draft.assumptions = [
        "the local model does simple and medium tasks well enough; tasks with "
        "hard or expert calls stay on their API",
        "local cost is electricity only: the machine is paid for anyway",
        "local prompt caches do not follow a call to an API",
    ]
    if defaults:
        draft.assumptions.append(
            "local throughput is a default figure; measure it for a firmer answer"
        )
    if busy_per_day > 20:
        draft.assumptions.append(
            f"{busy_per_day:.1f} h a day of local work may not fit on one machine"
        )
    firm = not defaults and busy_per_day <= 20
    draft.confidence = Confidence.MEDIUM if firm else Confidence.LOW
