"""Names, products, places and code identifiers must agree."""

from __future__ import annotations

import functools
import re

from costaudit.strategies import _lexicon as lex
from costaudit.strategies.guards._text import (
    _MEMO,
    _NUMERAL,
    _WORD,
    _fmt,
    _fold,
    _is_sentence_start,
    _plain,
)

_VERSION_OR_QUANTITY = re.compile(r"[vV]?\d.*")
_DOTTED = re.compile(r"\w{2,}(?:\.\w+)+")


def _is_identifier(word: str) -> bool:
    """snake_case, camelCase, os.path, gpt4: how code and models are named.

    Words that start with a digit ("v2.1", "12th", "4kg") are left to
    NumberGuard, which reads their numbers.
    """
    if _VERSION_OR_QUANTITY.fullmatch(word):
        return False
    if "_" in word.strip("_") or re.search(r"[a-z][A-Z]", word):
        return True
    if re.search(r"[A-Za-z]\d", word):
        return True
    return _DOTTED.fullmatch(word) is not None


@functools.lru_cache(maxsize=_MEMO)
def _names(text: str) -> frozenset[str]:
    """Proper nouns, acronyms and code identifiers, folded for comparison.

    Capitalised words in a row make one name ("donald trump"). A single
    capitalised word that opens a sentence is a name only if it is also
    capitalised inside a sentence; otherwise every "Furthermore" and
    "Remember" would count as a name.
    """
    text = _plain(text)
    found: set[str] = set()
    runs: list[list[str]] = []
    openers: set[str] = set()
    last_end = -2
    for m in _WORD.finditer(text):
        raw, folded = m.group(), _fold(m.group())
        bare = raw.strip("`'").replace("()", "")
        if not folded or _NUMERAL.fullmatch(folded):
            continue
        if raw.startswith("`") or _is_identifier(bare):
            found.add(folded)
            continue
        if not bare[:1].isupper() or len(bare) < 2 or folded in lex.COMMON:
            continue
        if runs and text[last_end : m.start()] == " ":
            runs[-1].append(folded)
        else:
            runs.append([folded])
            if not bare.isupper() and _is_sentence_start(text, m.start()):
                openers.add(folded)
        last_end = m.end()
    for run in runs:
        if len(run) > 1 or run[0] not in openers:
            found.add(" ".join(run))
    singles = {n for n in found if " " not in n}
    return frozenset(n for n in found if n not in openers or n in singles)


def _initials(name: str) -> str:
    return "".join(part[0] for part in name.split())


def _mentions(text: str, name: str) -> bool:
    """Whether ``name`` occurs as a whole word: any case, maybe plural.

    Spaces, hyphens and slashes inside a name are interchangeable, so "Air
    Force" is found in "air-force".
    """
    return _mention_pattern(name).search(_searchable(text)) is not None


@functools.lru_cache(maxsize=_MEMO)
def _searchable(text: str) -> str:
    return _plain(text).lower().replace("`", "").replace("()", "")


@functools.lru_cache(maxsize=_MEMO)
def _mention_pattern(name: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in re.split(r"[\s\-/]+", name) if p] or [""]
    last = parts[-1]
    parts[-1] = f"(?:{last}|{last[:-1]})" if name.endswith("s") else last
    body = r"[\s\-/]*".join(parts)
    return re.compile(rf"(?<!\w)(?:{body})(?:s|es|'s)?(?!\w)")


def _unmatched(
    names: frozenset[str], other_text: str, other_names: frozenset[str]
) -> list[str]:
    """Names the other prompt never mentions.

    A run of words counts as mentioned through its last word ("Trump" for
    "Donald Trump") or its initials ("ML" for "Machine Learning"), and an
    acronym through a run of words with its initials.
    """
    other_initials = {_initials(n) for n in other_names if " " in n}
    missing = []
    for name in sorted(names):
        if _mentions(other_text, name) or name in other_initials:
            continue
        if _member_mentioned(name, other_text):
            continue
        if " " in name and _run_mentioned(name, other_text, other_names):
            continue
        missing.append(name)
    return missing


def _member_mentioned(name: str, other_text: str) -> bool:
    """``datasets.Metric`` is named by "Metric": a qualified name and its
    last part mean the same thing. ``os.path.join`` is still not
    ``os.path.split``, whose last part differs."""
    if " " in name or "." not in name.strip("."):
        return False
    member = name.rstrip(".").rsplit(".", 1)[1]
    return len(member) >= 3 and not member.isdigit() and _mentions(other_text, member)


def _run_mentioned(name: str, other_text: str, other_names: frozenset[str]) -> bool:
    """ "Trump" stands for "Donald Trump", but "Simpson Desert" is not
    "Great Basin Desert": the last word counts unless the other prompt puts
    other words before it. Every word in another order counts too ("the
    Hub Python Library", "the Python library for the Hub")."""
    if _mentions(other_text, _initials(name)):
        return True
    if all(_mentions(other_text, part) for part in name.split()):
        return True
    last = name.split()[-1]
    rivals = [
        n for n in other_names if " " in n and n != name and n.endswith(f" {last}")
    ]
    return not rivals and _mentions(other_text, last)


class EntityGuard:
    """Names, products, places and code identifiers must appear on both sides.

    Each side's names are looked for anywhere in the other text, in any
    case, so "Python" still matches "python"; only a name the other prompt
    never mentions vetoes the hit ("Paris" vs "Lyon", ``load_dataset`` vs
    ``load_from_disk``). Names written in lower case ("weather in paris")
    cannot be told from ordinary words by a word list and are not caught.
    """

    name = "entities"

    def check(self, query: str, cached: str) -> str | None:
        names_q, names_c = _names(query), _names(cached)
        only_query = _unmatched(names_q, cached, names_c)
        only_cached = _unmatched(names_c, query, names_q)
        if only_query or only_cached:
            return f"names {_fmt(only_query)} vs {_fmt(only_cached)}"
        return None
