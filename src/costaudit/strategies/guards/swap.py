"""Two prompts that differ in one word need a higher similarity."""

from __future__ import annotations

import functools
import re

from costaudit.strategies import _lexicon as lex
from costaudit.strategies.guards._text import _MEMO, _folded
from costaudit.strategies.guards.negation import _stem

_NUMBER_LIKE = re.compile(r"[-+]?\d[\d,_.]*")


@functools.lru_cache(maxsize=_MEMO)
def _content_words(text: str) -> tuple[str, ...]:
    return tuple(w for w in _folded(text) if w not in lex.FUNCTION_WORDS)


def swapped_word(query: str, cached: str) -> tuple[str, str] | None:
    """The one word that differs when everything else is the same, in order.

    "Chemical symbol for gold" and "... for silver" give ("gold",
    "silver"). Words that only hold the sentence together are skipped, so
    "how do I" and "how can I" do not count; another form of the same word
    ("reverse", "reversing") and numbers (NumberGuard's part) do not either.
    """
    a, b = _content_words(query), _content_words(cached)
    if len(a) != len(b) or not a:
        return None
    differ = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    if len(differ) != 1:
        return None
    x, y = differ[0]
    if _stem(x) == _stem(y) or _NUMBER_LIKE.fullmatch(x) or _NUMBER_LIKE.fullmatch(y):
        return None
    return differ[0]


class SwapGuard:
    """Two prompts that differ in one word need a higher similarity.

    When all words but one are shared, the shared words carry the cosine:
    "chemical symbol for gold" and "... for silver" score 0.84 with
    all-MiniLM-L6-v2, above a usual threshold, while a swap for a true
    synonym ("faster" and "quicker", "remove" and "delete") scores 0.95 or
    more. So a one-word swap is vetoed below ``min_similarity``. The value
    came from reading single-word swaps among Quora's question pairs,
    whose synonym swaps mostly score above 0.93 (their duplicate labels
    are too noisy to fit a number to).
    """

    name = "one word"

    def __init__(self, min_similarity: float = 0.93) -> None:
        self.min_similarity = min_similarity

    def check(self, query: str, cached: str) -> str | None:
        """Without a similarity, any one-word swap is a veto."""
        return self.check_scored(query, cached, -1.0)

    def check_scored(self, query: str, cached: str, similarity: float) -> str | None:
        swap = swapped_word(query, cached)
        if swap is None or similarity >= self.min_similarity:
            return None
        return (
            f"only '{swap[0]}' vs '{swap[1]}' differs and similarity "
            f"{similarity:.3f} < {self.min_similarity:.2f}"
        )
