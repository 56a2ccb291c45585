"""A negated request is another request."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from costaudit.strategies import _lexicon as lex
from costaudit.strategies.guards._text import (
    _MEMO,
    _WORD,
    _fold,
    _folded,
    _is_sentence_start,
    _plain,
)

_CONTRACTED = re.compile(r"\w+n't|can't|won't")
# A negation reaches no further than its clause.
_CLAUSE_END = re.compile(r"[.,;:!?()\n]")
_LOOKAHEAD = 4


@dataclass(frozen=True)
class _Negation:
    word: str
    #: The word it negates ("contain" in "don't contain gluten"), or "" when
    #: none follows in its clause.
    target: str


def _stem(word: str) -> str:
    """Crude English stem, enough to see "contains" in "containing"."""
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@functools.lru_cache(maxsize=_MEMO)
def _stems(text: str) -> frozenset[str]:
    return frozenset(_stem(w) for w in _folded(text))


def _negated_word(text: str, words: list[re.Match[str]], k: int) -> str:
    """The first word after negation ``k`` that carries meaning, if any."""
    for m in words[k + 1 : k + 1 + _LOOKAHEAD]:
        if _CLAUSE_END.search(text, words[k].end(), m.start()):
            break
        word = _fold(m.group())
        if word and word not in lex.COMMON and word not in lex.NEGATION_SKIP:
            return word
    return ""


@functools.lru_cache(maxsize=_MEMO)
def _negations(text: str) -> tuple[_Negation, ...]:
    text = _plain(text)
    words = list(_WORD.finditer(text))
    found = []
    for k, m in enumerate(words):
        word = _fold(m.group())
        if not (word in lex.NEGATIONS or _CONTRACTED.fullmatch(word)):
            continue
        before = _fold(words[k - 1].group()) if k else ""
        after = _fold(words[k + 1].group()) if k + 1 < len(words) else ""
        # "No, ..." opening an answer, "why not", "or not", "not only X but
        # also Y", "if no": none of them negates the question.
        reply = word == "no" and text[m.end() : m.end() + 1] in (",", "!", ".")
        if reply and _is_sentence_start(text, m.start()):
            continue
        idiom = before in ("why", "or", "if") or after == "only"
        if word in ("not", "no") and idiom:
            continue
        found.append(_Negation(word, _negated_word(text, words, k)))
    return tuple(found)


class NegationGuard:
    """ "Is X safe" and "is X not safe" want opposite answers.

    Compares whether each side is negated at all, not how: "doesn't work"
    and "does not work" agree, and so do two prompts that each say "not".
    When only one side is negated, the veto needs the negated word on the
    other side too ("don't *contain* gluten" vs "contain gluten"): a
    negation whose word the other prompt never uses is usually that word's
    opposite said another way ("not mandatory" for "optional", "not clear"
    for "uncertain"), and similarity judges those pairs well enough.
    """

    name = "negation"

    def check(self, query: str, cached: str) -> str | None:
        a, b = _negations(query), _negations(cached)
        if bool(a) == bool(b):
            return None
        negated, other, side = (a, cached, "new") if a else (b, query, "cached")
        present = _stems(other)
        for negation in negated:
            if not negation.target or _stem(negation.target) in present:
                said = f"{negation.word} {negation.target}".strip()
                return f"only the {side} prompt is negated ('{said}')"
        return None
