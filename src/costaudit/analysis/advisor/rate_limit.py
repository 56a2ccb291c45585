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
    _describe(facts, draft, sessions, loops, runaways, _bursts(facts))
    return draft


def _evidence(
    loops: list[_Loop], runaways: list[_Runaway], bursts: list[dict[str, object]]
) -> dict[str, object]:
    return {
        "runaway_sessions": [
            {"profile": r.session.profile, "task": r.session.task,
             "session_id": r.session.session_id, "calls": r.session.calls,
             "sessions_joined": r.session.parts,
             "task_median_calls": r.median, "cap_calls": r.cap,
             "usual_from": r.basis,
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
    sessions: dict[tuple[str, str], _Session],
    loops: list[_Loop],
    runaways: list[_Runaway],
    bursts: list[dict[str, object]],
) -> None:
    settings = facts.settings
    draft.evidence = _evidence(loops, runaways, bursts)
    draft.steps.append(
        f"{len(sessions):,} sessions (a continuation after compression counted "
        f"with the session it continues); a runaway makes more than "
        f"{settings.runaway_factor:g} x the usual median calls and more than "
        f"{settings.runaway_min_calls}; the usual is the task's sessions, or the "
        f"profile's on the same platform for a task with fewer than "
        f"{MIN_TASK_SESSIONS}"
    )
    for r in runaways[:5]:
        s = r.session
        joined = f" ({s.parts} sessions joined)" if s.parts > 1 else ""
        draft.steps.append(
            f"{s.profile}/{s.task}: median {r.median:g} calls per session over "
            f"{r.basis}; session {s.session_id}{joined} made {s.calls:,}; capped at "
            f"{r.cap} (p90 of the usual sessions): {usd(s.cost)} x {r.cap} / "
            f"{s.calls} leaves {usd(s.cost - r.savings)}, saves {usd(r.savings)}"
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
    _judge(draft, len(sessions), loops, runaways)


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


def _judge(
    draft: Draft, sessions: int, loops: list[_Loop], runaways: list[_Runaway]
) -> None:
    if not sessions:
        draft.judge(Confidence.NONE, "no priced session to look at")
    elif not loops and not runaways:
        draft.judge(
            Confidence.MEDIUM,
            f"none of the {sessions:,} sessions is far longer than usual, and no "
            "request repeats in a loop",
        )
    elif any(r.basis.startswith("the profile's") for r in runaways):
        draft.judge(
            Confidence.LOW,
            "a runaway's usual length comes from its profile's other sessions, "
            "not from its own task's",
        )
    else:
        draft.judge(
            Confidence.MEDIUM,
            "the caps come from each task's own sessions; whether the calls "
            "past them were needed the logs cannot say",
        )
