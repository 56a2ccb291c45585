"""Cap runaway work: sessions far longer than their task's usual, identical
requests repeated in a loop, and bursts of calls.

- A runaway session made more than ``runaway_factor`` times its task's
  median calls per session, and more than ``runaway_min_calls``. Capped at
  the 90th percentile (nearest rank) of the task's other sessions, it would
  have cost its cost times cap / calls. A task with fewer than
  :data:`MIN_TASK_SESSIONS` sessions has no usual of its own (a lone
  session is its own median): its profile's sessions on the same platform
  stand in. A session continued after compression (``parent_session_id``)
  counts as one with the session it continues.
- A loop is ``loop_min_repeats`` or more sessions with the same profile,
  model, system prompt and first prompt, each starting within
  ``loop_gap_seconds`` of the last, not run by a scheduler. A loop guard
  that lets ``loop_cap`` through saves the rest whole.
- Identical calls repeated inside a session, and bursts of calls in one
  minute, come from each call's time (see :mod:`.call_timing`): a loop
  guard keeps ``loop_cap`` of a run of identical calls, and a per-minute cap
  refuses a burst's calls past it.

A record that several caps cut is counted once, at the largest cut: the
caps may stop the same calls.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from costaudit.analysis.advisor.call_timing import (
    Bursts,
    Repeat,
    find_bursts,
    find_repeats,
)
from costaudit.analysis.advisor.facts import Facts
from costaudit.analysis.advisor.history import Row
from costaudit.analysis.advisor.model import Confidence, Draft, clip, usd

ID = "rate_limit"
TITLE = "Cap runaway sessions and loops"
GROUP = None
BURST_FACTOR = 10
MIN_TASK_SESSIONS = 3


@dataclass
class _Session:
    profile: str
    session_id: str
    task: str
    start: float
    platform: str | None = None
    calls: int = 0
    cost: Decimal = Decimal(0)
    rows: list[int] = field(default_factory=list)
    prompt: str | None = None
    parts: int = 0
    """Sessions joined into this one (itself and its continuations)."""


@dataclass
class _Loop:
    sessions: list[_Session]
    kept: int
    savings: Decimal


@dataclass
class _Runaway:
    session: _Session
    median: float
    cap: int
    savings: Decimal
    basis: str
    """Which sessions the usual figures come from."""


def _sessions(facts: Facts) -> dict[tuple[str, str], _Session]:
    """Priced work per root session (see :meth:`Facts.root`)."""
    sessions: dict[tuple[str, str], _Session] = {}
    parts: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in facts.history.rows:
        if row.cost is None:
            continue
        root = facts.root(row)
        session = sessions.setdefault(
            root, _Session(row.profile, root[1], row.task, row.epoch, row.platform)
        )
        parts[root].add(row.session_id)
        session.parts = len(parts[root])
        session.calls += row.calls
        session.cost += row.cost
        session.rows.append(row.index)
        if row.is_main and session.prompt is None:
            session.prompt = row.first_prompt
            session.task = row.task
    return sessions


def nearest_rank(values: list[int], fraction: float) -> int:
    """The nearest-rank percentile: the smallest value with ``fraction`` of
    the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)), 1) - 1]


@dataclass(frozen=True)
class _Usual:
    median: float
    limit: float
    cap: int | None
    basis: str


def _usual(facts: Facts, group: list[_Session], basis: str) -> _Usual:
    settings = facts.settings
    median = statistics.median(s.calls for s in group)
    limit = max(settings.runaway_factor * median, settings.runaway_min_calls)
    usual = [s.calls for s in group if s.calls <= limit]
    cap = nearest_rank(usual, 0.9) if usual else None
    return _Usual(median, limit, cap, basis)


def _runaways(facts: Facts, sessions: list[_Session]) -> list[_Runaway]:
    by_task: dict[tuple[str, str], list[_Session]] = defaultdict(list)
    by_platform: dict[tuple[str, str | None], list[_Session]] = defaultdict(list)
    for session in sessions:
        by_task[(session.profile, session.task)].append(session)
        by_platform[(session.profile, session.platform)].append(session)
    usual: dict[tuple[str, str | None], _Usual] = {}
    found = []
    for session in sessions:
        group = by_task[(session.profile, session.task)]
        key: tuple[str, str | None] = ("task", f"{session.profile}/{session.task}")
        basis = f"the task's {len(group)} sessions"
        if len(group) < MIN_TASK_SESSIONS:
            group = by_platform[(session.profile, session.platform)]
            key = (session.profile, f"platform:{session.platform}")
            basis = (
                f"the profile's {len(group)} {session.platform or 'unknown'} "
                "sessions (the task has too few of its own)"
            )
        if key not in usual:
            usual[key] = _usual(facts, group, basis)
        seen = usual[key]
        if seen.cap is None or session.calls <= max(seen.limit, seen.cap):
            continue
        kept = session.cost * seen.cap / session.calls
        found.append(
            _Runaway(session, seen.median, seen.cap, session.cost - kept, seen.basis)
        )
    return sorted(found, key=lambda r: -r.savings)


def _loops(facts: Facts, sessions: dict[tuple[str, str], _Session]) -> list[_Loop]:
    settings = facts.settings
    runs: dict[tuple[str, str, str | None, str], list[_Session]] = {}
    found: list[_Loop] = []

    def close(run: list[_Session]) -> None:
        if len(run) >= settings.loop_min_repeats:
            extra = run[settings.loop_cap :]
            savings = sum((s.cost for s in extra), Decimal(0))
            found.append(_Loop(run, settings.loop_cap, savings))

    for row in facts.history.rows:
        if not _loopable(row):
            continue
        session = sessions[facts.root(row)]
        key = (row.profile, row.model, row.system_prompt_hash, row.first_prompt or "")
        run = runs.get(key)
        if run and row.epoch - run[-1].start <= settings.loop_gap_seconds:
            if session is not run[-1]:
                run.append(session)
            continue
        if run:
            close(run)
        runs[key] = [session]
    for run in runs.values():
        close(run)
    return sorted(found, key=lambda loop: -loop.savings)


def _loopable(row: Row) -> bool:
    # A scheduler repeats a prompt on purpose; only unscheduled repeats loop.
    return row.is_main and bool(row.first_prompt) and not row.scheduled and row.priced


@dataclass
class _Found:
    """What each kind of cap would save, per record, before they combine."""

    loops: list[_Loop]
    runaways: list[_Runaway]
    repeats: list[Repeat]
    bursts: Bursts
    cuts: dict[str, dict[int, Decimal]] = field(default_factory=dict)

    def cut(self, kind: str, index: int, saved: Decimal) -> None:
        found = self.cuts.setdefault(kind, {})
        found[index] = found.get(index, Decimal(0)) + saved


def _cuts(facts: Facts, found: _Found) -> None:
    rows = facts.history.rows
    for loop in found.loops:
        for session in loop.sessions[loop.kept :]:
            for index in session.rows:
                found.cut("loops", index, rows[index].cost or Decimal(0))
    for runaway in found.runaways:
        session = runaway.session
        for index in session.rows:
            cost = rows[index].cost
            if cost is not None:
                kept = cost * runaway.cap / session.calls
                found.cut("runaway_sessions", index, cost - kept)
    for repeat in found.repeats:
        found.cut("repeated_calls", repeat.row.index, repeat.savings)
    for index, refused in found.bursts.refused.items():
        row = rows[index]
        if row.cost is not None and row.calls:
            share = Decimal(min(refused, row.calls)) / Decimal(row.calls)
            found.cut("bursts", index, row.cost * share)


def analyse(facts: Facts) -> Draft:
    sessions = _sessions(facts)
    found = _Found(
        _loops(facts, sessions),
        _runaways(facts, list(sessions.values())),
        find_repeats(facts),
        find_bursts(facts),
    )
    _cuts(facts, found)
    draft = Draft()
    rows = facts.history.rows
    largest: dict[int, Decimal] = {}
    for cuts in found.cuts.values():
        for index, saved in cuts.items():
            largest[index] = max(largest.get(index, Decimal(0)), saved)
    for index, saved in largest.items():
        cost = rows[index].cost or Decimal(0)
        draft.projected[index] = max(cost - saved, Decimal(0))
    _describe(facts, draft, sessions, found)
    return draft


def _evidence(found: _Found) -> dict[str, object]:
    alone = {k: sum(v.values(), Decimal(0)) for k, v in found.cuts.items()}
    return {
        "runaway_sessions": [
            {"profile": r.session.profile, "task": r.session.task,
             "session_id": r.session.session_id, "calls": r.session.calls,
             "sessions_joined": r.session.parts,
             "task_median_calls": r.median, "cap_calls": r.cap,
             "usual_from": r.basis,
             "cost_usd": r.session.cost, "savings_usd": r.savings,
             "prompt": clip(r.session.prompt)}
            for r in found.runaways[:10]
        ],
        "runaway_sessions_total": len(found.runaways),
        "loops": [
            {"profile": loop.sessions[0].profile, "task": loop.sessions[0].task,
             "prompt": clip(loop.sessions[0].prompt), "repeats": len(loop.sessions),
             "seconds": round(loop.sessions[-1].start - loop.sessions[0].start),
             "kept": loop.kept, "savings_usd": loop.savings}
            for loop in found.loops[:10]
        ],
        "loops_total": len(found.loops),
        "repeated_calls": [r.document() for r in found.repeats[:10]],
        "repeated_calls_total": len(found.repeats),
        "bursts": [b.document() for b in found.bursts.found[:10]],
        "bursts_total": len(found.bursts.found),
        "calls_with_logged_times": found.bursts.timed_calls,
        "savings_alone_usd": {
            kind: alone.get(kind, Decimal(0))
            for kind in ("runaway_sessions", "loops", "repeated_calls", "bursts")
        },
    }  # fmt: skip


def _describe(
    facts: Facts,
    draft: Draft,
    sessions: dict[tuple[str, str], _Session],
    found: _Found,
) -> None:
    settings = facts.settings
    draft.evidence = _evidence(found)
    draft.steps.append(
        f"{len(sessions):,} sessions (a continuation after compression counted "
        f"with the session it continues); a runaway makes more than "
        f"{settings.runaway_factor:g} x the usual median calls and more than "
        f"{settings.runaway_min_calls}; the usual is the task's sessions, or the "
        f"profile's on the same platform for a task with fewer than "
        f"{MIN_TASK_SESSIONS}"
    )
    for r in found.runaways[:5]:
        s = r.session
        joined = f" ({s.parts} sessions joined)" if s.parts > 1 else ""
        draft.steps.append(
            f"{s.profile}/{s.task}: median {r.median:g} calls per session over "
            f"{r.basis}; session {s.session_id}{joined} made {s.calls:,}; capped at "
            f"{r.cap} (p90 of the usual sessions): {usd(s.cost)} x {r.cap} / "
            f"{s.calls} leaves {usd(s.cost - r.savings)}, saves {usd(r.savings)}"
        )
    for loop in found.loops[:5]:
        first = loop.sessions[0]
        draft.steps.append(
            f"{first.profile}: '{clip(first.prompt, 60)}' sent {len(loop.sessions)} "
            f"times, each within {settings.loop_gap_seconds:g} s of the last; a "
            f"guard letting {loop.kept} through saves {usd(loop.savings)}"
        )
    draft.steps += _timing_steps(facts, found)
    _advise(facts, draft, found)
    _judge(draft, len(sessions), found)


def _timing_steps(facts: Facts, found: _Found) -> list[str]:
    settings = facts.settings
    timed = found.bursts.timed_calls
    steps = [
        f"call times: {timed:,} of {facts.history.calls:,} calls from a log that "
        "times each call, the others spread evenly over their record's span",
        f"repeated calls inside a session: {len(found.repeats):,} runs of "
        f"{settings.loop_min_repeats} or more consecutive calls with the same "
        f"prompt size (nothing added between them) in the {timed:,} timed calls",
    ]
    for r in found.repeats[:5]:
        steps.append(
            f"  {r.row.profile} session {r.row.session_id} on {r.row.model}: "
            f"{r.calls} identical {r.prompt_tokens:,}-token calls in "
            f"{r.end - r.start:,.0f} s; keeping {settings.loop_cap} saves "
            f"{usd(r.savings)} (each call priced from its own tokens)"
        )
    steps.append(
        f"bursts: {len(found.bursts.found):,} minutes with at least "
        f"{settings.burst_min_calls} calls and 10 x the profile's median busy "
        "minute; a cap just under that refuses the calls past it"
    )
    for b in found.bursts.found[:5]:
        steps.append(
            f"  {b.profile} at {b.document()['minute']}: {b.calls} calls, usual "
            f"{b.usual:g}; a cap of {b.cap} a minute refuses {b.calls - b.cap}, "
            "each at its record's average cost per call"
        )
    alone = {k: sum(v.values(), Decimal(0)) for k, v in found.cuts.items()}
    if len(alone) > 1:
        parts = ", ".join(f"{k} {usd(v)}" for k, v in sorted(alone.items()))
        steps.append(
            f"alone: {parts}; a record several caps cut counts once, at its largest cut"
        )
    return steps


def _advise(facts: Facts, draft: Draft, found: _Found) -> None:
    settings = facts.settings
    caps: dict[tuple[str, str], int] = {}
    for r in found.runaways:
        caps.setdefault((r.session.profile, r.session.task), r.cap)
    for (profile, task), cap in list(caps.items())[:5]:
        draft.change.append(
            f"{profile}/{task}: stop a session after {cap} calls (Hermes: "
            f"max_iterations), or ask before going on"
        )
    if found.loops or found.repeats:
        draft.change.append(
            f"refuse a request identical to {settings.loop_cap} sent in the last "
            f"{settings.loop_gap_seconds:g} s (a loop guard at the gateway), in a "
            "session or across sessions"
        )
    for profile in sorted({b.profile for b in found.bursts.found}):
        cap = min(b.cap for b in found.bursts.found if b.profile == profile)
        draft.change.append(
            f"profile '{profile}': cap it at {cap} calls a minute at the gateway, "
            "refusing (not queueing) the calls past it"
        )
    draft.assumptions = [
        "calls past a cap were not needed for the answer",
        "a session's calls cost the same each (its average), except identical "
        "calls a log times, priced from their own tokens",
        "scheduled runs never count as loops across sessions",
        "a refused call is not sent again later: a cap that queues calls "
        "instead only slows a burst and saves nothing",
        "calls without a logged time are spread evenly between their record's "
        "first and last call",
    ]


def _judge(draft: Draft, sessions: int, found: _Found) -> None:
    if not sessions:
        draft.judge(Confidence.NONE, "no priced session to look at")
    elif not found.cuts:
        draft.judge(
            Confidence.MEDIUM,
            f"none of the {sessions:,} sessions is far longer than usual, no "
            "request repeats in a loop and no minute bursts",
        )
    elif "bursts" in found.cuts:
        draft.judge(
            Confidence.LOW,
            "a per-minute cap saves only if the refused calls were not needed "
            "and are not retried, which the logs cannot tell",
        )
    elif any(r.basis.startswith("the profile's") for r in found.runaways):
        draft.judge(
            Confidence.LOW,
            "a runaway's usual length comes from its profile's other sessions, "
            "not from its own task's",
        )
    else:
        draft.judge(
            Confidence.MEDIUM,
            "the caps come from each task's own sessions and repeated requests; "
            "whether the calls past them were needed the logs cannot say",
        )
