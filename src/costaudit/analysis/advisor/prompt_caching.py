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

from costaudit.analysis.advisor.facts import Facts
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


def _unread(facts: Facts, row: Row, rates: Rates, warm: bool) -> _Outcome | None:
    """Repeats of the system prompt that could have been cache reads."""
    size = facts.system_prompt_size(row)
    if size is None or row.cache_read_tokens or row.cache_write_tokens:
        return None
    if size.tokens < facts.settings.min_cacheable_tokens:
        return None
    repeats = row.calls - 1 + (1 if warm else 0)
    if repeats <= 0:
        return None
    tokens = min(size.tokens * repeats, row.input_tokens)
    saved = tokens * (rates.input_mtok - rates.cache_read_mtok) / MTOK
    if not warm:
        # The first call writes the prefix, at a premium where there is one.
        premium = max(rates.cache_write_mtok - rates.input_mtok, Decimal(0))
        saved -= min(size.tokens, row.input_tokens) * premium / MTOK
    return _Outcome(False, tokens, saved) if saved > 0 else None


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


def analyse(facts: Facts) -> Draft:
    reads = _session_reads(facts)
    last_start: dict[tuple[str, str | None, str], float] = {}
    found = _Found()
    draft = Draft()
    for row in facts.history.rows:
        rates = facts.prices.row_rates(row)
        if row.cost is None or rates is None:
            continue
        if rates.cache_read_mtok >= rates.input_mtok:
            continue
        outcome = _unread(facts, row, rates, _warm(facts, row, last_start))
        if outcome is None and not reads[(row.profile, row.session_id, row.model)]:
            outcome = _wasted(row, rates)
        after = None if outcome is None else _scaled(facts, row, outcome.saved)
        if outcome is None or after is None:
            continue
        draft.projected[row.index] = after
        if outcome.wasted:
            tally = found.wasted[(row.profile, row.task, row.model)]
        else:
            provider = facts.prices.provider_id(row.model, row.provider, row.endpoint)
            tally = found.unread[(provider or row.provider or "?", row.model)]
        tally.records += 1
        tally.calls += row.calls
        tally.tokens += outcome.tokens
        tally.savings += row.cost - after
        tally.rates = rates
    _describe(facts, draft, found)
    return draft


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


def _evidence(unread: _Unread, wasted: _Wasted) -> dict[str, Any]:
    return {
        "repeated_prefix_not_read": [
            {"provider": p, "model": m, "records": t.records, "calls": t.calls,
             "tokens_readable": t.tokens, "rates": _rates_text(t.rates),
             "savings_usd": t.savings}
            for (p, m), t in unread[:10]
        ],
        "cache_writes_never_read": [
            {"profile": p, "task": k, "model": m, "records": t.records,
             "cache_write_tokens": t.tokens, "rates": _rates_text(t.rates),
             "savings_usd": t.savings}
            for (p, k, m), t in wasted[:10]
        ],
    }  # fmt: skip


def _describe(facts: Facts, draft: Draft, found: _Found) -> None:
    unread = sorted(found.unread.items(), key=lambda item: -item[1].savings)
    wasted = sorted(found.wasted.items(), key=lambda item: -item[1].savings)
    draft.evidence = _evidence(unread, wasted)
    ttl = facts.settings.provider_cache_ttl_seconds
    for (provider, model), t in unread[:5]:
        draft.steps.append(
            f"{provider}/{model}: {t.records:,} records ({t.calls:,} calls) sent "
            f"their system prompt again with no cache read; {t.tokens:,} of those "
            f"tokens could be reads ({_rates_text(t.rates)}), less one write per "
            f"cold start: {usd(t.savings)}"
        )
        draft.change.append(_unread_change(provider, model))
    for (profile, task, model), t in wasted[:5]:
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
        "a repeated system prompt is the same prefix byte for byte",
        f"a cache entry lives {ttl:,.0f} s ([advisor] provider_cache_ttl_seconds); "
        f"prefixes under {facts.settings.min_cacheable_tokens:,} tokens are not "
        "cached",
        "savings are at list price, scaled to what each record really cost",
    ]
    draft.confidence = Confidence.MEDIUM


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
