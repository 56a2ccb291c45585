"""Cache exact repeats: replay the history through the exact-match cache.

Each main-loop record with a prompt is a lookup, in the order the records
started, keyed on model, system prompt and first prompt (the parameters are
not in the logs, so they count as equal). A hit is a request the cache
would have answered. A prompt whose answer depends on the time or on state
outside the conversation, and every cron run, is neither looked up nor
stored, however often its text repeats: it is listed with the reason.

The system prompt enters the key with its date and session id lines masked
(:func:`costaudit.strategies.cache_key.stable_system_prompt`), as a live
cache built on the same module keys it: Hermes writes the day into every
system prompt, and keyed on the text as sent a repeat could only hit on the
same day. The replay is run once more on the prompt as sent, so the report
shows what the masking is worth.

A session's first call is the one a cache can answer; later calls carry tool
results the logs do not keep. A hit saves the record's cost divided by its
calls: all of it for a single-call session.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costaudit.analysis.advisor.facts import Facts
from costaudit.analysis.advisor.history import Row
from costaudit.analysis.advisor.model import Confidence, Draft, clip, percent, usd
from costaudit.strategies.cache_key import ExactCache, prompt_cache_key

ID = "exact_cache"
TITLE = "Cache exact repeats"
GROUP = "cache"
SHOWN = 10
STEP_PROMPTS = 25
"""Repeated prompts --explain lists one by one; the rest in one line."""
_MEMO = "exact_cache.hits"


@dataclass
class Repeat:
    """A prompt seen more than once, and what its repeats would save."""

    row: Row
    hits: int = 0
    calls: int = 0
    """Calls of the records that hit (a hit answers the first of them)."""
    cost: Decimal = Decimal(0)
    """What the records that hit cost in all."""
    savings: Decimal = Decimal(0)
    reasons: tuple[str, ...] = ()

    def document(self) -> dict[str, object]:
        found: dict[str, object] = {
            "prompt": clip(self.row.first_prompt),
            "profile": self.row.profile,
            "task": self.row.task,
            "model": self.row.model,
            "repeats": self.hits,
        }
        if self.reasons:
            found["reasons"] = list(self.reasons)
        else:
            found["calls_answered"] = self.hits
            found["calls_of_hit_records"] = self.calls
            found["cost_of_hit_records_usd"] = self.cost
            found["savings_usd"] = self.savings
        return found


@dataclass
class Replay:
    lookups: int = 0
    multi_call_hits: int = 0
    whole_session_usd: Decimal = Decimal(0)
    expired: int = 0
    hits: dict[str, Repeat] = field(default_factory=dict)
    hit_rows: set[int] = field(default_factory=set)
    volatile: dict[tuple[str, str], Repeat] = field(default_factory=dict)
    """By profile and prompt text: the list is about what repeats, not keys."""
    volatile_records: int = 0
    system_prompts: set[str] = field(default_factory=set)
    """The distinct system prompts of the lookups, as the key saw them."""

    @property
    def hit_count(self) -> int:
        return sum(r.hits for r in self.hits.values())

    @property
    def savings(self) -> Decimal:
        return sum((r.savings for r in self.hits.values()), Decimal(0))


def first_call_cost(row: Row) -> Decimal:
    """The share of a record a cache hit saves: its first call."""
    assert row.cost is not None
    return row.cost / Decimal(max(row.calls, 1))


def cache_key(facts: Facts, row: Row, *, raw: bool = False) -> str:
    """The record's key in the exact cache.

    The system prompt enters by a digest of its (masked) text: equal texts
    give equal keys, without hashing long texts again for every record.
    """
    system = facts.system_key(row, raw=raw)
    return prompt_cache_key(row.model, system, row.first_prompt or "")


def replay(facts: Facts, *, raw: bool = False) -> Replay:
    """Look every cacheable record up in time order; store it on a miss."""
    ttl = facts.settings.cache_ttl_seconds
    rows = [r for r in facts.history.rows if facts.cacheable(r)]
    cache: ExactCache[int] = ExactCache(ttl_seconds=ttl, max_entries=max(len(rows), 1))
    found = Replay()
    keys: dict[tuple[str, str | None, str], str] = {}
    for row in rows:
        verdict = facts.volatility(row)
        if verdict.volatile:
            found.volatile_records += 1
            # Counting from -1: the first time a text is seen is no repeat.
            seen = found.volatile.setdefault(
                (row.profile, row.first_prompt or ""),
                Repeat(row, -1, reasons=verdict.reasons),
            )
            seen.hits += 1
            continue
        found.lookups += 1
        system = facts.system_key(row, raw=raw)
        found.system_prompts.add(f"{row.model}#{system}")
        # Prompts repeat: each distinct request is put in canonical form once.
        asked = (row.model, system, row.first_prompt or "")
        key = keys.get(asked) or keys.setdefault(asked, cache_key(facts, row, raw=raw))
        if cache.lookup(key, row.epoch) is None:
            cache.store(key, row.index, row.epoch)
            continue
        _count_hit(found, key, row)
    found.expired = cache.stats.expired
    return found


def _count_hit(found: Replay, key: str, row: Row) -> None:
    repeat = found.hits.setdefault(key, Repeat(row))
    repeat.hits += 1
    repeat.calls += row.calls
    repeat.cost += row.cost or Decimal(0)
    repeat.savings += first_call_cost(row)
    found.hit_rows.add(row.index)
    if row.calls > 1:
        found.multi_call_hits += 1
        found.whole_session_usd += row.cost or Decimal(0)


def hit_rows(facts: Facts) -> frozenset[int]:
    """The records the exact cache answers, worked out once per advice."""
    found = facts.memo.get(_MEMO)
    if found is None:
        found = facts.memo[_MEMO] = frozenset(replay(facts).hit_rows)
    assert isinstance(found, frozenset)
    return found


def analyse(facts: Facts) -> Draft:
    stable = replay(facts)
    facts.memo[_MEMO] = frozenset(stable.hit_rows)
    raw = replay(facts, raw=True)
    draft = Draft()
    for index in stable.hit_rows:
        row = facts.history.rows[index]
        draft.projected[index] = (row.cost or Decimal(0)) - first_call_cost(row)
        draft.answered[index] = 1
    drift = Drift.of(facts, stable, raw)
    _describe(facts, draft, stable, drift)
    _advise(facts, draft, stable, drift)
    _judge(draft, stable)
    return draft


@dataclass(frozen=True)
class Drift:
    """What masking the date and session lines of system prompts changes."""

    masked_lines: tuple[str, ...]
    records: int
    """Lookups whose system prompt had a line masked."""
    prompts_as_sent: int
    prompts_masked: int
    hits_as_sent: int
    savings_as_sent: Decimal

    @classmethod
    def of(cls, facts: Facts, stable: Replay, raw: Replay) -> Drift:
        lines: dict[str, None] = {}
        records = 0
        for row in _lookups(facts):
            found = facts.stable_system_prompt(row)
            if found is not None and found.changed:
                records += 1
                lines.update(dict.fromkeys(found.masked))
        return cls(
            tuple(lines), records, len(raw.system_prompts),
            len(stable.system_prompts), raw.hit_count, raw.savings,
        )  # fmt: skip

    def document(self) -> dict[str, Any]:
        return {
            "records_with_masked_lines": self.records,
            "masked_lines": list(self.masked_lines[:3]),
            "system_prompts_as_sent": self.prompts_as_sent,
            "system_prompts_masked": self.prompts_masked,
            "hits_keyed_on_prompt_as_sent": self.hits_as_sent,
            "savings_keyed_on_prompt_as_sent_usd": self.savings_as_sent,
        }


def _lookups(facts: Facts) -> Iterable[Row]:
    for row in facts.history.rows:
        if facts.cacheable(row) and not facts.volatility(row).volatile:
            yield row


def _describe(facts: Facts, draft: Draft, replay: Replay, drift: Drift) -> None:
    ttl = facts.settings.cache_ttl_seconds
    hits = replay.hit_count
    top = sorted(replay.hits.values(), key=lambda r: (-r.savings, -r.hits))
    stale = sorted(
        (r for r in replay.volatile.values() if r.hits > 0), key=lambda r: -r.hits
    )
    rate = Decimal(hits) / Decimal(replay.lookups) if replay.lookups else None
    draft.evidence = {
        "lookups": replay.lookups,
        "hits": hits,
        "hit_rate": rate,
        "calls_answered": hits,
        "expired_misses": replay.expired,
        "ttl_seconds": ttl,
        "repeated_prompts": [r.document() for r in top[:SHOWN]],
        "repeated_prompts_total": len(top),
        "multi_call_hits": replay.multi_call_hits,
        "system_prompt_dates": drift.document(),
        "not_cacheable_records": replay.volatile_records,
        "not_cacheable_repeats": sum(r.hits for r in stale),
        "not_cacheable": [r.document() for r in stale[:SHOWN]],
        "not_cacheable_total": len(stale),
    }
    draft.steps += [
        f"replayed {replay.lookups:,} main-loop records with a prompt, in time "
        f"order, through an exact cache keyed on model, system prompt and first "
        f"prompt, answers kept {ttl:,.0f} s",
        _drift_step(drift, hits, replay.savings),
        f"left out {replay.volatile_records:,} records whose prompt depends on "
        f"time or outside state or that ran on a schedule; their text repeated "
        f"{sum(r.hits for r in stale):,} times",
        f"{hits:,} hits ({percent(rate)}), {replay.expired:,} misses because the "
        "answer had expired; each hit answers one call and saves its record's "
        "cost / its calls",
    ]
    for r in top[:STEP_PROMPTS]:
        draft.steps.append(
            f"  '{clip(r.row.first_prompt, 60)}' ({r.row.profile}/{r.row.task}, "
            f"{r.row.model}): {r.hits} hits on records of {r.calls:,} calls costing "
            f"{usd(r.cost)}: saves {usd(r.savings)}"
        )
    if len(top) > STEP_PROMPTS:
        rest = sum((r.savings for r in top[STEP_PROMPTS:]), Decimal(0))
        draft.steps.append(
            f"  {len(top) - STEP_PROMPTS:,} more repeated prompts save {usd(rest)}"
        )


def _drift_step(drift: Drift, hits: int, savings: Decimal) -> str:
    if not drift.records:
        return (
            f"no system prompt carries a date or session line; "
            f"{drift.prompts_masked:,} distinct (model, system prompt) pairs"
        )
    example = f" (e.g. '{drift.masked_lines[0]}')" if drift.masked_lines else ""
    return (
        f"{drift.records:,} records' system prompts carry a date or session "
        f"line{example}: masked, {drift.prompts_as_sent:,} distinct (model, "
        f"system prompt) pairs become {drift.prompts_masked:,}; keyed on the "
        f"prompt as sent the cache gets {drift.hits_as_sent:,} hits "
        f"({usd(drift.savings_as_sent)}), masked {hits:,} ({usd(savings)})"
    )


def _advise(facts: Facts, draft: Draft, replay: Replay, drift: Drift) -> None:
    hours = facts.settings.cache_ttl_seconds / 3600
    top = sorted(replay.hits.values(), key=lambda r: (-r.savings, -r.hits))
    tasks = sorted({f"{r.row.profile}/{r.row.task}" for r in top[:5]})
    if tasks:
        draft.change.append(
            f"answer exact repeats from a response cache for {hours:g} h "
            f"(key: model, system prompt, messages, parameters), first for "
            f"{', '.join(tasks)}; never for cron runs or prompts about the present"
        )
    if drift.records and drift.hits_as_sent < replay.hit_count:
        draft.change.append(
            "the system prompt carries the date: cache on the prompt without it "
            "(costaudit.strategies.cache_key.stable_system_prompt masks it), or "
            f"remove it; keyed on the prompt as sent only {drift.hits_as_sent:,} "
            f"of the {replay.hit_count:,} hits happen"
        )
    draft.assumptions = [
        f"an answer stays right for {hours:g} h ([advisor] cache_ttl_seconds)",
        "requests with the same model, system prompt and first prompt used the "
        "same parameters (the logs do not keep them)",
        "a hit answers a session's first call only; its cost is the record's "
        "average per call",
    ]
    if drift.records:
        draft.assumptions.append(
            f"the key masks the date and session id lines of {drift.records:,} "
            "records' system prompts: a prompt whose answer depends on the date "
            "is already left out as time-dependent, so the date changes no "
            "cached answer"
        )
    if replay.multi_call_hits:
        draft.assumptions.append(
            f"{replay.multi_call_hits:,} hits are multi-call sessions: if their "
            f"whole session repeated too, up to {usd(replay.whole_session_usd)} "
            "more (not counted)"
        )


def _judge(draft: Draft, replay: Replay) -> None:
    hits = replay.hit_count
    if not replay.lookups:
        draft.judge(
            Confidence.NONE,
            "no priced main-loop record with a kept prompt that does not depend "
            "on the time",
        )
    elif not hits:
        draft.judge(
            Confidence.HIGH,
            f"none of the {replay.lookups:,} prompts repeated within the time to "
            "live: nothing to count",
        )
    elif replay.multi_call_hits * 2 > hits:
        draft.judge(
            Confidence.MEDIUM,
            f"{replay.multi_call_hits:,} of the {hits:,} hits start multi-call "
            "sessions: each counts its first call at the record's average cost "
            "per call, which the real first call may not match",
        )
    else:
        draft.judge(
            Confidence.HIGH,
            f"{hits:,} hits on prompts repeated word for word, mostly "
            "single-call sessions: their cost is what the records cost",
        )
