"""Order and direction must agree: "km to miles" is not "miles to km"."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from costaudit.strategies import _lexicon as lex
from costaudit.strategies.guards._text import _MEMO, _NUMERAL, _folded

_STOP = lex.COMMON - lex.ROLE_WORDS
_DIRECTED = frozenset(("to", "into", "onto", "than", "from", "before", "after"))
_SYMMETRIC = frozenset(("and", "or", "vs", "versus", "&", "between"))
_COMPARATIVE = re.compile(r"\w+er|better|worse|rather")


def _content(words: Sequence[str]) -> list[tuple[int, str]]:
    """Positions and canonical forms of the words that carry meaning."""
    return [
        (i, lex.UNIT_OF.get(w, w) if len(w) > 1 else w)
        for i, w in enumerate(words)
        if w not in _STOP and w not in _SYMMETRIC and not _NUMERAL.fullmatch(w)
    ]


# "Out of X" and "away from X" leave X, as "from X" does.
_LEAVING = {("out", "of"), ("away", "from")}


def _leaving(words: Sequence[str]) -> list[str]:
    out: list[str] = []
    for word in words:
        if out and (out[-1], word) in _LEAVING:
            out[-1] = "from"
        else:
            out.append(word)
    return out


def _left_of(words: Sequence[str], content: list[tuple[int, str]], i: int) -> str:
    """What is compared or moved before marker ``i``: "X [faster] than"."""
    left = [(j, w) for j, w in content if j < i]
    if words[i] == "than" and left:
        j, w = left[-1]
        if _COMPARATIVE.fullmatch(w) or words[j - 1 : j] in (["more"], ["less"]):
            left.pop()
    return left[-1][1] if left else ""


@functools.lru_cache(maxsize=_MEMO)
def _directed_pairs(text: str) -> frozenset[tuple[str, str, str]]:
    """(left, marker, right) around "to", "than", ...: ("km", "to", "mile")."""
    words = _leaving(_folded(text))
    content = _content(words)
    pairs = set()
    for i, word in enumerate(words):
        if word not in _DIRECTED:
            continue
        left = _left_of(words, content, i)
        right = next((w for j, w in content if j > i), "")
        if left and right:
            pairs.add((left, word, right))
    route = _route(words, content)
    if route:
        pairs.add((route[0], "from..to", route[1]))
    return frozenset(pairs)


def _route(
    words: Sequence[str], content: list[tuple[int, str]]
) -> tuple[str, str] | None:
    """Source and destination of "from X to Y", in either order of phrases."""
    after: dict[str, str] = {}
    for marker in ("from", "to"):
        at = [i for i, w in enumerate(words) if w == marker]
        if at:
            after[marker] = next((w for j, w in content if j > at[-1]), "")
    source, dest = after.get("from", ""), after.get("to", "")
    return (source, dest) if source and dest and source != dest else None


def _swapped_roles(a: Sequence[str], b: Sequence[str]) -> tuple[str, str] | None:
    """Two words that traded places across a third while the rest stayed.

    "does correlation imply causation" / "does causation imply correlation".
    Neighbours that trade places ("start a business online" / "start an
    online business") usually mean the same and pass, and so do two words
    joined by "and", "or" or "vs".
    """
    ca, cb = _content(a), _content(b)
    sa, sb = [w for _, w in ca], [w for _, w in cb]
    if sorted(sa) != sorted(sb):
        return None
    diff = [k for k in range(len(sa)) if sa[k] != sb[k]]
    if len(diff) != 2 or diff[1] - diff[0] < 2:
        return None
    k1, k2 = diff
    between_a = a[ca[k1][0] + 1 : ca[k2][0]]
    between_b = b[cb[k1][0] + 1 : cb[k2][0]]
    if _SYMMETRIC.intersection(between_a) or _SYMMETRIC.intersection(between_b):
        return None
    return sa[k1], sa[k2]


# "Move files to S3" and "move files from S3" go opposite ways.
_WAY = {"to": "towards", "into": "towards", "onto": "towards", "from": "away"}


class OrderGuard:
    """A question and its reversal are different questions.

    Catches "km to miles" vs "miles to km", "X faster than Y" vs "Y faster
    than X", "from A to B" vs "from B to A", "migrate to X" vs "migrate
    from X", and two words that swapped roles around a third ("does A imply
    B"). "X and Y", "X or Y", "X vs Y" read the same both ways and pass.
    """

    name = "order"

    def check(self, query: str, cached: str) -> str | None:
        pa, pb = _directed_pairs(query), _directed_pairs(cached)
        for left, marker, right in sorted(pa - pb):
            if left != right and (right, marker, left) in pb - pa:
                return f"'{left} {marker} {right}' vs '{right} {marker} {left}'"
            way = _WAY.get(marker)
            for other in (m for a, m, b in pb - pa if (a, b) == (left, right)):
                if way and _WAY.get(other, way) != way:
                    return f"'{left} {marker} {right}' vs '{left} {other} {right}'"
        swapped = _swapped_roles(_folded(query), _folded(cached))
        if swapped:
            return f"'{swapped[0]}' and '{swapped[1]}' swapped places"
        return None
