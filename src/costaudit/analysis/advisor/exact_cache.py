"""Cache exact repeats: replay the history through the exact-match cache.

Each main-loop record with a prompt is a lookup, in the order the records
started, keyed on model, system prompt and first prompt (the parameters are
not in the logs, so they count as equal). A hit is a request the cache
would have answered. A prompt whose answer depends on the time or on state
outside the conversation, and every cron run, is neither looked up nor
stored, however often its text repeats: it is listed with the reason.

A session's first call is the one a cache can answer; later calls carry tool
results the logs do not keep. A hit saves the record's cost divided by its
calls: all of it for a single-call session.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from costaudit.analysis.advisor.facts import Facts
from costaudit.analysis.advisor.history import Row
from costaudit.analysis.advisor.model import Confidence, Draft, clip, percent, usd
from costaudit.strategies.cache_key import ExactCache, prompt_cache_key

ID = "exact_cache"
TITLE = "Cache exact repeats"
GROUP = "cache"


@dataclass
class Repeat:
    """A prompt seen more than once, and what its repeats would save."""

    row: Row
    hits: int = 0
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
            found["savings_usd"] = self.savings
        return found


@dataclass
class Replay:
    lookups: int = 0
    multi_call_hits: int = 0
    whole_session_usd: Decimal = Decimal(0)
    hits: dict[str, Repeat] = field(default_factory=dict)
    volatile: dict[tuple[str, str], Repeat] = field(default_factory=dict)
    """By profile and prompt text: the list is about what repeats, not keys."""
    volatile_records: int = 0


def first_call_cost(row: Row) -> Decimal:
    """The share of a record a cache hit saves: its first call."""
    assert row.cost is not None
    return row.cost / Decimal(max(row.calls, 1))


def cache_key(row: Row) -> str:
    # The system prompt enters the key by the digest the ledger keeps of it:
    # equal texts give equal keys, without hashing long texts again per call.
    return prompt_cache_key(row.model, row.system_prompt_hash, row.first_prompt or "")


def analyse(facts: Facts) -> Draft:
    ttl = facts.settings.cache_ttl_seconds
    rows = [r for r in facts.history.rows if facts.cacheable(r)]
    cache: ExactCache[int] = ExactCache(ttl_seconds=ttl, max_entries=max(len(rows), 1))
    replay = Replay()
    draft = Draft()
    for row in rows:
        verdict = facts.volatility(row)
        if verdict.volatile:
            replay.volatile_records += 1
            # Counting from -1: the first time a text is seen is no repeat.
            seen = replay.volatile.setdefault(
                (row.profile, row.first_prompt or ""),
                Repeat(row, -1, reasons=verdict.reasons),
            )
            seen.hits += 1
            continue
        replay.lookups += 1
        key = cache_key(row)
        if cache.lookup(key, row.epoch) is None:
            cache.store(key, row.index, row.epoch)
            continue
        saved = first_call_cost(row)
        draft.projected[row.index] = (row.cost or Decimal(0)) - saved
        repeat = replay.hits.setdefault(key, Repeat(row))
        repeat.hits += 1
        repeat.savings += saved
        if row.calls > 1:
            replay.multi_call_hits += 1
            replay.whole_session_usd += row.cost or Decimal(0)
    _describe(facts, draft, replay, cache.stats.expired)
    return draft


def _describe(facts: Facts, draft: Draft, replay: Replay, expired: int) -> None:
    ttl = facts.settings.cache_ttl_seconds
    hits = sum(r.hits for r in replay.hits.values())
    top = sorted(replay.hits.values(), key=lambda r: (-r.savings, -r.hits))
    stale = sorted(
        (r for r in replay.volatile.values() if r.hits > 0), key=lambda r: -r.hits
    )
    rate = Decimal(hits) / Decimal(replay.lookups) if replay.lookups else None
    draft.evidence = {
        "lookups": replay.lookups,
        "hits": hits,
        "hit_rate": rate,
        "expired_misses": expired,
        "ttl_seconds": ttl,
        "repeated_prompts": [r.document() for r in top[:10]],
        "multi_call_hits": replay.multi_call_hits,
        "not_cacheable_records": replay.volatile_records,
        "not_cacheable_repeats": sum(r.hits for r in stale),
        "not_cacheable": [r.document() for r in stale[:10]],
    }
    draft.steps += [
        f"replayed {replay.lookups:,} main-loop records with a prompt, in time "
        f"order, through an exact cache keyed on model, system prompt and first "
        f"prompt, answers kept {ttl:,.0f} s",
        f"left out {replay.volatile_records:,} records whose prompt depends on "
        f"time or outside state or that ran on a schedule; their text repeated "
        f"{sum(r.hits for r in stale):,} times",
        f"{hits:,} hits ({percent(rate)}), {expired:,} misses because the "
        "answer had expired; each hit saves its record's cost / its calls",
    ]
    for r in top[:3]:
        draft.steps.append(
            f"  '{clip(r.row.first_prompt, 60)}' ({r.row.profile}/{r.row.task}): "
            f"{r.hits} hits, {usd(r.savings)}"
        )
    _advise(facts, draft, replay, top)


def _advise(facts: Facts, draft: Draft, replay: Replay, top: list[Repeat]) -> None:
    hours = facts.settings.cache_ttl_seconds / 3600
    tasks = sorted({f"{r.row.profile}/{r.row.task}" for r in top[:5]})
    if tasks:
        draft.change.append(
            f"answer exact repeats from a response cache for {hours:g} h "
            f"(key: model, system prompt, messages, parameters), first for "
            f"{', '.join(tasks)}; never for cron runs or prompts about the present"
        )
    draft.assumptions = [
        f"an answer stays right for {hours:g} h ([advisor] cache_ttl_seconds)",
        "requests with the same model, system prompt and first prompt used the "
        "same parameters (the logs do not keep them)",
        "a hit answers a session's first call only; its cost is the record's "
        "average per call",
    ]
    if replay.multi_call_hits:
        draft.assumptions.append(
            f"{replay.multi_call_hits:,} hits are multi-call sessions: if their "
            f"whole session repeated too, up to {usd(replay.whole_session_usd)} "
            "more (not counted)"
        )
    multi = replay.multi_call_hits > sum(r.hits for r in top) / 2
    draft.confidence = Confidence.MEDIUM if multi else Confidence.HIGH
