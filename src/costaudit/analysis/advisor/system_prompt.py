"""Trim system prompts: the tokens every call of a session sends again.

Hermes sends the whole system prompt with each call of a session, so a
record's system prompt tokens are its size times its calls. Trimming it to
the target size removes that many prompt tokens, priced in the record's own
mix of non-cached input, cache reads and cache writes (a prompt read from
the provider's cache costs less to send, so trimming it saves less).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from costaudit.analysis.advisor.facts import Facts, PromptSize
from costaudit.analysis.advisor.history import Row
from costaudit.analysis.advisor.model import Confidence, Draft, percent, usd
from costaudit.pricing.cost import MTOK
from costaudit.pricing.library import Tokens

ID = "system_prompt"
TITLE = "Trim system prompts"
GROUP = None


@dataclass
class _Profile:
    """A profile's system prompts to one model, over the records that sent
    them: counted with that model's tokenizer, so one label fits them all."""

    profile: str
    model: str
    calls: int = 0
    tokens_sent: int = 0
    prompt_tokens: int = 0
    cache_read_tokens: int = 0
    largest: int = 0
    texts: set[str] = field(default_factory=set)
    exact: bool = True
    encoding: str = ""
    removed_tokens: int = 0
    savings: Decimal = Decimal(0)

    def add(self, row: Row, size: PromptSize) -> None:
        self.calls += row.calls
        self.tokens_sent += size.tokens * row.calls
        self.prompt_tokens += row.prompt_tokens
        self.cache_read_tokens += row.cache_read_tokens
        self.largest = max(self.largest, size.tokens)
        self.texts.add(row.system_prompt_hash or "")
        self.exact = self.exact and size.exact
        self.encoding = size.encoding

    @property
    def tokens(self) -> int:
        """Tokens per call, averaged over calls when the prompt varied."""
        return round(self.tokens_sent / self.calls) if self.calls else 0

    @property
    def label(self) -> str:
        return f"{self.encoding}, {'exact' if self.exact else 'estimate'}"

    def document(self, target: int) -> dict[str, object]:
        return {
            "profile": self.profile,
            "model": self.model,
            "system_prompt_tokens": self.tokens,
            "largest_tokens": self.largest,
            "distinct_prompts": len(self.texts),
            "tokenizer": self.label,
            "calls": self.calls,
            "system_prompt_tokens_sent": self.tokens_sent,
            "prompt_tokens": self.prompt_tokens,
            "share_of_input": _ratio(self.tokens_sent, self.prompt_tokens),
            "cache_read_share": _ratio(self.cache_read_tokens, self.prompt_tokens),
            "target_tokens": target,
            "tokens_removed": self.removed_tokens,
            "savings_usd": self.savings,
        }


def _ratio(part: int, whole: int) -> Decimal | None:
    return min(Decimal(part) / Decimal(whole), Decimal(1)) if whole else None


def removed_cost(facts: Facts, row: Row, removed: int) -> Decimal | None:
    """What ``removed`` prompt tokens of the record cost, in its own mix."""
    if row.local:
        energy = facts.prices.pricer.energy
        return energy.price(row.model, Tokens(input_tokens=removed)).amount_usd
    rates = facts.prices.row_rates(row)
    if rates is None or not row.prompt_tokens:
        return None
    mix = (
        row.input_tokens * rates.input_mtok
        + row.cache_read_tokens * rates.cache_read_mtok
        + row.cache_write_tokens * rates.cache_write_mtok
    )
    return Decimal(removed) * mix / Decimal(row.prompt_tokens) / MTOK


def trimmed_cost(facts: Facts, row: Row, removed: int) -> Decimal | None:
    """The record's cost without ``removed`` prompt tokens.

    The price of the removed tokens is scaled by recorded cost over list
    price, so a record billed at another rate (provider-reported, say)
    saves in proportion to what it really cost.
    """
    before = facts.prices.own_price(row)
    gone = removed_cost(facts, row, removed)
    if row.cost is None or not before or gone is None:
        return None
    return row.cost - row.cost * gone / before


def analyse(facts: Facts) -> Draft:
    target = facts.settings.system_prompt_target_tokens
    profiles: dict[tuple[str, str], _Profile] = {}
    draft = Draft()
    unsized = 0
    for row in facts.history.rows:
        size = facts.system_prompt_size(row)
        if size is None:
            unsized += row.calls
            continue
        found = profiles.setdefault(
            (row.profile, row.model), _Profile(row.profile, row.model)
        )
        found.add(row, size)
        if size.tokens <= target or row.cost is None:
            continue
        removed = min((size.tokens - target) * row.calls, row.prompt_tokens)
        after = trimmed_cost(facts, row, removed)
        if after is None:
            continue
        draft.projected[row.index] = after
        found.removed_tokens += removed
        found.savings += row.cost - after
    ranked = sorted(profiles.values(), key=lambda p: (-p.savings, -p.tokens_sent))
    _describe(facts, draft, ranked, unsized)
    return draft


def _describe(facts: Facts, draft: Draft, ranked: list[_Profile], unsized: int) -> None:
    target = facts.settings.system_prompt_target_tokens
    draft.evidence = {
        "target_tokens": target,
        "profiles": [p.document(target) for p in ranked[:20]],
        "calls_without_system_prompt_text": unsized,
    }
    for p in ranked[:8]:
        varied = f", {len(p.texts)} versions" if len(p.texts) > 1 else ""
        draft.steps.append(
            f"profile '{p.profile}' on {p.model}: system prompt {p.tokens:,} "
            "tokens a call "
            f"({p.label}{varied}) x {p.calls:,} calls = {p.tokens_sent:,} tokens, "
            f"{percent(_ratio(p.tokens_sent, p.prompt_tokens))} of its "
            f"{p.prompt_tokens:,} prompt tokens "
            f"({percent(_ratio(p.cache_read_tokens, p.prompt_tokens))} read from cache)"
        )
        if p.removed_tokens:
            rate = p.savings / p.removed_tokens * MTOK
            draft.steps.append(
                f"  trimmed to {target:,} tokens: {p.removed_tokens:,} fewer tokens, "
                f"each priced at its record's own input and cache mix (on average "
                f"${rate:.4f} per MTok): {usd(p.savings)}"
            )
            draft.change.append(
                f"profile '{p.profile}' ({p.model}): cut the system prompt from "
                f"{p.tokens:,} "
                f"to at most {target:,} tokens; it is sent on each of "
                f"{p.calls:,} calls. Move rarely needed instructions into skills "
                "or files the agent reads on demand."
            )
    draft.assumptions = [
        f"target size {target:,} tokens ([advisor] system_prompt_target_tokens)",
        "the trimmed prompt does the same job; quality is not measured",
        "the system prompt is sent on every call of a session (Hermes does)",
        "token counts of models without a tokenizer here are o200k_base estimates",
    ]
    _judge(facts, draft, ranked)


def _judge(facts: Facts, draft: Draft, ranked: list[_Profile]) -> None:
    target = facts.settings.system_prompt_target_tokens
    estimated = [p for p in ranked if not p.exact]
    if facts.tokenizer_error:
        draft.change = [facts.tokenizer_error]
        draft.judge(Confidence.NONE, "no tokenizer could count the system prompts")
    elif not ranked:
        draft.judge(Confidence.NONE, "no system prompt text was kept to count")
    elif not any(p.removed_tokens for p in ranked):
        draft.judge(
            Confidence.HIGH,
            f"every system prompt is within the {target:,}-token target",
        )
    elif estimated:
        draft.judge(
            Confidence.MEDIUM,
            f"{len(estimated)} of {len(ranked)} profile and model pairs are "
            "counted with o200k_base, not their model's own tokenizer; and "
            "whether a shorter prompt works as well the logs cannot tell",
        )
    else:
        # The arithmetic is exact; whether a shorter prompt works as well is
        # not something logs can tell.
        draft.judge(
            Confidence.MEDIUM,
            "token counts are exact, but whether a shorter prompt works as well "
            "the logs cannot tell",
        )
