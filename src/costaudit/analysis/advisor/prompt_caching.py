"""Use the provider's prompt cache: read repeated prefixes, stop unread writes.

Two patterns on API models whose price list has a cache read price below
the input price:

- the same system prompt sent again (later calls of a session, or a record
  that starts within the provider's cache lifetime after one with the same
  model and system prompt) with no token read from cache: those repeats
  could have been cache reads, less the premium of writing the cache once
  where the provider charges one;
- cache writes in a session and model that never read the cache: the write
  premium over plain input was paid for nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costaudit.analysis.advisor.facts import Facts, Prefix
from costaudit.analysis.advisor.history import Row
from costaudit.analysis.advisor.model import Confidence, Draft, usd
from costaudit.pricing.cost import MTOK
from costaudit.pricing.library import Rates

ID = "prompt_caching"
TITLE = "Use the provider's prompt cache"
GROUP = None

# Providers that cache only where the request marks the prefix; the others
# in genai-prices with cache prices cache long prefixes by themselves.
MARKED_CACHING = frozenset({"anthropic", "aws"})


@dataclass
class _Tally:
    records: int = 0
    calls: int = 0
    tokens: int = 0
    savings: Decimal = Decimal(0)
    rates: Rates | None = None
    prefix: Prefix | None = None


@dataclass
class _Found:
    unread: dict[tuple[str, str], _Tally] = field(
        default_factory=lambda: defaultdict(_Tally)
    )
    """(provider, model) to prefixes sent again but never read from cache."""
    wasted: dict[tuple[str, str, str], _Tally] = field(
        default_factory=lambda: defaultdict(_Tally)
    )
    """(profile, task, model) to cache writes never read."""


def _session_reads(facts: Facts) -> dict[tuple[str, str, str], int]:
    reads: dict[tuple[str, str, str], int] = defaultdict(int)
    for row in facts.history.rows:
        reads[(row.profile, row.session_id, row.model)] += row.cache_read_tokens
    return reads


def _scaled(facts: Facts, row: Row, saved_at_list_price: Decimal) -> Decimal | None:
    """The record's cost less a saving worked out at list price, scaled to
    what the record really cost."""
    before = facts.prices.own_price(row)
    if row.cost is None or not before or saved_at_list_price <= 0:
        return None
    return row.cost - row.cost * saved_at_list_price / before


@dataclass(frozen=True)
class _Outcome:
    wasted: bool
    """True for unread cache writes, False for repeats never read."""
    tokens: int
    saved: Decimal
    """At list price."""
    prefix: Prefix | None = None


class _Skipped:
    """Records looked at and left alone, by reason, for --explain."""

    def __init__(self) -> None:
        self.reasons: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def add(self, reason: str, row: Row) -> None:
        tally = self.reasons[reason]
        tally[0] += 1
        tally[1] += row.calls

    def steps(self) -> list[str]:
        ranked = sorted(self.reasons.items(), key=lambda item: -item[1][1])
        return [
            f"  skipped {records:,} records ({calls:,} calls): {reason}"
            for reason, (records, calls) in ranked
        ]


def _unread(facts: Facts, row: Row, rates: Rates, warm: bool) -> _Outcome | str:
    """Repeats of the prompt prefix (system prompt and tool schemas) that
    could have been cache reads; or why there are none."""
    if not row.is_main:
        return (
            "a side call (title, compression, ...): it sends a prompt of its "
            "own, not the session's prefix"
        )
    prefix = facts.prefix(row)
    if prefix is None:
        return "no system prompt text or prompt token counts to size the prefix"
    if row.cache_read_tokens:
        return "reads the provider's cache already"
    if row.cache_write_tokens:
        return "writes the cache (see the unread writes)"
    least = facts.settings.min_cacheable_tokens
    if prefix.tokens < least:
        return f"prefix under {least:,} tokens, which providers do not cache"
    repeats = row.calls - 1 + (1 if warm else 0)
    if repeats <= 0:
        return (
            "one call, with no call of the same model and system prompt in the "
            "cache lifetime before it: nothing to read back"
        )
    tokens = min(prefix.tokens * repeats, row.input_tokens)
    saved = tokens * (rates.input_mtok - rates.cache_read_mtok) / MTOK
    if not warm:
        # The first call writes the prefix, at a premium where there is one.
        premium = max(rates.cache_write_mtok - rates.input_mtok, Decimal(0))
        saved -= min(prefix.tokens, row.input_tokens) * premium / MTOK
    if saved <= 0:
        return "the write premium outweighs the reads"
    return _Outcome(False, tokens, saved, prefix)


def _wasted(row: Row, rates: Rates) -> _Outcome | None:
    """Cache writes whose premium over input bought no read."""
    premium = rates.cache_write_mtok - rates.input_mtok
    if not row.cache_write_tokens or premium <= 0:
        return None
    return _Outcome(
        True, row.cache_write_tokens, row.cache_write_tokens * premium / MTOK
    )


def _warm(
    facts: Facts, row: Row, last_start: dict[tuple[str, str | None, str], float]
) -> bool:
    """Whether a record with the same model and system prompt started
    within the provider's cache lifetime before this one."""
    if not row.system_prompt_hash:
        return False
    key = (row.model, row.provider, row.system_prompt_hash)
    previous = last_start.get(key)
    last_start[key] = row.epoch
    ttl = facts.settings.provider_cache_ttl_seconds
    return previous is not None and row.epoch - previous <= ttl


def _priced(facts: Facts, row: Row) -> Rates | str:
    """The record's rates, or why it is not looked at."""
    if row.cost is None:
        return "unpriced"
    if row.local:
        return "a local model: no provider cache to use"
    rates = facts.prices.row_rates(row)
    if rates is None:
        return "no token prices for its model"
    if rates.cache_read_mtok >= rates.input_mtok:
        return "its provider's price list has no cheaper cache read"
    return rates


def _examine(
    facts: Facts,
    row: Row,
    reads: dict[tuple[str, str, str], int],
    last_start: dict[tuple[str, str | None, str], float],
) -> tuple[_Outcome, Rates] | str:
    rates = _priced(facts, row)
    if isinstance(rates, str):
        return rates
    outcome = _unread(facts, row, rates, _warm(facts, row, last_start))
    if isinstance(outcome, _Outcome):
        return outcome, rates
    if reads[(row.profile, row.session_id, row.model)]:
        return outcome
    wasted = _wasted(row, rates)
    return outcome if wasted is None else (wasted, rates)


def analyse(facts: Facts) -> Draft:
    reads = _session_reads(facts)
    last_start: dict[tuple[str, str | None, str], float] = {}
    found = _Found()
    skipped = _Skipped()
    draft = Draft()
    for row in facts.history.rows:
        examined = _examine(facts, row, reads, last_start)
        if isinstance(examined, str):
            skipped.add(examined, row)
            continue
        outcome, rates = examined
        after = _scaled(facts, row, outcome.saved)
        if after is None or row.cost is None:
            skipped.add("no list price to scale the saving by", row)
            continue
        draft.projected[row.index] = after
        _tally(facts, found, row, outcome, rates).savings += row.cost - after
    _describe(facts, draft, found, skipped)
    return draft


def _tally(
    facts: Facts, found: _Found, row: Row, outcome: _Outcome, rates: Rates
) -> _Tally:
    if outcome.wasted:
        tally = found.wasted[(row.profile, row.task, row.model)]
    else:
        provider = facts.prices.provider_id(row.model, row.provider, row.endpoint)
        tally = found.unread[(provider or row.provider or "?", row.model)]
        tally.prefix = outcome.prefix
    tally.records += 1
    tally.calls += row.calls
    tally.tokens += outcome.tokens
    tally.rates = rates
    return tally


def _rates_text(rates: Rates | None) -> str:
    if rates is None:
        return ""
    return (
        f"input ${rates.input_mtok.normalize():f}, cache read "
        f"${rates.cache_read_mtok.normalize():f}, cache write "
        f"${rates.cache_write_mtok.normalize():f} per MTok"
    )


_Unread = list[tuple[tuple[str, str], _Tally]]
_Wasted = list[tuple[tuple[str, str, str], _Tally]]


def _evidence(unread: _Unread, wasted: _Wasted, skipped: _Skipped) -> dict[str, Any]:
    return {
        "repeated_prefix_not_read": [
            {"provider": p, "model": m, "records": t.records, "calls": t.calls,
             "prefix_tokens": t.prefix.tokens if t.prefix else None,
             "prefix_from": t.prefix.how if t.prefix else None,
             "tokens_readable": t.tokens, "rates": _rates_text(t.rates),
             "savings_usd": t.savings}
            for (p, m), t in unread
        ],
        "cache_writes_never_read": [
            {"profile": p, "task": k, "model": m, "records": t.records,
             "cache_write_tokens": t.tokens, "rates": _rates_text(t.rates),
             "savings_usd": t.savings}
            for (p, k, m), t in wasted
        ],
        "skipped": [
            {"reason": reason, "records": records, "calls": calls}
            for reason, (records, calls) in sorted(
                skipped.reasons.items(), key=lambda item: -item[1][1]
            )
        ],
    }  # fmt: skip


def _describe(facts: Facts, draft: Draft, found: _Found, skipped: _Skipped) -> None:
    unread = sorted(found.unread.items(), key=lambda item: -item[1].savings)
    wasted = sorted(found.wasted.items(), key=lambda item: -item[1].savings)
    draft.evidence = _evidence(unread, wasted, skipped)
    ttl = facts.settings.provider_cache_ttl_seconds
    examined = len(facts.history.rows)
    found_records = sum(t.records for _, t in unread) + sum(
        t.records for _, t in wasted
    )
    draft.steps.append(
        f"examined {examined:,} records for a repeated prefix (system prompt and "
        f"tool schemas, estimated per profile and model as the smallest prompt "
        f"it sent, never less than its system prompt) sent without a cache read, "
        f"and for cache writes never read: {found_records:,} found"
    )
    draft.steps += skipped.steps()
    for (provider, model), t in unread:
        prefix = (
            f"{t.prefix.tokens:,}-token prefix ({t.prefix.how})" if t.prefix else ""
        )
        draft.steps.append(
            f"{provider}/{model}: {t.records:,} records ({t.calls:,} calls) sent a "
            f"{prefix} again with no cache read; {t.tokens:,} tokens could be "
            f"reads ({_rates_text(t.rates)}), less one write per cold start: "
            f"{usd(t.savings)}"
        )
        draft.change.append(_unread_change(provider, model))
    for (profile, task, model), t in wasted:
        draft.steps.append(
            f"{profile}/{task} on {model}: {t.tokens:,} tokens written to the "
            f"cache and never read in their session ({_rates_text(t.rates)}); "
            f"the write premium: {usd(t.savings)}"
        )
        draft.change.append(
            f"{profile}/{task}: stop marking prompts for caching on {model} "
            "(its sessions never read the cache back), or keep the prefix "
            "identical so that later calls read it"
        )
    draft.assumptions = [
        "the repeated prefix (system prompt and tool schemas) is the smallest "
        "prompt a profile sent to a model, and never less than its system "
        "prompt; it is the same bytes from call to call",
        f"a cache entry lives {ttl:,.0f} s ([advisor] provider_cache_ttl_seconds); "
        f"prefixes under {facts.settings.min_cacheable_tokens:,} tokens are not "
        "cached",
        "savings are at list price, scaled to what each record really cost",
    ]
    _judge(draft, examined, unread, wasted, skipped)


def _judge(
    draft: Draft,
    examined: int,
    unread: _Unread,
    wasted: _Wasted,
    skipped: _Skipped,
) -> None:
    priced = examined - sum(
        n for reason, (n, _) in skipped.reasons.items() if reason == "unpriced"
    )
    if not priced:
        draft.judge(Confidence.NONE, "no priced record to look at")
    elif not unread and not wasted:
        draft.judge(
            Confidence.HIGH,
            f"none of the {priced:,} priced records repeats a cacheable prefix "
            "unread or writes the cache for nothing (the skipped ones say why)",
        )
    elif unread and not wasted:
        draft.judge(
            Confidence.MEDIUM,
            "the prefix size is estimated from the smallest prompt sent; the "
            "provider may place tools and system prompt differently",
        )
    else:
        draft.judge(
            Confidence.MEDIUM,
            "unread cache writes are billed figures; the prefix size of unread "
            "repeats is estimated from the smallest prompt sent",
        )


def _unread_change(provider: str, model: str) -> str:
    if provider in MARKED_CACHING:
        return (
            f"{provider}/{model}: mark the system prompt as cacheable "
            "(cache_control on its last block) so later calls read it"
        )
    return (
        f"{provider}/{model}: keep the system prompt byte-identical at the start "
        "of each request (no dates or per-call data in it); the provider caches "
        "long prefixes by itself"
    )
