"""Route easy calls to cheaper models, by the difficulty of each call.

Each record's calls are classified with the difficulty points table, and
each tier has a model on a ladder (``[advisor.routing]``). A record moves to
its tier's model only when that is a move down: cheaper for the same
tokens, and not onto a rung above the model it already uses. Calls are
never moved up, so a call on a model weaker than its tier stays put, and a
call on a local model never moves to another local one (that saves only
electricity, and the user chose the first).

Logs cannot tell whether the cheaper model answers as well. What they can
tell is whether it has done the same work before (the same profile and
task, or the same kind of side call): moves to a model that never did are
counted, but they make the projection's confidence low.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from costaudit.analysis.advisor.facts import Facts
from costaudit.analysis.advisor.history import Row
from costaudit.analysis.advisor.model import Confidence, Draft, clip, usd
from costaudit.analysis.advisor.prices import Target
from costaudit.strategies.difficulty import TIER_MINIMUM_SCORES, TIERS, Difficulty, Tier

ID = "model_routing"
TITLE = "Route easy calls to cheaper models"
GROUP = "venue"


@dataclass
class _Tally:
    calls: int = 0
    cost: Decimal = Decimal(0)
    moved_calls: int = 0
    saved: Decimal = Decimal(0)
    untried_calls: int = 0
    """Moved calls whose new model never did that work in the history."""
    untried_saved: Decimal = Decimal(0)


@dataclass
class _Routing:
    targets: dict[Tier, Target]
    tiers: dict[Tier, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    moves: dict[tuple[str, str, Tier], _Tally] = field(
        default_factory=lambda: defaultdict(_Tally)
    )
    examples: list[tuple[Decimal, int]] = field(default_factory=list)
    borderline: list[tuple[Decimal, int]] = field(default_factory=list)
    unclassified: int = 0
    near_calls: int = 0
    """Moved calls one point short of the next tier."""
    kept_up: int = 0
    """Calls left where they are because their tier's model is not below."""
    kept_local: int = 0
    """Calls on a local model whose tier's model is local too."""


def _rungs(ladder: dict[Tier, str]) -> dict[str, int]:
    """Each ladder model's lowest rung (0 = simple)."""
    rungs: dict[str, int] = {}
    for position, tier in enumerate(TIERS):
        rungs.setdefault(ladder[tier], position)
    return rungs


def _near_next_tier(difficulty: Difficulty) -> bool:
    """One point short of the next tier: the classification could go up."""
    position = TIERS.index(difficulty.tier)
    if position + 1 == len(TIERS):
        return False
    return difficulty.score + 1 >= TIER_MINIMUM_SCORES[TIERS[position + 1]]


def analyse(facts: Facts) -> Draft:
    ladder = facts.settings.ladder
    rungs = _rungs(ladder)
    routing = _Routing({t: facts.prices.target(ladder[t]) for t in TIERS})
    draft = Draft()
    for row in facts.history.rows:
        if row.cost is None:
            continue
        difficulty = facts.difficulty(row)
        if difficulty is None:
            routing.unclassified += row.calls
            continue
        tier = difficulty.tier
        tally = routing.tiers[tier]
        tally.calls += row.calls
        tally.cost += row.cost
        after = _moved(facts, routing, rungs, row, tier)
        if after is None:
            continue
        draft.projected[row.index] = after
        tried = facts.has_served(routing.targets[tier].model, row)
        _count_move(routing, row, tier, after, difficulty, tried)
        _keep_example(routing, row, after, difficulty, facts.settings.examples)
    _describe(facts, draft, routing)
    return draft


def _moved(
    facts: Facts, routing: _Routing, rungs: dict[str, int], row: Row, tier: Tier
) -> Decimal | None:
    """The record's cost on its tier's model, if that is a move down."""
    target = routing.targets[tier]
    if row.model == target.model or row.cost is None:
        return None
    if row.local and target.local:
        routing.kept_local += row.calls
        return None
    rung = rungs.get(row.model)
    if rung is not None and rung <= TIERS.index(tier):
        routing.kept_up += row.calls
        return None
    after = facts.prices.moved_cost(target, row)
    if after is None or after >= row.cost:
        routing.kept_up += row.calls
        return None
    return after


def _count_move(
    routing: _Routing,
    row: Row,
    tier: Tier,
    after: Decimal,
    difficulty: Difficulty,
    tried: bool,
) -> None:
    assert row.cost is not None
    move = routing.moves[(row.model, routing.targets[tier].model, tier)]
    move.calls += row.calls
    move.cost += row.cost
    for tally in (routing.tiers[tier], move):
        tally.moved_calls += row.calls
        tally.saved += row.cost - after
        if not tried:
            tally.untried_calls += row.calls
            tally.untried_saved += row.cost - after
    if _near_next_tier(difficulty):
        routing.near_calls += row.calls


def _keep_example(
    routing: _Routing, row: Row, after: Decimal, difficulty: Difficulty, shown: int
) -> None:
    assert row.cost is not None
    # The biggest savings make the examples; calls one point short of the
    # next tier are the borderline cases.
    item = (row.cost - after, row.index)
    near = _near_next_tier(difficulty)
    heap = routing.borderline if near else routing.examples
    if len(heap) < shown:
        heapq.heappush(heap, item)
    elif item > heap[0]:
        heapq.heapreplace(heap, item)


def _examples(
    facts: Facts, routing: _Routing, heap: list[tuple[Decimal, int]], draft: Draft
) -> list[dict[str, object]]:
    ranked = sorted(heap, reverse=True)
    return [_example(facts, routing, i, draft.projected[i]) for _, i in ranked]


def _example(
    facts: Facts, routing: _Routing, index: int, after: Decimal
) -> dict[str, object]:
    row = facts.history.rows[index]
    difficulty = facts.difficulty(row)
    assert difficulty is not None
    assert row.cost is not None
    target = routing.targets[difficulty.tier]
    calls = Decimal(max(row.calls, 1))
    return {
        "prompt": clip(row.first_prompt) if row.is_main else f"({row.call_kind})",
        "profile": row.profile,
        "task": row.task,
        "tier": difficulty.tier,
        "score": difficulty.score,
        "reasons": [f"{why} ({points:+d})" for why, points in difficulty.reasons],
        "calls": row.calls,
        "input_tokens": row.input_tokens,
        "cache_read_tokens": row.cache_read_tokens,
        "cache_write_tokens": row.cache_write_tokens,
        "output_tokens": row.output_tokens,
        "from": row.model,
        "from_prices": facts.prices.row_price_text(row),
        "to": target.label,
        "to_prices": facts.prices.target_price_text(target, row.at),
        "cost_usd": row.cost,
        "projected_usd": after,
        "cost_per_call_usd": row.cost / calls,
        "projected_per_call_usd": after / calls,
    }


def _describe(facts: Facts, draft: Draft, routing: _Routing) -> None:
    ladder = facts.settings.ladder
    origin = facts.settings.ladder_origin
    moves = sorted(routing.moves.items(), key=lambda item: -item[1].saved)
    draft.evidence = {
        "ladder": [
            {"tier": t, "model": ladder[t], "costed_as": routing.targets[t].label,
             "origin": origin.get(t, "default")}
            for t in TIERS
        ],
        "tiers": [
            {"tier": t, "calls": routing.tiers[t].calls,
             "cost_usd": routing.tiers[t].cost,
             "moved_calls": routing.tiers[t].moved_calls,
             "savings_usd": routing.tiers[t].saved}
            for t in TIERS
        ],
        "moves": [
            {"from": f, "to": to, "tier": t, "calls": m.calls, "cost_usd": m.cost,
             "projected_usd": m.cost - m.saved, "savings_usd": m.saved,
             "calls_new_to_target": m.untried_calls}
            for (f, to, t), m in moves
        ],
        "examples": _examples(facts, routing, routing.examples, draft),
        "borderline": _examples(facts, routing, routing.borderline, draft),
        "unclassified_calls": routing.unclassified,
        "not_moved_calls": routing.kept_up,
        "kept_on_local_calls": routing.kept_local,
        "calls_without_tool_counts": facts.unknown_tool_calls,
    }  # fmt: skip
    _steps(draft, routing, moves)
    _advise(facts, draft, routing, moves)


def _steps(
    draft: Draft, routing: _Routing, moves: list[tuple[tuple[str, str, Tier], _Tally]]
) -> None:
    counts = ", ".join(f"{t} {routing.tiers[t].calls:,}" for t in TIERS)
    ladder = ", ".join(f"{t} -> {routing.targets[t].label}" for t in TIERS)
    draft.steps += [
        "classified each record's calls with the difficulty points table, from "
        "its first prompt, its prompt and answer tokens per call and its "
        f"session's calls and tool calls (calls per tier: {counts}); "
        f"{routing.unclassified:,} main-loop calls without a kept prompt are "
        "left alone",
        f"ladder: {ladder}",
    ]
    for (source, target, tier), move in moves[:8]:
        new = f", {move.untried_calls:,} new to {target}" if move.untried_calls else ""
        draft.steps.append(
            f"  {source} -> {target} ({tier}): {move.calls:,} calls{new} cost "
            f"{usd(move.cost)}, would cost {usd(move.cost - move.saved)}: "
            f"saves {usd(move.saved)}"
        )
    draft.steps.append(
        f"{routing.kept_up:,} calls stay where they are: their tier's model is "
        "not below their own on the ladder, or would not cost less"
    )
    if routing.kept_local:
        draft.steps.append(
            f"{routing.kept_local:,} calls on a local model stay there: their "
            "tier's model is local too"
        )


def _advise(
    facts: Facts,
    draft: Draft,
    routing: _Routing,
    moves: list[tuple[tuple[str, str, Tier], _Tally]],
) -> None:
    for (source, target, tier), move in moves[:3]:
        trial = " (try it on a sample first)" if move.untried_calls else ""
        draft.change.append(
            f"send {tier} calls now on {source} to {target}{trial} "
            f"({move.calls:,} calls, {usd(move.saved)} over the window)"
        )
    if moves:
        draft.change.append(
            "route by tier at the gateway; the ladder is [advisor.routing] "
            "simple/medium/hard/expert"
        )
    _assume(facts, draft, routing)
    _judge(draft, routing, moves)


def _assume(facts: Facts, draft: Draft, routing: _Routing) -> None:
    local = [t.label for t in routing.targets.values() if t.local]
    draft.assumptions = [
        "each tier's model answers those calls well enough; quality is not measured",
        "a session record's difficulty is that of its first prompt, its prompt "
        "and answer tokens per call (averaged over its calls), and its session's "
        "calls and tool calls, a session continued after compression included",
        "moved API calls keep their cache reads; local calls moved to an API pay "
        "every prompt token as input",
        "moved calls of a side task (title, compression) count as simple",
    ]
    if facts.unknown_tool_calls:
        draft.assumptions.append(
            f"{facts.unknown_tool_calls:,} main-loop calls come from sources that "
            "do not record tool calls: counted as making none"
        )
    if local:
        draft.assumptions.append(
            f"costed with the energy model (local): {', '.join(sorted(set(local)))}"
        )


def _judge(
    draft: Draft, routing: _Routing, moves: list[tuple[tuple[str, str, Tier], _Tally]]
) -> None:
    moved = sum(m.calls for _, m in moves)
    saved = sum((m.saved for _, m in moves), Decimal(0))
    untried = sum((m.untried_saved for _, m in moves), Decimal(0))
    classified = sum(t.calls for t in routing.tiers.values())
    if not classified:
        draft.judge(Confidence.NONE, "no priced call had a prompt to classify")
    elif not moved:
        draft.judge(
            Confidence.MEDIUM,
            f"all {classified:,} classified calls already run on their tier's "
            "model or one below it",
        )
    elif untried:
        draft.judge(
            Confidence.LOW,
            f"{usd(untried)} of the {usd(saved)} moves calls to a model that never "
            "did that work in this history: how well it does it is unknown",
        )
    elif routing.near_calls * 5 > moved:
        draft.judge(
            Confidence.LOW,
            f"{routing.near_calls:,} of the {moved:,} moved calls are one point "
            "short of the next tier",
        )
    else:
        draft.judge(
            Confidence.MEDIUM,
            "every move goes to a model that already did that work here; "
            "whether it does it as well is not measured",
        )
