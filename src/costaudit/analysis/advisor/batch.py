"""Batch or shift scheduled work that can wait for its answer.

Work that is not interactive (platform ``cron`` or ``batch``, or a record of
a cron job) can go through a provider's batch API at its batch price, or run
in the hours when the provider's price list is cheaper. Both prices come
from genai-prices: batch prices are its ``processing: batch`` variants,
off-peak ones its time-of-day prices. A provider with neither is named.

Not every scheduled job can wait. Each job's schedule is read from its run
times in the ledger:

- a job that runs more than once a day (an hourly health check) cannot: a
  later start or a batch answer up to 24 hours late runs into the next run;
- a job whose prompt ties it to a time of day (a morning briefing, "today")
  cannot: when it runs is the point;
- a daily or weekly job at a fixed time can, if the user does not mind the
  result arriving later: it is counted, at low confidence;
- a job that runs at varying times, or work of a batch platform, can.

A batch API answers one request at a time, hours later. A session whose
main loop made several calls (tool calls and their results) would wait that
long for each turn, so the batch API is counted only for sessions of one
main-loop call.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from costaudit.analysis.advisor.facts import Facts, SessionKey
from costaudit.analysis.advisor.history import Row
from costaudit.analysis.advisor.model import Confidence, Draft, usd
from costaudit.pricing.library import Rates

ID = "batch"
TITLE = "Batch or shift scheduled work"
GROUP = "venue"

NEITHER = (
    "offers neither a batch price nor off-peak prices (genai-prices) at these times"
)
ALREADY_CHEAPEST = "already runs at the cheapest time of day"
MULTI_TURN = (
    "each session makes several main-loop calls, and each would wait for its "
    "own batch answer; no off-peak price"
)
_SLOT = timedelta(minutes=30)
_SLOTS = 48
SUB_DAILY_HOURS = 20.0
"""Runs closer together than this (median) are more than daily."""
FIXED_TIME_MINUTES = 60
"""Runs within this of their usual time of day are at a fixed time."""
TIME_OF_DAY_WORDS = (
    "morning", "afternoon", "evening", "tonight", "overnight", "night",
    "today", "breakfast", "lunch", "start of the day", "end of the day",
    "before work", "after work",
)  # fmt: skip
"""Words that tie a job's prompt to when it runs."""


@dataclass(frozen=True)
class Timing:
    """Whether a scheduled job can run later, and why."""

    movable: bool
    firm: bool
    """No one needs to say the job's time does not matter."""
    why: str


@dataclass
class _Job:
    name: str
    starts: list[float] = field(default_factory=list)
    prompt: str = ""
    platform: str | None = None


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
    firm_savings: Decimal = Decimal(0)
    tasks: dict[tuple[str, str], Decimal] = field(
        default_factory=lambda: defaultdict(Decimal)
    )


@dataclass(frozen=True)
class _Plan:
    after: Decimal
    how: str
    """``batch API`` or ``off-peak from HH:MM UTC``."""
    detail: str


def job_key(row: Row) -> tuple[str, str]:
    """A scheduled record's job: its cron job id, else its task."""
    return row.profile, row.cron_job_id or f"task:{row.task}"


def time_of_day_word(text: str) -> str | None:
    """The first word of :data:`TIME_OF_DAY_WORDS` in ``text``, if any."""
    lowered = f" {' '.join(text.lower().split())} "
    for word in TIME_OF_DAY_WORDS:
        for end in (" ", ",", ".", ":", ";", "'", "?", "!"):
            if f" {word}{end}" in lowered:
                return word
    return None


def judge_timing(starts: list[float], prompt: str, *, scheduler: bool = True) -> Timing:
    """Whether a job with runs starting at ``starts`` can run later."""
    if not scheduler:
        return Timing(True, True, "work of a batch platform: no one waits for it")
    if len(starts) < 2:
        return Timing(False, True, "ran once in the window: its schedule is unknown")
    ordered = sorted(starts)
    gaps = [(b - a) / 3600 for a, b in itertools.pairwise(ordered)]
    every = statistics.median(gaps)
    if every < SUB_DAILY_HOURS:
        return Timing(
            False, True,
            f"runs every {every:.1f} h: a later start or a batch answer up to "
            "24 h late runs into the next run",
        )  # fmt: skip
    word = time_of_day_word(prompt)
    if word is not None:
        return Timing(
            False, True, f"its prompt asks for '{word}': when it runs is the point"
        )
    usual = _usual_time(ordered)
    if usual is not None:
        clock = (datetime.min + timedelta(minutes=usual)).strftime("%H:%M")
        period = "day" if every < 36 else f"{every / 24:.0f} days"
        return Timing(
            True, False,
            f"runs at {clock} UTC every {period}: moving it changes when its "
            "result arrives",
        )  # fmt: skip
    return Timing(True, True, "runs at varying times: when does not seem to matter")


def _usual_time(starts: list[float]) -> int | None:
    """The minute of the day (UTC) that four in five runs start within
    :data:`FIXED_TIME_MINUTES` of, if there is one."""
    per_minute = [0] * 1440
    for start in starts:
        per_minute[int(start // 60) % 1440] += 1
    # Prefix sums over three days in a row, so that a window around any
    # minute of the middle day can reach across midnight.
    prefix = [0]
    for count in per_minute * 3:
        prefix.append(prefix[-1] + count)
    width = FIXED_TIME_MINUTES
    # The earliest of the busiest windows (max of the negated minute).
    near, first = max(
        (prefix[1440 + m + width + 1] - prefix[1440 + m - width], -m)
        for m in range(1440)
    )
    if near * 5 < len(starts) * 4:
        return None
    centre = -first
    # The usual time is the median start of the runs in that window.
    offsets = [(int(s // 60) - centre + 720) % 1440 - 720 for s in starts]
    close = [offset for offset in offsets if abs(offset) <= width]
    return (centre + statistics.median_low(close)) % 1440


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


def _batch_plan(facts: Facts, row: Row, provider: str) -> _Plan | None:
    assert row.cost is not None
    found = facts.prices.batch_rates(row)
    if found is None:
        return None
    standard = found.standard.cost(row.tokens)
    batch = found.batch.cost(row.tokens)
    if not standard or batch >= standard:
        return None
    off = (1 - batch / standard) * 100
    since = "" if found.at == row.at else f" (its price from {found.at:%Y-%m-%d})"
    return _Plan(
        row.cost * batch / standard,
        "batch API",
        f"{provider} batch API{since}: {off:.0f}% off for these tokens, "
        "answers within 24 h",
    )


class _Scan:
    """The scheduled records, their jobs, and what each could save."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.off_peak = _OffPeak(facts)
        self.options: dict[tuple[str, str, str], _Option] = {}
        self.not_moved: dict[tuple[str, str, str], list[Any]] = defaultdict(
            lambda: [0, Decimal(0)]
        )
        self.jobs = self._jobs()
        self.timing = {
            key: judge_timing(job.starts, job.prompt, scheduler=job.platform != "batch")
            for key, job in self.jobs.items()
        }
        self.main_calls = self._main_calls()
        self.offers: dict[tuple[str, str], list[bool]] = {}
        """(provider, model) to [has a batch price, has off-peak prices]."""
        self._offer_days: dict[tuple[str, str | None, str | None, date], bool] = {}

    def _jobs(self) -> dict[tuple[str, str], _Job]:
        jobs: dict[tuple[str, str], _Job] = {}
        seen: set[SessionKey] = set()
        for row in self.facts.history.rows:
            if not row.scheduled or row.local:
                continue
            job = jobs.setdefault(job_key(row), _Job(row.task))
            root = self.facts.root(row)
            if root not in seen:
                seen.add(root)
                job.starts.append(row.epoch)
            if row.is_main and not job.prompt:
                job.prompt = f"{row.task} {row.first_prompt or ''}"
            if row.cron_job_id is None:
                job.platform = row.platform
        return jobs

    def _main_calls(self) -> dict[SessionKey, int]:
        calls: dict[SessionKey, int] = defaultdict(int)
        for row in self.facts.history.rows:
            if row.is_main:
                calls[self.facts.root(row)] += row.calls
        return calls

    def record(self, row: Row, draft: Draft) -> None:
        assert row.cost is not None
        prices = self.facts.prices
        provider = prices.provider_id(row.model, row.provider, row.endpoint, row.at)
        name = provider or row.provider or "?"
        self._note_offers(name, row)
        timing = self.timing[job_key(row)]
        if not timing.movable:
            self._keep(name, row, f"{self.jobs[job_key(row)].name}: {timing.why}")
            return
        plan = self._plan(row, name)
        if plan is None:
            return
        draft.projected[row.index] = plan.after
        key = (name, row.model, plan.how)
        option = self.options.setdefault(key, _Option(*key, plan.detail))
        option.records += 1
        option.calls += row.calls
        option.cost += row.cost
        option.savings += row.cost - plan.after
        if timing.firm:
            option.firm_savings += row.cost - plan.after
        option.tasks[row.operation] += row.cost - plan.after

    def _note_offers(self, provider: str, row: Row) -> None:
        day = (row.model, row.provider, row.endpoint, row.at.date())
        if day not in self._offer_days:
            self._offer_days[day] = self.facts.prices.batch_rates(row) is not None
        offers = self.offers.setdefault((provider, row.model), [False, False])
        offers[0] |= self._offer_days[day]
        offers[1] |= self.off_peak.varies(row)

    def _plan(self, row: Row, provider: str) -> _Plan | None:
        """The cheaper of the batch API and the off-peak price, if any."""
        single = self.main_calls.get(self.facts.root(row), 0) <= 1
        best = _batch_plan(self.facts, row, provider) if single else None
        shifted = self.off_peak.plan(row)
        if shifted is not None and (best is None or shifted.after < best.after):
            best = shifted
        if best is not None:
            return best
        if not single and self.facts.prices.batch_rates(row) is not None:
            note = MULTI_TURN
        elif self.off_peak.varies(row):
            note = ALREADY_CHEAPEST
        else:
            note = NEITHER
        self._keep(provider, row, note)
        return None

    def _keep(self, provider: str, row: Row, note: str) -> None:
        assert row.cost is not None
        kept = self.not_moved[(provider, row.model, note)]
        kept[0] += row.calls
        kept[1] += row.cost


def analyse(facts: Facts) -> Draft:
    scan = _Scan(facts)
    draft = Draft()
    checked = 0
    for row in facts.history.rows:
        if not row.scheduled or row.local or row.cost is None:
            continue
        checked += row.calls
        scan.record(row, draft)
    ranked = sorted(scan.options.values(), key=lambda o: -o.savings)
    _describe(facts, draft, scan, ranked, checked)
    return draft


def _top(tasks: dict[tuple[str, str], Decimal]) -> list[tuple[str, str]]:
    return [k for k, _ in sorted(tasks.items(), key=lambda i: -i[1])[:3]]


def _evidence(scan: _Scan, options: list[_Option]) -> dict[str, Any]:
    return {
        "options": [
            {"provider": o.provider, "model": o.model, "how": o.how,
             "detail": o.detail, "records": o.records, "calls": o.calls,
             "cost_usd": o.cost, "savings_usd": o.savings,
             "tasks": [f"{p}/{t}" for p, t in _top(o.tasks)]}
            for o in options
        ],
        "jobs": [
            {"profile": p, "job": job.name, "runs": len(job.starts),
             "can_wait": scan.timing[(p, k)].movable,
             "why": scan.timing[(p, k)].why}
            for (p, k), job in sorted(scan.jobs.items())
        ],
        "offers": [
            {"provider": p, "model": m, "batch_api": batch, "off_peak": off_peak}
            for (p, m), (batch, off_peak) in sorted(scan.offers.items())
        ],
        "not_moved": [
            {"provider": p, "model": m, "calls": int(c), "cost_usd": cost,
             "note": note}
            for (p, m, note), (c, cost) in sorted(
                scan.not_moved.items(), key=lambda i: -i[1][1]
            )
        ],
    }  # fmt: skip


def _describe(
    facts: Facts, draft: Draft, scan: _Scan, options: list[_Option], checked: int
) -> None:
    draft.evidence = _evidence(scan, options)
    draft.steps.append(
        f"{checked:,} scheduled calls on API models, in {len(scan.jobs):,} jobs; "
        "each job's schedule read from its run times"
    )
    for (profile, _key), job in sorted(scan.jobs.items()):
        timing = scan.timing[(profile, _key)]
        verdict = "can wait" if timing.movable else "cannot wait"
        draft.steps.append(
            f"  {profile}/{job.name}: {len(job.starts):,} runs; {verdict}: {timing.why}"
        )
    for o in options:
        draft.steps.append(
            f"{o.provider}/{o.model} ({o.how}): {o.records:,} scheduled records, "
            f"{o.calls:,} calls, cost {usd(o.cost)}; {o.detail}: saves "
            f"{usd(o.savings)}"
        )
        _change(draft, o)
    for (provider, model), (batch, off_peak) in sorted(scan.offers.items()):
        if not batch and not off_peak:
            draft.steps.append(f"{provider}/{model}: {NEITHER}")
    for (provider, model, note), (calls, cost) in scan.not_moved.items():
        draft.steps.append(
            f"{provider}/{model}: {int(calls):,} scheduled calls ({usd(cost)}) "
            f"stay: {note}"
        )
    draft.assumptions = [
        "batch prices are genai-prices' batch variants and off-peak prices its "
        "time-of-day prices, applied to each record's cost as billed",
        "a job's schedule is what its run times show: runs more than once a day "
        "cannot wait, nor a job whose prompt names a time of day",
        "the batch API only for sessions of one main-loop call: each further "
        "turn would wait for its own batch answer",
    ]
    _judge(draft, options, checked)


def _change(draft: Draft, option: _Option) -> None:
    tasks = ", ".join(f"{p}/{t}" for p, t in _top(option.tasks))
    if option.how == "batch API":
        draft.change.append(
            f"send the scheduled runs of {tasks} on {option.model} through the "
            f"{option.provider} batch API"
        )
    else:
        draft.change.append(
            f"reschedule {tasks} on {option.model} to run {option.how}, if a "
            "later result is fine"
        )


def _judge(draft: Draft, options: list[_Option], checked: int) -> None:
    saved = sum((o.savings for o in options), Decimal(0))
    firm = sum((o.firm_savings for o in options), Decimal(0))
    if not checked:
        draft.judge(Confidence.HIGH, "no scheduled work on API models")
    elif not saved:
        draft.judge(
            Confidence.MEDIUM,
            "no scheduled job that can wait runs on a model with a batch or "
            "off-peak price",
        )
    elif firm < saved:
        draft.judge(
            Confidence.LOW,
            f"{usd(saved - firm)} of the {usd(saved)} moves fixed-time jobs: only "
            "you can say whether a later result is fine",
        )
    else:
        draft.judge(
            Confidence.MEDIUM,
            "the jobs moved run at varying times or on a batch platform",
        )
