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

Namespaces keep answers from crossing models or system prompts: a cached
answer is only ever served to a prompt sent to the same model with the same
instructions (see :func:`namespace_for`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from costaudit.strategies.embeddings import Embedder
from costaudit.strategies.guards import DEFAULT_GUARDS, Guard, Rejection, run_guards
from costaudit.strategies.vector_index import VectorIndex, make_index

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_CANDIDATES",
    "DEFAULT_THRESHOLD",
    "CacheEntry",
    "Candidate",
    "Lookup",
    "Match",
    "SemanticCache",
    "namespace_for",
]

#: Chosen by measurement with all-MiniLM-L6-v2 and the default guards; see
#: benchmarks/semantic_cache.py for the figures behind it.
DEFAULT_THRESHOLD = 0.85
#: Nearest stored prompts examined per lookup. When the nearest is vetoed
#: (another number, say) the next may still be a true paraphrase.
DEFAULT_CANDIDATES = 4

RefT = TypeVar("RefT")


def namespace_for(model: str, system_prompt: str | None = None) -> str:
    """The namespace of prompts sent to ``model`` under ``system_prompt``.

    The system prompt is hashed so namespaces stay short and a report can
    print them without leaking instructions.
    """
    if not system_prompt:
        return model
    digest = hashlib.sha256(system_prompt.encode("utf-8")).hexdigest()[:16]
    return f"{model}#{digest}"


@dataclass(frozen=True)
class CacheEntry(Generic[RefT]):
    """One stored prompt and a reference to its answer (not the answer)."""

    text: str
    answer_ref: RefT
    namespace: str
    added_at: float


@dataclass(frozen=True)
class Candidate(Generic[RefT]):
    """A stored prompt near the looked-up one, and what was decided about it."""

    entry: CacheEntry[RefT]
    similarity: float
    threshold: float
    rejections: tuple[Rejection, ...] = ()
    expired: bool = False

    @property
    def accepted(self) -> bool:
        return self.similarity >= self.threshold and not (
            self.rejections or self.expired
        )

    @property
    def verdict(self) -> str:
        """One line a report can print next to the pair."""
        if self.expired:
            return "expired"
        parts = []
        if self.similarity < self.threshold:
            parts.append(f"similarity {self.similarity:.3f} < {self.threshold:.3f}")
        parts.extend(str(r) for r in self.rejections)
        return "; ".join(parts) if parts else "accepted"


@dataclass(frozen=True)
class Match(Generic[RefT]):
    """A cache hit: whose answer to serve and why it was judged safe."""

    answer_ref: RefT
    cached_text: str
    similarity: float
    namespace: str
    threshold: float
    guards_passed: tuple[str, ...]
    exact: bool = False

    @property
    def reason(self) -> str:
        if self.exact:
            return "same text"
        passed = ", ".join(self.guards_passed) or "no guards"
        return (
            f"similarity {self.similarity:.3f} >= {self.threshold:.3f}; passed {passed}"
        )


@dataclass(frozen=True)
class Lookup(Generic[RefT]):
    """Everything one lookup found, hit or miss, nearest candidate first."""

    text: str
    namespace: str
    match: Match[RefT] | None
    candidates: tuple[Candidate[RefT], ...]

    @property
    def hit(self) -> bool:
        return self.match is not None

    @property
    def best_similarity(self) -> float | None:
        """Similarity of the nearest stored prompt, even on a miss."""
        return self.candidates[0].similarity if self.candidates else None

    @property
    def reason(self) -> str:
        if self.match is not None:
            return self.match.reason
        if not self.candidates:
            return "nothing cached in this namespace"
        return f"nearest: {self.candidates[0].verdict}"


@dataclass
class _Namespace(Generic[RefT]):
    index: VectorIndex
    entries: list[CacheEntry[RefT]] = field(default_factory=list)
    by_text: dict[str, int] = field(default_factory=dict)


class SemanticCache(Generic[RefT]):
    """Prompt-to-answer cache keyed by meaning, one index per namespace.

    ``answer_ref`` is whatever identifies a stored answer for the caller: a
    call id in the ledger for the advisor, a key in a response store for a
    gateway. Entries older than ``ttl_seconds`` are never served; they stay
    in the index (an exact index cannot cheaply drop rows) and show up in a
    lookup's candidates as expired. Safe to share between threads.
    """

    def __init__(
        self,
        embedder: Embedder,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        guards: Sequence[Guard] = DEFAULT_GUARDS,
        candidates: int = DEFAULT_CANDIDATES,
        ttl_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
        index_factory: Callable[[int], VectorIndex] = make_index,
    ) -> None:
        if not -1.0 <= threshold <= 1.0:
            raise ValueError(f"threshold is a cosine, -1..1; got {threshold}")
        if candidates < 1:
            raise ValueError(f"candidates must be at least 1, got {candidates}")
        if ttl_seconds is not None and ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive, got {ttl_seconds}")
        self.embedder = embedder
        self.threshold = threshold
        self.guards = tuple(guards)
        self.candidates = candidates
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._index_factory = index_factory
        self._spaces: dict[str, _Namespace[RefT]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return sum(len(space.entries) for space in self._spaces.values())

    def namespaces(self) -> list[str]:
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
        """Store several prompts at once; ``vectors`` skips embedding them."""
        if len(texts) != len(answer_refs):
            raise ValueError(f"{len(texts)} texts but {len(answer_refs)} answer_refs")
        if vectors is None:
            vectors = self.embedder.embed(texts)
        self._check_shape(vectors, len(texts))

        now = self._clock()
        with self._lock:
            space = self._space(namespace)
            space.index.add(vectors)
            for text, ref in zip(texts, answer_refs, strict=True):
                space.by_text[_exact_key(text)] = len(space.entries)
                space.entries.append(CacheEntry(text, ref, namespace, now))

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
        space = self._spaces.get(namespace)
        if space is None or not space.entries:
            return Lookup(text, namespace, None, ())

        exact = self._exact(space, text)
        if exact is not None:
            return exact

        if vector is None:
            vector = self.embedder.embed([text])[0]
        self._check_shape(vector.reshape(1, -1), 1)
        with self._lock:
            scores, ids = space.index.search(vector, self.candidates)
            pairs = zip(scores, ids, strict=True)
            found = [(float(s), space.entries[int(i)]) for s, i in pairs]

        now = self._clock()
        judged = tuple(self._judge(text, entry, score, now) for score, entry in found)
        match = next((c for c in judged if c.accepted), None)
        if match is None:
            return Lookup(text, namespace, None, judged)
        return Lookup(text, namespace, self._match(match), judged)

    def _exact(self, space: _Namespace[RefT], text: str) -> Lookup[RefT] | None:
        """Serve an identical prompt without embedding it (a few ms saved)."""
        position = space.by_text.get(_exact_key(text))
        if position is None:
            return None
        entry = space.entries[position]
        if self._expired(entry, self._clock()):
            return None  # the search below reports it as an expired candidate
        match = Match(
            entry.answer_ref, entry.text, 1.0, entry.namespace, self.threshold, (), True
        )
        return Lookup(
            text, entry.namespace, match, (Candidate(entry, 1.0, self.threshold),)
        )

    def _judge(
        self, text: str, entry: CacheEntry[RefT], similarity: float, now: float
    ) -> Candidate[RefT]:
        expired = self._expired(entry, now)
        rejections: tuple[Rejection, ...] = ()
        # Guards only decide between candidates that similarity would serve;
        # below the threshold they would cost time and change nothing.
        if similarity >= self.threshold and not expired:
            rejections = run_guards(self.guards, text, entry.text)
        return Candidate(entry, similarity, self.threshold, rejections, expired)

    def _match(self, candidate: Candidate[RefT]) -> Match[RefT]:
        entry = candidate.entry
        return Match(
            answer_ref=entry.answer_ref,
            cached_text=entry.text,
            similarity=candidate.similarity,
            namespace=entry.namespace,
            threshold=self.threshold,
            guards_passed=tuple(g.name for g in self.guards),
        )

    def _expired(self, entry: CacheEntry[RefT], now: float) -> bool:
        return self.ttl_seconds is not None and now - entry.added_at > self.ttl_seconds

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


def _exact_key(text: str) -> str:
    """Identical up to spacing; case is kept, since `Foo` and `foo` differ."""
    return " ".join(text.split())
