"""The semantic cache's replay, counted and written up.

:mod:`.semantic_cache` replays the history through the cache and fills a
:class:`Replay`; :func:`project` turns its hits into savings
(:class:`Beyond`, beyond what the exact cache saves), and :func:`describe`
writes the strategy's evidence, steps, changes and confidence from both.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from costaudit.analysis.advisor import wrong_hits
from costaudit.analysis.advisor.exact_cache import first_call_cost
from costaudit.analysis.advisor.facts import Facts
from costaudit.analysis.advisor.history import Row
from costaudit.analysis.advisor.model import Confidence, Draft, clip, percent, usd

SHOWN_PAIRS = 10
# Pairs further than this from the threshold are clear calls either way.
_NEAR = 0.10


@dataclass
class Pair:
    similarity: float
    prompt: str
    cached: str
    verdict: str
    row: Row | None = None
    """The record looked up, for a hit: what it cost and how many calls."""

    def document(self) -> dict[str, object]:
        found: dict[str, object] = {
            "similarity": round(self.similarity, 4),
            "prompt": clip(self.prompt),
            "cached_prompt": clip(self.cached),
            "verdict": self.verdict,
        }
        if self.row is not None and self.row.cost is not None:
            found["calls"] = self.row.calls
            found["cost_usd"] = self.row.cost
            found["first_call_usd"] = first_call_cost(self.row)
        return found


class Nearest:
    """The few pairs nearest the threshold, kept in a bounded heap.

    ``within`` leaves out pairs further from it: a miss far below the
    threshold is no borderline case. Every hit is kept in the running, as
    the lowest-scoring hits are the ones to check however high they are.
    """

    def __init__(self, within: float | None, size: int = SHOWN_PAIRS) -> None:
        self.within = within
        self.size = size
        self._heap: list[tuple[float, int, Pair]] = []
        self.seen = 0

    def offer(self, pair: Pair, threshold: float) -> None:
        distance = abs(pair.similarity - threshold)
        if self.within is not None and distance > self.within:
            return
        self.seen += 1
        # The heap's top is the farthest kept pair, dropped first.
        item = (-distance, self.seen, pair)
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def pairs(self) -> list[Pair]:
        return [pair for _, _, pair in sorted(self._heap, reverse=True)]


@dataclass(frozen=True)
class Hit:
    cached_index: int
    exact: bool
    similarity: float


@dataclass
class Replay:
    lookups: int = 0
    hits: dict[int, Hit] = field(default_factory=dict)
    borderline_hits: int = 0
    accepted: Nearest = field(default_factory=lambda: Nearest(None))
    misses: Nearest = field(default_factory=lambda: Nearest(_NEAR))
    vetoed: int = 0
    vetoed_pairs: list[Pair] = field(default_factory=list)
    too_long: int = 0
    """Lookups refused because a prompt is longer than the embedder reads."""
    too_long_pairs: list[Pair] = field(default_factory=list)
    window: int | None = None
    """Tokens the embedding model reads per prompt; None: all of them."""
    namespaces: int = 0
    namespaces_as_sent: int = 0
    exact_cache_hits: int = 0
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Beyond:
    """Hits on records the exact cache does not answer, and their worth."""

    same_text: int = 0
    """Hits on the same text the exact cache misses (its copy had expired)."""
    paraphrase: int = 0
    gross_usd: Decimal = Decimal(0)
    """What the paraphrase hits would save if every one were right."""
    wrong_hits: Decimal = Decimal(0)
    wrong_usd: Decimal = Decimal(0)
    same_text_usd: Decimal = Decimal(0)
    needs_masking: int = 0
    """Hits whose cached prompt went out under another system prompt text
    (another day's date): keyed on the prompt as sent, they would not be."""

    @property
    def savings(self) -> Decimal:
        return self.same_text_usd + self.gross_usd - self.wrong_usd


def project(facts: Facts, draft: Draft, replay: Replay, rate: Decimal) -> Beyond:
    """What each hit saves, less the wrong hits."""
    rows = facts.history.rows
    beyond = Beyond()
    for index, hit in replay.hits.items():
        row = rows[index]
        if rows[hit.cached_index].system_prompt_hash != row.system_prompt_hash:
            beyond.needs_masking += 1
        saved = first_call_cost(row)
        if hit.exact:
            beyond.same_text += 1
            beyond.same_text_usd += saved
        else:
            beyond.paraphrase += 1
            beyond.gross_usd += saved
            beyond.wrong_hits += rate
            beyond.wrong_usd += saved * rate
            saved -= saved * rate
        draft.projected[index] = (row.cost or Decimal(0)) - saved
        draft.answered[index] = 1
    return beyond


def _evidence(
    replay: Replay,
    beyond: Beyond,
    measured: wrong_hits.WrongHitRate,
    model: str,
) -> dict[str, Any]:
    hits = len(replay.hits)
    return {
        "embedding_model": model,
        "embedding_window_tokens": replay.window,
        "threshold": measured.threshold,
        "lookups": replay.lookups,
        "hits": hits,
        "hit_rate": Decimal(hits) / replay.lookups if replay.lookups else None,
        "exact_cache_hits_not_looked_up": replay.exact_cache_hits,
        "same_text_hits": beyond.same_text,
        "paraphrase_hits": beyond.paraphrase,
        "paraphrase_savings_if_all_right_usd": beyond.gross_usd,
        "expected_wrong_hits": round(beyond.wrong_hits, 2),
        "expected_wrong_hits_usd": beyond.wrong_usd,
        "hits_within_margin": replay.borderline_hits,
        "vetoed_by_guards": replay.vetoed,
        "namespaces": replay.namespaces,
        "namespaces_as_sent": replay.namespaces_as_sent,
        "hits_needing_masked_date": beyond.needs_masking,
        "labelled_pairs": measured.document(),
        "hits_nearest_threshold": [p.document() for p in replay.accepted.pairs()],
        "vetoed_pairs": [p.document() for p in replay.vetoed_pairs],
        "vetoed_pairs_total": replay.vetoed,
        "too_long_to_compare": replay.too_long,
        "too_long_pairs": [p.document() for p in replay.too_long_pairs],
        "too_long_pairs_total": replay.too_long,
        "misses_nearest_threshold": [p.document() for p in replay.misses.pairs()],
    }


def describe(
    facts: Facts,
    draft: Draft,
    replay: Replay,
    beyond: Beyond,
    measured: wrong_hits.WrongHitRate,
    model: str,
) -> None:
    """Fill ``draft``'s evidence, steps, changes, assumptions and confidence."""
    draft.evidence = _evidence(replay, beyond, measured, model)
    _steps(facts, draft, replay, beyond, measured, model)
    _advise(facts, draft, replay, beyond, measured)
    _judge(draft, replay, beyond, measured)


def _steps(
    facts: Facts,
    draft: Draft,
    replay: Replay,
    beyond: Beyond,
    measured: wrong_hits.WrongHitRate,
    model: str,
) -> None:
    settings = facts.settings
    threshold = settings.semantic_threshold
    timings = replay.timings
    hits = len(replay.hits)
    draft.steps += [
        f"embedded {int(timings.get('embedded', 0)):,} distinct prompts with "
        f"{model} ({int(timings.get('computed', 0)):,} computed now, the rest "
        f"kept from earlier runs); {int(timings.get('not_embedded', 0)):,} more "
        "meet no other prompt in their namespace within a time to live: served "
        "by their text alone",
        f"behind the exact cache: its {replay.exact_cache_hits:,} hits never reach "
        f"this cache and count under exact_cache; replayed the other "
        f"{replay.lookups:,} cacheable records in time order (threshold "
        f"{threshold:.3f}, answers kept {settings.cache_ttl_seconds:,.0f} s)",
        f"namespace = model + system prompt with its date and session lines "
        f"masked: {replay.namespaces:,} namespaces ({replay.namespaces_as_sent:,} "
        "as sent)",
        f"{hits:,} hits ({percent(draft.evidence['hit_rate'])}): "
        f"{beyond.same_text:,} on the same text whose exact copy had expired "
        f"({usd(beyond.same_text_usd)}) and {beyond.paraphrase:,} paraphrases "
        f"({usd(beyond.gross_usd)} if all right); each saves its record's cost "
        "/ its calls",
        _rate_step(measured),
        f"expected wrong hits: {beyond.paraphrase:,} x "
        f"{percent(measured.rate)} = {beyond.wrong_hits:.2f}; they save nothing "
        f"(a wrong answer is asked again): {usd(beyond.gross_usd)} - "
        f"{usd(beyond.wrong_usd)} + {usd(beyond.same_text_usd)} = "
        f"{usd(beyond.savings)}",
        f"{beyond.needs_masking:,} hits matched a prompt sent under another day's "
        "system prompt: keyed on the prompt as sent they would not happen",
        f"{replay.vetoed:,} pairs above the threshold were vetoed by the guards; "
        f"{replay.borderline_hits:,} hits lie within "
        f"{settings.borderline_margin} of it",
        _window_step(replay),
    ]
    for pair in replay.accepted.pairs():
        draft.steps.append(
            f"  hit {pair.similarity:.3f}: '{clip(pair.prompt, 60)}' served "
            f"'{clip(pair.cached, 60)}'"
        )


def _window_step(replay: Replay) -> str:
    window = replay.window
    if window is None:
        return "the embedding model reads every prompt whole"
    return (
        f"{replay.too_long:,} lookups above the threshold were refused as too long "
        f"to compare: a prompt over {window:,} tokens (all the embedding reads) "
        "is served only the answer to the same text"
    )


def _rate_step(measured: wrong_hits.WrongHitRate) -> str:
    if measured.rate is None:
        return (
            f"wrong-hit rate not measured: none of the {measured.paraphrases} "
            f"paraphrase and {measured.traps} trap pairs shipped with costaudit "
            f"was accepted at {measured.threshold:.3f}; paraphrase hits are "
            "counted whole"
        )
    return (
        f"wrong-hit rate measured on {measured.paraphrases + measured.traps} "
        f"labelled pairs at {measured.threshold:.3f}: {len(measured.wrong)} of "
        f"{measured.accepted} accepted pairs are traps = {percent(measured.rate)} "
        f"(95% upper bound {percent(measured.upper)}); recall "
        f"{percent(measured.recall)}"
    )


def _advise(
    facts: Facts,
    draft: Draft,
    replay: Replay,
    beyond: Beyond,
    measured: wrong_hits.WrongHitRate,
) -> None:
    settings = facts.settings
    threshold = settings.semantic_threshold
    if beyond.paraphrase:
        draft.change.append(
            f"put a semantic cache (threshold {threshold:.2f}, with guards) behind "
            "the exact cache for the same tasks; review the pairs nearest the "
            "threshold below before raising or lowering it"
        )
    if beyond.needs_masking:
        draft.change.append(
            "the system prompt carries the date: key the semantic cache's "
            "namespace on the prompt without it (stable_system_prompt), or remove "
            "it from the prompt"
        )
    draft.assumptions = [
        "savings are beyond the exact cache's: hits on records it answers are "
        "counted under exact_cache, not here",
        "a paraphrase above the threshold that passes the guards wants the same "
        "answer, except for the measured share of wrong hits, which save nothing",
        "the wrong-hit rate comes from labelled pairs with as many traps as "
        "paraphrases: real traffic with fewer near misses does better",
        "a hit answers a session's first call only (as for the exact cache)",
        "the namespace masks the system prompt's date and session lines, as the "
        "exact cache's key does",
    ]
    if replay.window is not None:
        draft.assumptions.append(
            f"a prompt over {replay.window:,} tokens is compared by its text alone: "
            "the embedding reads no further, so a paraphrase match could hide a "
            "difference after that point"
        )


def _judge(
    draft: Draft,
    replay: Replay,
    beyond: Beyond,
    measured: wrong_hits.WrongHitRate,
) -> None:
    if not replay.lookups:
        draft.judge(Confidence.NONE, "no cacheable prompt to replay")
    elif not beyond.paraphrase:
        draft.judge(
            Confidence.HIGH,
            f"no paraphrase hit beyond the exact cache in {replay.lookups:,} "
            "lookups: nothing rests on the matcher's judgement",
        )
    elif measured.rate is None:
        draft.judge(
            Confidence.LOW,
            "the wrong-hit rate could not be measured at this threshold",
        )
    elif measured.upper is not None and measured.upper > Decimal("0.1"):
        draft.judge(
            Confidence.LOW,
            f"up to {percent(measured.upper)} of paraphrase hits may be wrong "
            "(95% bound on the labelled pairs); check the pairs listed",
        )
    else:
        draft.judge(
            Confidence.MEDIUM,
            f"the wrong-hit rate is measured ({percent(measured.rate)}); whether "
            "these prompts' answers are reusable depends on the pairs listed",
        )
