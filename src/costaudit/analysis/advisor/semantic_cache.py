"""Cache paraphrases: replay the history through the semantic cache.

The cache is the one a live gateway uses (:mod:`costaudit.strategies.
semantic_cache`), with its threshold and guards, behind the exact cache.
Prompts are embedded once each, in batches, before the replay; the replay
then looks each record up at its start time and stores it on a miss, like
the exact cache. Prompts that can go stale are left out the same way, and
the namespace is the model and the system prompt with its date and session
lines masked, as the exact cache keys it.

What it saves is counted beyond the exact cache: a hit on a record the
exact cache already answers is the exact cache's saving, not this one's.
Each paraphrase hit is discounted by the wrong-hit rate measured on
labelled pairs at the same threshold (:mod:`.wrong_hits`): a wrong answer
has to be asked again, so it saves nothing. The hits, vetoes and misses
nearest the threshold are listed so a person can judge them.

Only a prompt that meets a different prompt in its namespace within a time
to live can ever be compared by meaning; the others are served by their
text alone, so they are not embedded (their vector could change nothing).
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray

from costaudit.analysis.advisor import exact_cache, wrong_hits
from costaudit.analysis.advisor.exact_cache import first_call_cost
from costaudit.analysis.advisor.facts import Facts
from costaudit.analysis.advisor.history import Row
from costaudit.analysis.advisor.model import Confidence, Draft, clip, percent, usd
from costaudit.analysis.advisor.settings import AdvisorSettings
from costaudit.strategies.embeddings import (
    Embedder,
    EmbeddingModelError,
    WindowedEmbedder,
)
from costaudit.strategies.semantic_cache import (
    TOO_LONG,
    Lookup,
    SemanticCache,
    namespace_for,
)

log = logging.getLogger(__name__)

ID = "semantic_cache"
TITLE = "Cache paraphrases"
GROUP = "cache"
INSTALL = "pip install --force-reinstall costaudit"
SHOWN_PAIRS = 10
# Pairs further than this from the threshold are clear calls either way.
_NEAR = 0.10

EmbedderFactory = Callable[[], Embedder]


class _Clock:
    """The replay's time, which the cache reads for its time to live."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@dataclass
class _Pair:
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


class _Nearest:
    """The few pairs nearest the threshold, kept in a bounded heap.

    ``within`` leaves out pairs further from it: a miss far below the
    threshold is no borderline case. Every hit is kept in the running, as
    the lowest-scoring hits are the ones to check however high they are.
    """

    def __init__(self, within: float | None, size: int = SHOWN_PAIRS) -> None:
        self.within = within
        self.size = size
        self._heap: list[tuple[float, int, _Pair]] = []
        self.seen = 0

    def offer(self, pair: _Pair, threshold: float) -> None:
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

    def pairs(self) -> list[_Pair]:
        return [pair for _, _, pair in sorted(self._heap, reverse=True)]


@dataclass(frozen=True)
class _Hit:
    cached_index: int
    exact: bool
    similarity: float


@dataclass
class _Replay:
    lookups: int = 0
    hits: dict[int, _Hit] = field(default_factory=dict)
    borderline_hits: int = 0
    accepted: _Nearest = field(default_factory=lambda: _Nearest(None))
    misses: _Nearest = field(default_factory=lambda: _Nearest(_NEAR))
    vetoed: int = 0
    vetoed_pairs: list[_Pair] = field(default_factory=list)
    too_long: int = 0
    """Lookups refused because a prompt is longer than the embedder reads."""
    too_long_pairs: list[_Pair] = field(default_factory=list)
    window: int | None = None
    """Tokens the embedding model reads per prompt; None: all of them."""
    namespaces: int = 0
    namespaces_as_sent: int = 0
    exact_cache_hits: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def analyse(
    facts: Facts,
    make_embedder: EmbedderFactory,
    pairs: tuple[wrong_hits.LabelledPair, ...] | None = None,
) -> Draft:
    """Replay the cacheable records; ``pairs`` replaces the labelled pairs
    the wrong-hit rate is measured on (the shipped ones by default)."""
    try:
        started = time.perf_counter()
        embedder = make_embedder()
        loaded = time.perf_counter() - started
    except (EmbeddingModelError, ImportError) as exc:
        return unavailable(str(exc))
    rows = [
        r
        for r in facts.history.rows
        if facts.cacheable(r) and not facts.volatility(r).volatile
    ]
    replay = _Replay(timings={"load_model_s": loaded})
    if isinstance(embedder, WindowedEmbedder):
        replay.window = embedder.max_tokens
    replay.exact_cache_hits = len(exact_cache.hit_rows(facts))
    # Behind the exact cache: the records it answers never reach this one.
    answered = exact_cache.hit_rows(facts)
    _replay(facts, embedder, [r for r in rows if r.index not in answered], replay)
    started = time.perf_counter()
    measured = wrong_hits.measure(embedder, facts.settings.semantic_threshold, pairs)
    replay.timings["labelled_pairs_s"] = time.perf_counter() - started
    draft = Draft()
    beyond = _project(facts, draft, replay, measured.rate or Decimal(0))
    _describe(facts, draft, replay, beyond, measured, embedder.name)
    draft.timings = replay.timings
    return draft


class _Periods:
    """Semantic caches by period of one time to live.

    A lookup can only be served by an entry stored less than a time to live
    ago: one of its own period or of the period before. Older periods are
    dropped, so each search scans days of prompts, not the whole history,
    and the replay stays linear in the number of records.

    Both periods' candidates are pooled and settled once, by the same rule a
    single live cache applies (:meth:`SemanticCache.settle`): two close
    prompts with different answers are ambiguous even when a period
    boundary falls between them.
    """

    def __init__(self, make: Callable[[], SemanticCache[int]], ttl: float) -> None:
        self.make = make
        self.ttl = ttl
        self.caches: dict[int, SemanticCache[int]] = {}

    def probe(
        self, text: str, space: str, vector: NDArray[np.float32], epoch: float
    ) -> Lookup[int]:
        period = int(epoch // self.ttl)
        for old in [p for p in self.caches if p < period - 1]:
            del self.caches[old]
        caches = [self.caches[p] for p in (period, period - 1) if p in self.caches]
        for cache in caches:
            same = cache.exact(text, namespace=space)
            if same is not None:
                # Nothing beats the same text: skip the older period.
                return same
        if not caches:
            return Lookup(text, space, None, ())
        pooled = []
        for cache in caches:
            pooled += cache.nearest(text, namespace=space, vector=vector)
        return caches[0].settle(text, space, pooled)

    def add(
        self, text: str, ref: int, space: str, vector: NDArray[np.float32], epoch: float
    ) -> None:
        period = int(epoch // self.ttl)
        cache = self.caches.setdefault(period, self.make())
        cache.add(text, ref, namespace=space, vector=vector)


def _namespaces(facts: Facts, rows: list[Row], replay: _Replay) -> list[str]:
    """Each record's namespace, from the model and the system prompt, by
    :func:`namespace_for` as a gateway computes it (date lines masked).

    A system prompt whose text was not kept is known by its digest only:
    it gets a namespace of its own, as sent, so answers never cross it."""
    known: dict[tuple[str, str | None], str] = {}
    spaces = []
    for row in rows:
        key = (row.model, row.system_prompt_hash)
        space = known.get(key)
        if space is None:
            text = facts.history.system_prompt(row)
            if text is None and row.system_prompt_hash is not None:
                text = f"sha256:{row.system_prompt_hash}"
            space = known[key] = namespace_for(row.model, text)
        spaces.append(space)
    replay.namespaces = len(set(spaces))
    replay.namespaces_as_sent = len(known)
    return spaces


def _to_embed(rows: list[Row], spaces: list[str], ttl: float) -> set[str]:
    """Prompts that meet a different prompt in their namespace within reach
    of a time to live (their own period and the ones either side): only
    those can be compared by meaning. Any other is served by its text."""
    windows: dict[tuple[str, int], set[str]] = defaultdict(set)
    for row, space in zip(rows, spaces, strict=True):
        windows[(space, int(row.epoch // ttl))].add(row.first_prompt or "")
    crowded: dict[tuple[str, int], bool] = {}
    needed: set[str] = set()
    for row, space in zip(rows, spaces, strict=True):
        period = int(row.epoch // ttl)
        busy = crowded.get((space, period))
        if busy is None:
            near = [
                windows.get((space, p), set()) for p in (period - 1, period, period + 1)
            ]
            busy = crowded[(space, period)] = len(set().union(*near)) > 1
        if busy:
            needed.add(row.first_prompt or "")
    return needed


def _vectors(
    embedder: Embedder, texts: list[str], needed: set[str], replay: _Replay
) -> NDArray[np.float32]:
    """Vectors of ``texts``; zero (matching nothing) where not ``needed``."""
    wanted = [t for t in texts if t in needed]
    started = time.perf_counter()
    found = embedder.embed(wanted)
    replay.timings["embed_s"] = time.perf_counter() - started
    replay.timings["embedded"] = float(len(wanted))
    # A store of vectors says how many it had already (see vectors.py).
    stored = getattr(embedder, "reused", 0)
    replay.timings["computed"] = float(len(wanted) - stored)
    replay.timings["not_embedded"] = float(len(texts) - len(wanted))
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    at = {t: i for i, t in enumerate(wanted)}
    for i, text in enumerate(texts):
        if text in at:
            vectors[i] = found[at[text]]
    return vectors


def _replay(facts: Facts, embedder: Embedder, rows: list[Row], replay: _Replay) -> None:
    settings = facts.settings
    spaces = _namespaces(facts, rows, replay)
    texts = sorted({r.first_prompt or "" for r in rows})
    needed = _to_embed(rows, spaces, settings.cache_ttl_seconds)
    vectors = _vectors(embedder, texts, needed, replay)
    position = {text: i for i, text in enumerate(texts)}
    clock = _Clock()
    periods = _Periods(
        lambda: SemanticCache(
            embedder,
            threshold=settings.semantic_threshold,
            ttl_seconds=settings.cache_ttl_seconds,
            clock=clock,
        ),
        settings.cache_ttl_seconds,
    )
    started = time.perf_counter()
    for row, space in zip(rows, spaces, strict=True):
        text = row.first_prompt or ""
        clock.now = row.epoch
        vector = vectors[position[text]]
        found = periods.probe(text, space, vector, row.epoch)
        replay.lookups += 1
        _note(found, row, replay, settings.semantic_threshold, settings)
        if found.match is None:
            periods.add(text, row.index, space, vector, row.epoch)
            continue
        match = found.match
        replay.hits[row.index] = _Hit(match.answer_ref, match.exact, match.similarity)
    replay.timings["replay_s"] = time.perf_counter() - started


def _note(
    found: Lookup[int],
    row: Row,
    replay: _Replay,
    threshold: float,
    settings: AdvisorSettings,
) -> None:
    """Keep the lookup if it sits near the threshold."""
    match = found.match
    if match is not None and match.exact:
        return
    if match is not None:
        if match.similarity < threshold + settings.borderline_margin:
            replay.borderline_hits += 1
        pair = _Pair(match.similarity, found.text, match.cached_text, "accepted", row)
        replay.accepted.offer(pair, threshold)
        return
    if not found.candidates:
        return
    nearest = found.candidates[0]
    if nearest.rejections and nearest.similarity >= threshold:
        pair = _Pair(nearest.similarity, found.text, nearest.entry.text,
                     nearest.verdict)  # fmt: skip
        if any(r.guard == TOO_LONG for r in nearest.rejections):
            replay.too_long += 1
            if len(replay.too_long_pairs) < SHOWN_PAIRS:
                replay.too_long_pairs.append(pair)
            return
        replay.vetoed += 1
        if len(replay.vetoed_pairs) < SHOWN_PAIRS:
            replay.vetoed_pairs.append(pair)
        return
    pair = _Pair(nearest.similarity, found.text, nearest.entry.text, nearest.verdict)
    replay.misses.offer(pair, threshold)


@dataclass
class _Beyond:
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


def _project(facts: Facts, draft: Draft, replay: _Replay, rate: Decimal) -> _Beyond:
    """What each hit saves, less the wrong hits."""
    rows = facts.history.rows
    beyond = _Beyond()
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
    replay: _Replay,
    beyond: _Beyond,
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


def _describe(
    facts: Facts,
    draft: Draft,
    replay: _Replay,
    beyond: _Beyond,
    measured: wrong_hits.WrongHitRate,
    model: str,
) -> None:
    draft.evidence = _evidence(replay, beyond, measured, model)
    _steps(facts, draft, replay, beyond, measured, model)
    _advise(facts, draft, replay, beyond, measured)
    _judge(draft, replay, beyond, measured)


def _steps(
    facts: Facts,
    draft: Draft,
    replay: _Replay,
    beyond: _Beyond,
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


def _window_step(replay: _Replay) -> str:
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
    replay: _Replay,
    beyond: _Beyond,
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
    replay: _Replay,
    beyond: _Beyond,
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


def unavailable(reason: str) -> Draft:
    """The strategy when the embedding model cannot run here."""
    draft = Draft(
        evidence={"unavailable": reason, "install": INSTALL},
        assumptions=["no projection: the local embedding model is not available"],
        change=[f"install the semantic cache's model and runtime: {INSTALL}"],
        steps=[f"could not load the embedding model: {reason}"],
    )
    draft.judge(Confidence.NONE, "the local embedding model is not available")
    return draft
