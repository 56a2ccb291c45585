"""The guard interface: a veto with its reason, and running every guard."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Rejection:
    """One guard's veto of one cached prompt, with the evidence."""

    guard: str
    detail: str

    def __str__(self) -> str:
        return f"{self.guard}: {self.detail}"


class Guard(Protocol):
    """Compares a new prompt with a cached one; returns a reason to refuse."""

    @property
    def name(self) -> str: ...

    def check(self, query: str, cached: str) -> str | None:
        """Why ``cached``'s answer must not serve ``query``, or None."""
        ...


@runtime_checkable
class ScoredGuard(Protocol):
    """A guard whose verdict also depends on how similar the prompts are."""

    @property
    def name(self) -> str: ...

    def check(self, query: str, cached: str) -> str | None: ...

    def check_scored(self, query: str, cached: str, similarity: float) -> str | None:
        """Why ``cached``'s answer must not serve ``query`` at this cosine."""
        ...


def run_guards(
    guards: Iterable[Guard],
    query: str,
    cached: str,
    similarity: float | None = None,
) -> tuple[Rejection, ...]:
    """Run every guard, not only up to the first veto, so reports show all.

    ``similarity`` goes to the guards that weigh it (:class:`ScoredGuard`);
    without it they judge as strictly as they can.
    """
    found = []
    for guard in guards:
        # getattr, not isinstance: a runtime Protocol check costs more than
        # most guards (this runs for every candidate of every lookup).
        scored = None if similarity is None else getattr(guard, "check_scored", None)
        if scored is not None:
            detail = scored(query, cached, similarity)
        else:
            detail = guard.check(query, cached)
        if detail is not None:
            found.append(Rejection(guard.name, detail))
    return tuple(found)
