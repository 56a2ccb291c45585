"""Cache paraphrases: replay the history through the semantic cache.

The cache is the one a live gateway uses (:mod:`costaudit.strategies.
semantic_cache`), with its threshold and guards. Prompts are embedded once
each, in batches, before the replay; the replay then looks each record up
at its start time and stores it on a miss, like the exact cache. Prompts
that can go stale are left out the same way.

A hit just above the threshold may be a wrong answer served; those pairs,
and the vetoed and missed ones just around the threshold, are listed so a
person can judge them.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray

from costaudit.analysis.advisor.exact_cache import first_call_cost
from costaudit.analysis.advisor.facts import Facts
from costaudit.analysis.advisor.history import Row
from costaudit.analysis.advisor.model import Confidence, Draft, clip, percent, usd
from costaudit.strategies.embeddings import Embedder, EmbeddingModelError
from costaudit.strategies.semantic_cache import Lookup, SemanticCache, namespace_for

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

    def document(self) -> dict[str, object]:
        return {
            "similarity": round(self.similarity, 4),
            "prompt": clip(self.prompt),
            "cached_prompt": clip(self.cached),
            "verdict": self.verdict,
        }


class _Nearest:
    """The few pairs nearest the threshold, kept in a bounded heap."""

    def __init__(self, size: int = SHOWN_PAIRS) -> None:
        self.size = size
        self._heap: list[tuple[float, int, _Pair]] = []
        self._seen = 0

    def offer(
        self, similarity: float, threshold: float, texts: tuple[str, str], verdict: str
    ) -> None:
        distance = abs(similarity - threshold)
        if distance > _NEAR:
            return
        self._seen += 1
        # The heap's top is the farthest kept pair, dropped first.
        item = (-distance, self._seen, _Pair(similarity, *texts, verdict))
        if len(self._heap) < self.size:
            heapq.heappush(self._heap, item)
        elif item > self._heap[0]:
            heapq.heapreplace(self._heap, item)

    def pairs(self) -> list[_Pair]:
        return [pair for _, _, pair in sorted(self._heap, reverse=True)]


@dataclass
class _Replay:
    lookups: int = 0
    exact_hits: int = 0
    paraphrase_hits: int = 0
    paraphrase_usd: Decimal = Decimal(0)
    borderline_hits: int = 0
    hits: _Nearest = field(default_factory=_Nearest)
    misses: _Nearest = field(default_factory=_Nearest)
    vetoed: int = 0
    vetoed_pairs: list[_Pair] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def analyse(facts: Facts, make_embedder: EmbedderFactory) -> Draft:
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
    draft = Draft()
    _replay(facts, embedder, rows, replay, draft)
    _describe(facts, draft, replay, embedder.name)
    draft.timings = replay.timings
    return draft


class _Periods:
    """Semantic caches by period of one time to live.

    A lookup can only be served by an entry stored less than a time to live
    ago: one of its own period or of the period before. Older periods are
    dropped, so each search scans days of prompts, not the whole history,
    and the replay stays linear in the number of records.
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
        found: list[Lookup[int]] = []
        for p in (period, period - 1):
            if p in self.caches:
                found.append(self.caches[p].probe(text, namespace=space, vector=vector))
                if found[-1].match is not None and found[-1].match.exact:
                    # Nothing beats the same text: skip the older period.
                    return found[-1]
        ranked = [(m.exact, m.similarity, f) for f in found if (m := f.match)]
        if ranked:
            return max(ranked, key=lambda item: item[:2])[2]
        candidates = sorted(
            (c for f in found for c in f.candidates), key=lambda c: -c.similarity
        )
        return Lookup(text, space, None, tuple(candidates))

    def add(
        self, text: str, ref: int, space: str, vector: NDArray[np.float32], epoch: float
    ) -> None:
        period = int(epoch // self.ttl)
        cache = self.caches.setdefault(period, self.make())
        cache.add(text, ref, namespace=space, vector=vector)


def _replay(
    facts: Facts, embedder: Embedder, rows: list[Row], replay: _Replay, draft: Draft
) -> None:
    settings = facts.settings
    texts = sorted({r.first_prompt or "" for r in rows})
    started = time.perf_counter()
    vectors = embedder.embed(texts)
    replay.timings["embed_s"] = time.perf_counter() - started
    replay.timings["embedded"] = float(len(texts))
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
    for row in rows:
        text = row.first_prompt or ""
        clock.now = row.epoch
        space = namespace_for(row.model, facts.history.system_prompt(row))
        vector = vectors[position[text]]
        found = periods.probe(text, space, vector, row.epoch)
        replay.lookups += 1
        _note(found, replay, settings.semantic_threshold, settings.borderline_margin)
        if found.match is None:
            periods.add(text, row.index, space, vector, row.epoch)
            continue
        saved = first_call_cost(row)
        draft.projected[row.index] = (row.cost or Decimal(0)) - saved
        if not found.match.exact:
            replay.paraphrase_usd += saved
    replay.timings["replay_s"] = time.perf_counter() - started


def _note(found: Lookup[int], replay: _Replay, threshold: float, margin: float) -> None:
    """Count the lookup and keep it if it sits near the threshold."""
    match = found.match
    if match is not None and match.exact:
        replay.exact_hits += 1
        return
    if match is not None:
        replay.paraphrase_hits += 1
        if match.similarity < threshold + margin:
            replay.borderline_hits += 1
        texts = (found.text, match.cached_text)
        replay.hits.offer(match.similarity, threshold, texts, "accepted")
        return
    if not found.candidates:
        return
    nearest = found.candidates[0]
    if nearest.rejections and nearest.similarity >= threshold:
        replay.vetoed += 1
        if len(replay.vetoed_pairs) < SHOWN_PAIRS:
            replay.vetoed_pairs.append(
                _Pair(nearest.similarity, found.text, nearest.entry.text,
                      nearest.verdict)
            )  # fmt: skip
        return
    texts = (found.text, nearest.entry.text)
    replay.misses.offer(nearest.similarity, threshold, texts, nearest.verdict)


def _evidence(replay: _Replay, model: str, threshold: float) -> dict[str, Any]:
    hits = replay.exact_hits + replay.paraphrase_hits
    return {
        "embedding_model": model,
        "threshold": threshold,
        "lookups": replay.lookups,
        "hits": hits,
        "hit_rate": Decimal(hits) / replay.lookups if replay.lookups else None,
        "exact_hits": replay.exact_hits,
        "paraphrase_hits": replay.paraphrase_hits,
        "paraphrase_savings_usd": replay.paraphrase_usd,
        "possible_wrong_hits": replay.borderline_hits,
        "vetoed_by_guards": replay.vetoed,
        "hits_nearest_threshold": [p.document() for p in replay.hits.pairs()],
        "misses_nearest_threshold": [p.document() for p in replay.misses.pairs()],
        "vetoed_pairs": [p.document() for p in replay.vetoed_pairs],
    }


def _describe(facts: Facts, draft: Draft, replay: _Replay, model: str) -> None:
    settings = facts.settings
    threshold, margin = settings.semantic_threshold, settings.borderline_margin
    draft.evidence = _evidence(replay, model, threshold)
    hits, rate = draft.evidence["hits"], draft.evidence["hit_rate"]
    draft.steps += [
        f"embedded {int(replay.timings.get('embedded', 0)):,} distinct prompts "
        f"with {model}; replayed {replay.lookups:,} cacheable records in time "
        f"order (threshold {threshold:.3f}, answers kept "
        f"{settings.cache_ttl_seconds:,.0f} s, one namespace per model and "
        "system prompt)",
        f"{hits:,} hits ({percent(rate)}): {replay.exact_hits:,} same text, "
        f"{replay.paraphrase_hits:,} paraphrases worth {usd(replay.paraphrase_usd)}",
        f"{replay.borderline_hits:,} paraphrase hits lie within {margin} of the "
        f"threshold: possible wrong answers; {replay.vetoed:,} pairs above it "
        "were vetoed by the guards (numbers, names, order, negation, opposites)",
    ]
    draft.change.append(
        f"put a semantic cache (threshold {threshold:.2f}, with guards) behind the "
        "exact cache for the same tasks; review the pairs nearest the threshold "
        "below before raising or lowering it"
    )
    draft.assumptions = [
        "a paraphrase above the threshold that passes the guards wants the same "
        "answer; the nearest pairs are listed to check that",
        f"{replay.borderline_hits:,} hits within {margin} of the threshold are "
        "counted as savings but may be wrong answers",
        "a hit answers a session's first call only (as for the exact cache)",
    ]
    doubtful = replay.paraphrase_hits and (
        replay.borderline_hits * 4 > replay.paraphrase_hits
    )
    draft.confidence = Confidence.LOW if doubtful else Confidence.MEDIUM


def unavailable(reason: str) -> Draft:
    """The strategy when the embedding model cannot run here."""
    return Draft(
        evidence={"unavailable": reason, "install": INSTALL},
        assumptions=["no projection: the local embedding model is not available"],
        confidence=Confidence.NONE,
        change=[f"install the semantic cache's model and runtime: {INSTALL}"],
        steps=[f"could not load the embedding model: {reason}"],
    )
