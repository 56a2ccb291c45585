"""What a semantic cache lookup found, and the rule that decides a hit.

:class:`~costaudit.strategies.semantic_cache.SemanticCache` returns a
:class:`Lookup`: the nearest stored prompts as :class:`Candidate` objects,
each with its similarity and any guard's veto, and the :class:`Match` served,
if any. :func:`decide` is the rule that picks it, kept pure so that a
benchmark or the advisor can replay one lookup at many thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from costaudit.strategies.guards import Rejection

__all__ = ["CacheEntry", "Candidate", "Lookup", "Match", "clip", "decide"]

RefT = TypeVar("RefT")


@dataclass(frozen=True)
class CacheEntry(Generic[RefT]):
    """One stored prompt and a reference to its answer (not the answer)."""

    text: str
    answer_ref: RefT
    namespace: str
    added_at: float


@dataclass(frozen=True)
class Candidate(Generic[RefT]):
    """A stored prompt near the looked-up one, and what was decided about it.

    ``rival`` is set when this candidate would have been served but another
    stored prompt with a different answer was within the margin of it.
    """

    entry: CacheEntry[RefT]
    similarity: float
    threshold: float
    rejections: tuple[Rejection, ...] = ()
    expired: bool = False
    rival: CacheEntry[RefT] | None = None
    rival_similarity: float | None = None

    @property
    def accepted(self) -> bool:
        return self.eligible(self.threshold) and self.rival is None

    def eligible(self, threshold: float) -> bool:
        """Close enough at ``threshold`` and not vetoed or expired."""
        return self.similarity >= threshold and not (self.rejections or self.expired)

    @property
    def verdict(self) -> str:
        """One line a report can print next to the pair."""
        if self.expired:
            return "expired"
        parts = []
        if self.similarity < self.threshold:
            parts.append(f"similarity {self.similarity:.3f} < {self.threshold:.3f}")
        parts.extend(str(r) for r in self.rejections)
        if self.rival is not None:
            parts.append(
                f"ambiguous: a prompt with another answer is at "
                f"{self.rival_similarity:.3f} ({clip(self.rival.text)!r})"
            )
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
    #: Similarity of the nearest prompt with another answer, if any.
    runner_up: float | None = None

    @property
    def reason(self) -> str:
        if self.exact:
            return "same text"
        passed = ", ".join(self.guards_passed) or "no guards"
        close = f"similarity {self.similarity:.3f} >= {self.threshold:.3f}"
        reason = f"{close}; passed {passed}"
        if self.runner_up is not None:
            reason += f"; next other answer at {self.runner_up:.3f}"
        return reason


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
        blocked = next((c for c in self.candidates if c.rival is not None), None)
        return f"nearest: {(blocked or self.candidates[0]).verdict}"


def decide(
    candidates: Sequence[Candidate[RefT]], threshold: float, margin: float
) -> tuple[int | None, int | None]:
    """Which candidate to serve, and which rival stopped the best one.

    Returns ``(served, rival)`` as positions in ``candidates`` (nearest
    first); at most one is set. The best candidate is the nearest one at
    or above ``threshold`` that no guard vetoed. It is served unless
    another candidate with a different answer, not vetoed and not expired,
    is within ``margin`` of it, even below the threshold: then the prompt
    is ambiguous. A vetoed candidate is not a rival, since a guard found
    that it asks something else. Pure, so a benchmark can replay one
    lookup at many thresholds.
    """
    best = next((i for i, c in enumerate(candidates) if c.eligible(threshold)), None)
    if best is None:
        return None, None
    chosen = candidates[best]
    for i, other in enumerate(candidates):
        if i == best or other.rejections or other.expired:
            continue
        if other.entry.answer_ref == chosen.entry.answer_ref:
            continue
        if other.similarity >= chosen.similarity - margin:
            return None, i
    return best, None


def clip(text: str, width: int = 60) -> str:
    """``text`` cut to ``width`` characters, with an ellipsis if it was cut."""
    return text if len(text) <= width else text[: width - 1] + "…"
