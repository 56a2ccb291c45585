"""Opposite words ask for opposite things."""

from __future__ import annotations

import functools
import itertools

from costaudit.strategies import _lexicon as lex
from costaudit.strategies.guards._text import _MEMO, _folded

_OPPOSITE_OF: dict[str, set[str]] = {}
for _one, _other in lex.OPPOSITES:
    _OPPOSITE_OF.setdefault(_one, set()).add(_other)
    _OPPOSITE_OF.setdefault(_other, set()).add(_one)
_SUFFIXES = ("s", "es", "d", "ed", "ing")


@functools.lru_cache(maxsize=_MEMO)
def _roots(text: str) -> frozenset[str]:
    """Words (and word pairs) of the opposites list, inflections removed."""
    words = _folded(text)
    roots = {f"{x} {y}" for x, y in itertools.pairwise(words)} & _OPPOSITE_OF.keys()
    for word in set(words):
        stems = [word] + [word[: -len(s)] for s in _SUFFIXES if word.endswith(s)]
        for stem in stems:
            roots.update(c for c in (stem, stem + "e") if c in _OPPOSITE_OF)
    return frozenset(roots)


class AntonymGuard:
    """One prompt says "increase", "enable", "ascending", the other the opposite.

    A word both prompts use is ignored, so "enable a disabled account" still
    matches "recover a disabled account".
    """

    name = "opposites"

    def check(self, query: str, cached: str) -> str | None:
        ra, rb = _roots(query), _roots(cached)
        for word in sorted(ra - rb):
            clash = sorted(_OPPOSITE_OF[word] & (rb - ra))
            if clash:
                return f"'{word}' vs '{clash[0]}'"
        return None
