"""Cap runaway work: sessions far longer than their task's usual, identical
requests repeated in a loop, and bursts of calls.

- A runaway session made more than ``runaway_factor`` times its task's
  median calls per session, and more than ``runaway_min_calls``. Capped at
  the 90th percentile (nearest rank) of the task's other sessions, it would
  have cost its cost times cap / calls.
- A loop is ``loop_min_repeats`` or more sessions with the same profile,
  model, system prompt and first prompt, each starting within
  ``loop_gap_seconds`` of the last, not run by a scheduler. A loop guard
  that lets ``loop_cap`` through saves the rest whole.
- A burst is a minute with ``burst_min_calls`` calls or more and ten times
  the profile's median per busy minute. Bursts are shown as evidence only:
  whether they were waste the logs cannot say.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from costaudit.analysis.advisor.facts import Facts
from costaudit.analysis.advisor.history import Row
from costaudit.analysis.advisor.model import Confidence, Draft, clip, usd

ID = "rate_limit"
TITLE = "Cap runaway sessions and loops"
GROUP = None
BURST_FACTOR = 10


@dataclass
class _Session:
    profile: str
    session_id: str
    task: str
    start: float
    calls: int = 0
    cost: Decimal = Decimal(0)
    rows: list[int] = field(default_factory=list)
    prompt: str | None = None


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


def _sessions(facts: Facts) -> dict[tuple[str, str], _Session]:
    sessions: dict[tuple[str, str], _Session] = {}
    for row in facts.history.rows:
        if row.cost is None:
            continue
        session = sessions.setdefault(
            row.session, _Session(row.profile, row.session_id, row.task, row.epoch)
        )
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


def _runaways(facts: Facts, sessions: list[_Session]) -> list[_Runaway]:
    settings = facts.settings
    by_task: dict[tuple[str, str], list[_Session]] = defaultdict(list)
    for session in sessions:
        by_task[(session.profile, session.task)].append(session)
    found = []
    for group in by_task.values():
        median = statistics.median(s.calls for s in group)
        limit = max(settings.runaway_factor * median, settings.runaway_min_calls)
        usual = [s.calls for s in group if s.calls <= limit]
        if not usual:
            continue
        cap = nearest_rank(usual, 0.9)
        for session in group:
            if session.calls > limit and session.calls > cap:
                kept = session.cost * cap / session.calls
                found.append(_Runaway(session, median, cap, session.cost - kept))
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
        session = sessions[row.session]
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


def _bursts(facts: Facts) -> list[dict[str, object]]:
    per_minute: Counter[tuple[str, int]] = Counter()
    for row in facts.history.rows:
        per_minute[(row.profile, int(row.epoch // 60))] += row.calls
    by_profile: dict[str, list[int]] = defaultdict(list)
    for (profile, _minute), calls in per_minute.items():
        by_profile[profile].append(calls)
    medians = {p: statistics.median(c) for p, c in by_profile.items()}
    floor = facts.settings.burst_min_calls
    found = sorted(
        (-calls, minute, profile)
        for (profile, minute), calls in per_minute.items()
        if calls >= floor and calls >= BURST_FACTOR * medians[profile]
    )
    return [
        {
            "profile": profile,
            "minute": datetime.fromtimestamp(minute * 60, tz=UTC),
            "calls": -negative,
            "usual_calls_per_busy_minute": medians[profile],
        }
        for negative, minute, profile in found[:10]
    ]


def analyse(facts: Facts) -> Draft:
    sessions = _sessions(facts)
    loops = _loops(facts, sessions)
    runaways = _runaways(facts, list(sessions.values()))
    draft = Draft()
    rows = facts.history.rows
    for loop in loops:
        for session in loop.sessions[loop.kept :]:
            for index in session.rows:
                draft.projected[index] = Decimal(0)
    for runaway in runaways:
        session = runaway.session
        for index in session.rows:
            cost = rows[index].cost
            if index not in draft.projected and cost is not None:
                draft.projected[index] = cost * runaway.cap / session.calls
    _describe(facts, draft, loops, runaways, _bursts(facts))
    return draft


def _evidence(
    loops: list[_Loop], runaways: list[_Runaway], bursts: list[dict[str, object]]
) -> dict[str, object]:
    return {
        "runaway_sessions": [
            {"profile": r.session.profile, "task": r.session.task,
             "session_id": r.session.session_id, "calls": r.session.calls,
             "task_median_calls": r.median, "cap_calls": r.cap,
             "cost_usd": r.session.cost, "savings_usd": r.savings,
             "prompt": clip(r.session.prompt)}
            for r in runaways[:10]
        ],
        "loops": [
            {"profile": loop.sessions[0].profile, "task": loop.sessions[0].task,
             "prompt": clip(loop.sessions[0].prompt), "repeats": len(loop.sessions),
             "seconds": round(loop.sessions[-1].start - loop.sessions[0].start),
             "kept": loop.kept, "savings_usd": loop.savings}
            for loop in loops[:10]
        ],
        "bursts": bursts,
    }  # fmt: skip


def _describe(
    facts: Facts,
    draft: Draft,
    loops: list[_Loop],
    runaways: list[_Runaway],
    bursts: list[dict[str, object]],
) -> None:
    settings = facts.settings
    draft.evidence = _evidence(loops, runaways, bursts)
    for r in runaways[:5]:
        s = r.session
        draft.steps.append(
            f"{s.profile}/{s.task}: median {r.median:g} calls per session; session "
            f"{s.session_id} made {s.calls:,} (> {settings.runaway_factor:g} x median "
            f"and > {settings.runaway_min_calls}); capped at {r.cap} (p90 of the "
            f"task's usual sessions): {usd(s.cost)} x {r.cap} / {s.calls} leaves "
            f"{usd(s.cost - r.savings)}, saves {usd(r.savings)}"
        )
    for loop in loops[:5]:
        first = loop.sessions[0]
        draft.steps.append(
            f"{first.profile}: '{clip(first.prompt, 60)}' sent {len(loop.sessions)} "
            f"times, each within {settings.loop_gap_seconds:g} s of the last; a "
            f"guard letting {loop.kept} through saves {usd(loop.savings)}"
        )
    if bursts:
        draft.steps.append(f"{len(bursts)} bursts shown as evidence, not counted")
    _advise(facts, draft, loops, runaways)


def _advise(
    facts: Facts, draft: Draft, loops: list[_Loop], runaways: list[_Runaway]
) -> None:
    settings = facts.settings
    caps: dict[tuple[str, str], int] = {}
    for r in runaways:
        caps.setdefault((r.session.profile, r.session.task), r.cap)
    for (profile, task), cap in list(caps.items())[:5]:
        draft.change.append(
            f"{profile}/{task}: stop a session after {cap} calls (Hermes: "
            f"max_iterations), or ask before going on"
        )
    if loops:
        draft.change.append(
            f"refuse a request identical to {settings.loop_cap} sent in the last "
            f"{settings.loop_gap_seconds:g} s (a loop guard at the gateway)"
        )
    draft.assumptions = [
        "calls past the cap were not needed for the answer",
        "a session's calls cost the same each (its average)",
        "scheduled runs never count as loops",
    ]
    draft.confidence = Confidence.MEDIUM
