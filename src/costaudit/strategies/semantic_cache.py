"""Semantic cache: answer a prompt with the stored answer to a paraphrase.

An agent that asks "how do I convert 5 km to miles" after "convert five
kilometres to miles" pays twice for the same answer. The cache embeds each
prompt, finds the nearest stored prompt in the same namespace, and serves
its answer when two things hold: the cosine similarity reaches the
threshold, and no guard (:mod:`costaudit.strategies.guards`) finds a
difference that similarity blurs, such as another number, name, direction
or a negation.

The same object serves two callers. The advisor replays recorded prompts in
order to count how many a cache would have answered; a gateway calls it
live on each request. Both get a :class:`Lookup` that keeps the nearest
candidates with their similarity and any guard's veto, so a report can show
why a prompt hit or missed and which pairs sit next to the threshold.

Similarity alone is not enough when two stored prompts with different
answers sit about equally close to a new one: the cache cannot tell which
the user means, and picking the nearer is a coin toss. The best candidate
must beat every other candidate that no guard vetoed by ``margin``, or the
lookup is a miss.

Namespaces keep answers from crossing models or system prompts: a cached
answer is only ever served to a prompt sent to the same model with the same
instructions (see :func:`namespace_for`, which ignores the date and session
lines agents write into a system prompt). For a live gateway the cache can
hold at most ``max_entries`` prompts, evicting the least recently used, and
:meth:`SemanticCache.prune` drops entries past their time to live.

An embedding model reads a prompt only up to its window (256 tokens for
all-MiniLM-L6-v2): two long prompts that differ after that point get the
same vector. When the embedder says where its window ends
(:class:`~costaudit.strategies.embeddings.WindowedEmbedder`), a prompt that
does not fit is only ever served the answer to the same text; every other
candidate is refused as too long to compare.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Generic

import numpy as np
from numpy.typing import NDArray

from costaudit.strategies.cache_key import stable_system_prompt
from costaudit.strategies.embeddings import Embedder, WindowedEmbedder
from costaudit.strategies.guards import DEFAULT_GUARDS, Guard, Rejection, run_guards
from costaudit.strategies.semantic_match import (
    CacheEntry,
    Candidate,
    Lookup,
    Match,
    RefT,
    decide,
)
from costaudit.strategies.vector_index import VectorIndex, make_index

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_CANDIDATES",
    "DEFAULT_MARGIN",
    "DEFAULT_THRESHOLD",
    "TOO_LONG",
    "CacheEntry",
    "Candidate",
    "Lookup",
    "Match",
    "SemanticCache",
    "decide",
    "namespace_for",
]

#: Chosen with all-MiniLM-L6-v2, the default guards and DEFAULT_MARGIN by
#: cross-validation on GPTCache's public pairs; benchmarks/semantic_cache.py
#: prints the figures behind it and re-runs the choice.
DEFAULT_THRESHOLD = 0.80
#: How far the served prompt must be ahead of the nearest prompt with
#: another answer. Chosen with DEFAULT_THRESHOLD.
DEFAULT_MARGIN = 0.02
#: Nearest stored prompts examined per lookup. When the nearest is vetoed
#: (another number, say) the next may still be a true paraphrase, and the
#: margin needs the runner-up.
DEFAULT_CANDIDATES = 4
#: The name under which a candidate is refused because a prompt is longer
#: than the embedder reads (see the module docstring).
TOO_LONG = "length"
#: Texts whose "too long" verdict each cache remembers.
_WINDOW_MEMO = 8192

_Key = tuple[str, int]


def namespace_for(
    model: str, system_prompt: str | None = None, *, keep_volatile_lines: bool = False
) -> str:
    """The namespace of prompts sent to ``model`` under ``system_prompt``.

    Agents write the date, and sometimes a session id, into the system
    prompt; keyed on it as sent, a paraphrase asked tomorrow would never
    meet today's answer. So the date and session lines are masked first
    (:func:`~costaudit.strategies.cache_key.stable_system_prompt`, as the
    exact cache's key does), unless ``keep_volatile_lines``. Masking twice
    changes nothing, so a caller that already masked gets the same
    namespace. The result is hashed so namespaces stay short and a report
    can print them without leaking instructions.
    """
    if not system_prompt:
        return model
    if not keep_volatile_lines:
        system_prompt = stable_system_prompt(system_prompt).text
    digest = hashlib.sha256(system_prompt.encode("utf-8")).hexdigest()[:16]
    return f"{model}#{digest}"


@dataclass
class _Namespace(Generic[RefT]):
    index: VectorIndex
    entries: dict[int, CacheEntry[RefT]] = field(default_factory=dict)
    by_text: dict[str, int] = field(default_factory=dict)


class _Window:
    """Which prompts are longer than the embedder reads, remembered per text.

    Such a prompt's vector stands for its first few hundred tokens only, so
    its similarity says nothing about the rest: it may be served only the
    answer to the same text. An embedder that does not say where its window
    ends is taken to read every prompt whole.
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder: WindowedEmbedder | None = None
        self.max_tokens: int | None = None
        if isinstance(embedder, WindowedEmbedder):
            self.embedder = embedder
            self.max_tokens = embedder.max_tokens
        self._seen: OrderedDict[str, bool] = OrderedDict()
        self._lock = threading.Lock()

    def refusal(self, query: str, cached: str) -> Rejection | None:
        """Why ``cached`` cannot be compared with ``query``, or None."""
        if self.max_tokens is None or _exact_key(query) == _exact_key(cached):
            return None
        long_query, long_cached = self.too_long(query), self.too_long(cached)
        if not (long_query or long_cached):
            return None
        which = {
            (True, True): "both prompts are",
            (True, False): "the new prompt is",
            (False, True): "the cached prompt is",
        }[(long_query, long_cached)]
        return Rejection(
            TOO_LONG,
            f"too long to compare: {which} over {self.max_tokens} tokens, all "
            "the embedding reads, so a difference after that is invisible",
        )

    def too_long(self, text: str) -> bool:
        with self._lock:
            known = self._seen.get(text)
            if known is not None:
                self._seen.move_to_end(text)
                return known
        assert self.embedder is not None
        found = bool(self.embedder.truncated([text])[0])
        with self._lock:
            self._seen[text] = found
            if len(self._seen) > _WINDOW_MEMO:
                self._seen.popitem(last=False)
        return found


class SemanticCache(Generic[RefT]):
    """Prompt-to-answer cache keyed by meaning, one index per namespace.

    ``answer_ref`` is whatever identifies a stored answer for the caller: a
    call id in the ledger for the advisor, a key in a response store for a
    gateway. Entries older than ``ttl_seconds`` are never served; they show
    up in a lookup's candidates as expired until :meth:`prune` drops them,
    which also happens whenever the cache is full. With ``max_entries``
    the cache never holds more prompts than that across all namespaces:
    adding one more evicts the least recently used (served or added).
    With an embedder that reads only so many tokens, a longer prompt is
    served only the answer to the same text. Safe to share between threads.
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        margin: float = DEFAULT_MARGIN,
        guards: Sequence[Guard] = DEFAULT_GUARDS,
        candidates: int = DEFAULT_CANDIDATES,
        ttl_seconds: float | None = None,
        max_entries: int | None = None,
        clock: Callable[[], float] = time.time,
        index_factory: Callable[[int], VectorIndex] = make_index,
    ) -> None:
        _check_settings(threshold, margin, candidates, ttl_seconds, max_entries)
        self.embedder = embedder
        self.threshold = threshold
        self.margin = margin
        self.guards = tuple(guards)
        self.candidates = candidates
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._index_factory = index_factory
        self._window = _Window(embedder)
        self._spaces: dict[str, _Namespace[RefT]] = {}
        # Least recently used first; a hit or an add moves an entry last.
        self._recency: OrderedDict[_Key, None] = OrderedDict()
        # Oldest first, so expired entries are found without a full scan.
        self._by_age: OrderedDict[_Key, float] = OrderedDict()
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._recency)

    def namespaces(self) -> list[str]:
        with self._lock:
            return sorted(self._spaces)

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Embed in one batch, for callers that replay history in bulk."""
        return self.embedder.embed(texts)

    def add(
        self,
        text: str,
        answer_ref: RefT,
        *,
        namespace: str,
        vector: NDArray[np.float32] | None = None,
    ) -> None:
        """Store ``text``; a later paraphrase in ``namespace`` gets its answer."""
        vectors = None if vector is None else vector.reshape(1, -1)
        self.add_many([text], [answer_ref], namespace=namespace, vectors=vectors)

    def add_many(
        self,
        texts: Sequence[str],
        answer_refs: Sequence[RefT],
        *,
        namespace: str,
        vectors: NDArray[np.float32] | None = None,
    ) -> None:
        """Store several prompts at once; ``vectors`` skips embedding them.

        A prompt stored again keeps its earlier entry too: the same text
        then serves the newest answer, while a paraphrase of it finds two
        answers equally close and misses, since the cache cannot know
        which one is current. A gateway stores a prompt only after a miss,
        so this happens when an entry expired or two requests raced.
        """
        if len(texts) != len(answer_refs):
            raise ValueError(f"{len(texts)} texts but {len(answer_refs)} answer_refs")
        if vectors is None:
            vectors = self.embedder.embed(texts)
        self._check_shape(vectors, len(texts))

        now = self._clock()
        with self._lock:
            space = self._space(namespace)
            ids = space.index.add(vectors)
            for text, ref, id_ in zip(texts, answer_refs, ids.tolist(), strict=True):
                space.entries[id_] = CacheEntry(text, ref, namespace, now)
                space.by_text[_exact_key(text)] = id_
                self._recency[(namespace, id_)] = None
                self._by_age[(namespace, id_)] = now
            self._shrink()

    def prune(self) -> int:
        """Drop every entry past its time to live; return how many."""
        if self.ttl_seconds is None:
            return 0
        with self._lock:
            limit = self._clock() - self.ttl_seconds
            dropped = 0
            while self._by_age:
                key, added_at = next(iter(self._by_age.items()))
                if added_at >= limit:
                    break
                self._remove(key)
                dropped += 1
        if dropped:
            logger.debug("pruned %d expired semantic cache entries", dropped)
        return dropped

    def lookup(
        self,
        text: str,
        *,
        namespace: str,
        vector: NDArray[np.float32] | None = None,
    ) -> Match[RefT] | None:
        """The answer to serve for ``text``, or None on a miss."""
        return self.probe(text, namespace=namespace, vector=vector).match

    def probe(
        self,
        text: str,
        *,
        namespace: str,
        vector: NDArray[np.float32] | None = None,
    ) -> Lookup[RefT]:
        """Like :meth:`lookup`, keeping the candidates and every verdict."""
        exact = self.exact(text, namespace=namespace)
        if exact is not None:
            return exact
        judged = self.nearest(text, namespace=namespace, vector=vector)
        found = self.settle(text, namespace, judged)
        if found.match is not None:
            served = next(c for c in found.candidates if c.accepted)
            with self._lock:
                self._touch_entry(served.entry)
        return found

    def exact(self, text: str, *, namespace: str) -> Lookup[RefT] | None:
        """Serve an identical prompt without embedding it (a few ms saved).

        None when no live entry has the same text, up to spacing.
        """
        with self._lock:
            space = self._spaces.get(namespace)
            id_ = None if space is None else space.by_text.get(_exact_key(text))
            if space is None or id_ is None:
                return None
            entry = space.entries[id_]
            if self._expired(entry, self._clock()):
                return None  # the search reports it as an expired candidate
            self._touch((namespace, id_))
        match = Match(
            entry.answer_ref,
            entry.text,
            1.0,
            entry.namespace,
            self.threshold,
            guards_passed=(),
            exact=True,
        )
        return Lookup(
            text, entry.namespace, match, (Candidate(entry, 1.0, self.threshold),)
        )

    def nearest(
        self,
        text: str,
        *,
        namespace: str,
        vector: NDArray[np.float32] | None = None,
    ) -> list[Candidate[RefT]]:
        """The stored prompts nearest ``text``, each judged but none chosen.

        Each candidate carries its similarity, the guards' vetoes and
        whether it expired; :meth:`settle` then chooses. A caller that
        keeps several caches (one per period, say) pools their candidates
        and settles once, so the margin rule sees every rival.
        """
        with self._lock:
            if namespace not in self._spaces:
                return []
        if vector is None:
            vector = self.embedder.embed([text])[0]
        self._check_shape(vector.reshape(1, -1), 1)
        with self._lock:
            space = self._spaces.get(namespace)
            if space is None:
                return []
            scores, ids = space.index.search(vector, self.candidates)
            found = [
                (float(s), space.entries[i])
                for s, i in zip(scores.tolist(), ids.tolist(), strict=True)
            ]
        now = self._clock()
        return [self._judge(text, entry, score, now) for score, entry in found]

    def settle(
        self, text: str, namespace: str, candidates: Sequence[Candidate[RefT]]
    ) -> Lookup[RefT]:
        """Choose among judged candidates, as every lookup does.

        The nearest :attr:`candidates` are kept, nearest first, and
        :func:`decide` picks the one to serve, if any. Pure: nothing in the
        cache changes, so candidates from several caches can be settled here.
        """
        judged = sorted(candidates, key=lambda c: -c.similarity)[: self.candidates]
        served, rival = decide(judged, self.threshold, self.margin)
        if served is None:
            if rival is not None:
                _mark_ambiguous(judged, rival, self.threshold)
            return Lookup(text, namespace, None, tuple(judged))
        match = self._match(judged, served)
        return Lookup(text, namespace, match, tuple(judged))

    def _judge(
        self, text: str, entry: CacheEntry[RefT], similarity: float, now: float
    ) -> Candidate[RefT]:
        expired = self._expired(entry, now)
        rejections: tuple[Rejection, ...] = ()
        # Guards only matter for candidates that could be served or could
        # stand in the way of one; further down they would cost time and
        # change nothing.
        if similarity >= self.threshold - self.margin and not expired:
            rejections = run_guards(self.guards, text, entry.text, similarity)
            too_long = self._window.refusal(text, entry.text)
            if too_long is not None:
                rejections = (too_long, *rejections)
        return Candidate(entry, similarity, self.threshold, rejections, expired)

    def _match(self, judged: list[Candidate[RefT]], served: int) -> Match[RefT]:
        chosen = judged[served]
        others = [
            c.similarity
            for c in judged
            if c.entry.answer_ref != chosen.entry.answer_ref
            and not (c.rejections or c.expired)
        ]
        return Match(
            answer_ref=chosen.entry.answer_ref,
            cached_text=chosen.entry.text,
            similarity=chosen.similarity,
            namespace=chosen.entry.namespace,
            threshold=self.threshold,
            guards_passed=tuple(g.name for g in self.guards),
            runner_up=max(others, default=None),
        )

    def _expired(self, entry: CacheEntry[RefT], now: float) -> bool:
        return self.ttl_seconds is not None and now - entry.added_at > self.ttl_seconds

    def _touch(self, key: _Key) -> None:
        if key in self._recency:
            self._recency.move_to_end(key)

    def _touch_entry(self, entry: CacheEntry[RefT]) -> None:
        """Mark a served entry as used, if it is still stored.

        Found through its text: an older entry with the same text as a newer
        one is not touched, as the newer one serves that text from now on.
        """
        space = self._spaces.get(entry.namespace)
        if space is None:
            return
        id_ = space.by_text.get(_exact_key(entry.text))
        if id_ is not None and space.entries[id_] is entry:
            self._touch((entry.namespace, id_))

    def _shrink(self) -> None:
        """Keep within max_entries: expired entries go first, then the LRU."""
        if self.max_entries is None or len(self._recency) <= self.max_entries:
            return
        self.prune()
        evicted = 0
        while len(self._recency) > self.max_entries:
            self._remove(next(iter(self._recency)))
            evicted += 1
        if evicted:
            logger.debug("evicted %d least recently used entries", evicted)

    def _remove(self, key: _Key) -> None:
        namespace, id_ = key
        space = self._spaces[namespace]
        entry = space.entries.pop(id_)
        space.index.remove([id_])
        exact = _exact_key(entry.text)
        if space.by_text.get(exact) == id_:
            del space.by_text[exact]
        del self._recency[key]
        del self._by_age[key]
        if not space.entries:
            del self._spaces[namespace]

    def _space(self, namespace: str) -> _Namespace[RefT]:
        space = self._spaces.get(namespace)
        if space is None:
            space = _Namespace(self._index_factory(self.embedder.dim))
            self._spaces[namespace] = space
            logger.debug("new semantic cache namespace %r", namespace)
        return space

    def _check_shape(self, vectors: NDArray[np.float32], rows: int) -> None:
        if vectors.shape != (rows, self.embedder.dim):
            raise ValueError(
                f"expected vectors of shape ({rows}, {self.embedder.dim}), "
                f"got {vectors.shape}"
            )


def _check_settings(
    threshold: float,
    margin: float,
    candidates: int,
    ttl_seconds: float | None,
    max_entries: int | None,
) -> None:
    if not -1.0 <= threshold <= 1.0:
        raise ValueError(f"threshold is a cosine, -1..1; got {threshold}")
    if not 0.0 <= margin <= 2.0:
        raise ValueError(f"margin is a cosine difference, 0..2; got {margin}")
    if candidates < 1:
        raise ValueError(f"candidates must be at least 1, got {candidates}")
    if ttl_seconds is not None and ttl_seconds <= 0:
        raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
    if max_entries is not None and max_entries < 1:
        raise ValueError(f"max_entries must be at least 1, got {max_entries}")


def _mark_ambiguous(
    judged: list[Candidate[RefT]], rival: int, threshold: float
) -> None:
    """Record on the candidate that would have been served what stopped it."""
    best = next(i for i, c in enumerate(judged) if c.eligible(threshold))
    judged[best] = replace(
        judged[best],
        rival=judged[rival].entry,
        rival_similarity=judged[rival].similarity,
    )


def _exact_key(text: str) -> str:
    """Identical up to spacing; case is kept, since `Foo` and `foo` differ."""
    return " ".join(text.split())
