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

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal

import numpy as np
from numpy.typing import NDArray

from costaudit.analysis.advisor import exact_cache, wrong_hits
from costaudit.analysis.advisor.facts import Facts
from costaudit.analysis.advisor.history import Row
from costaudit.analysis.advisor.model import Confidence, Draft
from costaudit.analysis.advisor.semantic_writeup import (
    SHOWN_PAIRS,
    Hit,
    Pair,
    Replay,
    describe,
    project,
)
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

EmbedderFactory = Callable[[], Embedder]


class _Clock:
    """The replay's time, which the cache reads for its time to live."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


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
    replay = Replay(timings={"load_model_s": loaded})
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
    beyond = project(facts, draft, replay, measured.rate or Decimal(0))
    describe(facts, draft, replay, beyond, measured, embedder.name)
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


def _namespaces(facts: Facts, rows: list[Row], replay: Replay) -> list[str]:
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
    embedder: Embedder, texts: list[str], needed: set[str], replay: Replay
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


def _replay(facts: Facts, embedder: Embedder, rows: list[Row], replay: Replay) -> None:
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
        replay.hits[row.index] = Hit(match.answer_ref, match.exact, match.similarity)
    replay.timings["replay_s"] = time.perf_counter() - started


def _note(
    found: Lookup[int],
    row: Row,
    replay: Replay,
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
        pair = Pair(match.similarity, found.text, match.cached_text, "accepted", row)
        replay.accepted.offer(pair, threshold)
        return
    if not found.candidates:
        return
    nearest = found.candidates[0]
    if nearest.rejections and nearest.similarity >= threshold:
        pair = Pair(nearest.similarity, found.text, nearest.entry.text,
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
    pair = Pair(nearest.similarity, found.text, nearest.entry.text, nearest.verdict)
    replay.misses.offer(pair, threshold)


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
