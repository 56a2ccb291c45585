"""When each call happened, for the caps of :mod:`.rate_limit`.

A usage record can hold a whole session's calls on one model; Hermes'
agent.log gives each call its own time (``History.call_log``). Where a log has
the calls, their times are used; elsewhere a record's calls are spread
evenly between its first and last call. Two patterns come from those times:

- bursts: a minute with ``burst_min_calls`` calls or more and
  :data:`BURST_FACTOR` times the profile's median busy minute. A cap of
  calls per minute and profile, set just under that, refuses the calls past
  it in each burst minute;
- repeated calls inside a session: consecutive calls on one model whose
  prompt is exactly as long as the one before, so nothing was added to the
  conversation between them: the same request sent again. A run of
  ``loop_min_repeats`` or more is a loop; a guard letting ``loop_cap``
  through saves the rest.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from costaudit.analysis.advisor.facts import Facts
from costaudit.analysis.advisor.history import Call, CallKey, Row
from costaudit.pricing.library import Tokens

BURST_FACTOR = 10


def _owners(facts: Facts) -> dict[CallKey, Row]:
    """The record that logged calls of a session and model belong to: its
    main-loop record, or the one with the most calls."""
    owners: dict[CallKey, Row] = {}
    for row in facts.history.rows:
        key = (row.profile, row.session_id, row.model)
        if key not in facts.history.call_log:
            continue
        known = owners.get(key)
        if known is None or (row.is_main, row.calls) > (known.is_main, known.calls):
            owners[key] = row
    return owners


def call_times(facts: Facts) -> dict[str, list[tuple[float, int]]]:
    """Per profile, each call's time and its record's index, in time order."""
    found: dict[str, list[tuple[float, int]]] = defaultdict(list)
    owners = _owners(facts)
    for key, row in owners.items():
        found[row.profile] += [
            (c.epoch, row.index) for c in facts.history.call_log[key]
        ]
    for row in facts.history.rows:
        if (row.profile, row.session_id, row.model) in owners or not row.calls:
            continue
        span = max((row.end_epoch or row.epoch) - row.epoch, 0.0)
        step = span / max(row.calls - 1, 1)
        found[row.profile] += [
            (row.epoch + i * step, row.index) for i in range(row.calls)
        ]
    for calls in found.values():
        calls.sort()
    return found


@dataclass
class Burst:
    profile: str
    minute: int
    calls: int
    usual: float
    cap: int

    def document(self) -> dict[str, object]:
        return {
            "profile": self.profile,
            "minute": datetime.fromtimestamp(self.minute * 60, tz=UTC),
            "calls": self.calls,
            "usual_calls_per_busy_minute": self.usual,
            "cap_calls_per_minute": self.cap,
            "refused_calls": self.calls - self.cap,
        }


@dataclass
class Bursts:
    found: list[Burst] = field(default_factory=list)
    refused: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    """Row index to its calls a per-minute cap would refuse."""
    timed_calls: int = 0
    """Calls whose time a log recorded (the others are spread)."""


def find_bursts(facts: Facts) -> Bursts:
    settings = facts.settings
    result = Bursts(timed_calls=sum(len(c) for c in facts.history.call_log.values()))
    for profile, calls in sorted(call_times(facts).items()):
        minutes: dict[int, list[int]] = defaultdict(list)
        for epoch, index in calls:
            minutes[int(epoch // 60)].append(index)
        usual = statistics.median(len(m) for m in minutes.values())
        cap = max(settings.burst_min_calls, math.ceil(BURST_FACTOR * usual)) - 1
        for minute, rows in sorted(minutes.items()):
            if len(rows) <= cap:
                continue
            result.found.append(Burst(profile, minute, len(rows), usual, cap))
            for index in rows[cap:]:
                result.refused[index] += 1
    result.found.sort(key=lambda b: (-b.calls, b.minute))
    return result


@dataclass
class Repeat:
    """Identical calls one after another inside a session."""

    row: Row
    calls: int
    prompt_tokens: int
    start: float
    end: float
    savings: Decimal

    def document(self) -> dict[str, object]:
        return {
            "profile": self.row.profile,
            "session_id": self.row.session_id,
            "model": self.row.model,
            "identical_calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "seconds": round(self.end - self.start),
            "savings_usd": self.savings,
        }


def call_cost(facts: Facts, row: Row, call: Call) -> Decimal:
    """One logged call's cost: its tokens at the record's prices, scaled to
    what the record really cost; the record's average where unpriceable."""
    assert row.cost is not None
    average = row.cost / Decimal(max(row.calls, 1))
    tokens = Tokens(
        input_tokens=max(call.prompt_tokens - call.cache_read_tokens, 0),
        cache_read_tokens=call.cache_read_tokens,
        output_tokens=call.output_tokens,
        calls=1,
    )
    whole = facts.prices.own_price(row)
    this = facts.prices.own_price(row, tokens)
    if not whole or this is None:
        return average
    return row.cost * this / whole


def find_repeats(facts: Facts) -> list[Repeat]:
    """Runs of identical calls in sessions that a log records call by call."""
    settings = facts.settings
    found: list[Repeat] = []
    for key, row in _owners(facts).items():
        if row.cost is None:
            continue
        calls = facts.history.call_log[key]
        start = 0
        for i in range(1, len(calls) + 1):
            if i < len(calls) and calls[i].prompt_tokens == calls[start].prompt_tokens:
                continue
            run = calls[start:i]
            if len(run) >= settings.loop_min_repeats and run[0].prompt_tokens:
                cut = run[settings.loop_cap :]
                savings = sum((call_cost(facts, row, c) for c in cut), Decimal(0))
                found.append(
                    Repeat(row, len(run), run[0].prompt_tokens, run[0].epoch,
                           run[-1].epoch, savings)
                )  # fmt: skip
            start = i
    return sorted(found, key=lambda r: -r.savings)
