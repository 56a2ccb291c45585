"""A count, a sum and an average are different numbers."""

from __future__ import annotations

import functools

from costaudit.strategies import _lexicon as lex
from costaudit.strategies.guards._text import _MEMO, _fmt, _folded


@functools.lru_cache(maxsize=_MEMO)
def _aggregates(text: str) -> frozenset[str]:
    """What the prompt computes over many values: count, sum, average, ..."""
    words = _folded(text)
    found = set()
    for before, word in zip(("", *words), words, strict=False):
        name = lex.AGGREGATE_OF.get(word)
        # "5 min" is five minutes, not a minimum.
        after_number = before[:1].isdigit() or before in lex.NUMBER_WORDS
        if name is not None and not (name in ("min", "max") and after_number):
            found.add(name)
    return frozenset(found)


class AggregateGuard:
    """ "Count orders per customer" and "sum order totals per customer" are
    two queries: a count, a sum, an average, a median, a maximum and a
    minimum are different numbers.

    Vetoes only when both prompts name an aggregate and they differ; a
    prompt that names none ("how many orders") is left to similarity.
    """

    name = "aggregate"

    def check(self, query: str, cached: str) -> str | None:
        a, b = _aggregates(query), _aggregates(cached)
        if a and b and a != b:
            return f"{_fmt(a)} vs {_fmt(b)}"
        return None
