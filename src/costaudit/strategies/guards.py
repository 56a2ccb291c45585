"""Checks that veto a semantic cache hit which cosine similarity would allow.

Sentence embeddings put a question next to its reversal ("convert 5 km to
miles" and "convert 5 miles to km": cosine 0.99 with all-MiniLM-L6-v2), its
negation ("is coffee bad for you" and "... not bad ...": 0.98) and the same
question with another number (three tips or ten: 0.95). Serving the cached
answer there is worse than a miss: the user gets a confident wrong answer.
Each guard compares the new prompt with the cached one on one feature that
the embedding blurs, and says in words why it vetoed, so a report can show
the reason next to the pair. One guard also weighs the similarity itself
(:class:`SwapGuard`: two prompts that differ in a single word need more of
it), which the cache passes to :func:`run_guards`.

The guards are lexical and lean strict: a false veto costs one model call,
a false hit costs a wrong answer. They read English; in other languages
only the number and identifier checks still see anything.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from costaudit.strategies import _lexicon as lex

__all__ = [
    "DEFAULT_GUARDS",
    "AggregateGuard",
    "AntonymGuard",
    "EntityGuard",
    "Guard",
    "NegationGuard",
    "NumberGuard",
    "OrderGuard",
    "Rejection",
    "ScoredGuard",
    "SwapGuard",
    "run_guards",
]


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


# Words, with identifiers kept whole: `load_dataset()`, os.path.join, gpt-4o.
_WORD = re.compile(r"`[^`\n]+`|[\w'$€£%°]+(?:[.\-/][\w']+)*(?:\(\))?")
_NUMERAL = re.compile(r"[-+]?\d[\d,_]*(?:\.\d+)?")
# Curly quotes and apostrophes become straight ones before any matching.
_STRAIGHTEN = str.maketrans({0x2018: "'", 0x2019: "'", 0x201C: '"', 0x201D: '"'})


# Each lookup compares one prompt with several cached ones and a cached
# prompt meets many lookups, so what a guard reads from a text is computed
# once and kept, up to this many texts per reader.
_MEMO = 8192


def _plain(text: str) -> str:
    return text.translate(_STRAIGHTEN)


def _fold(word: str) -> str:
    """Lower-case; strip quoting, call parentheses and possessives."""
    word = word.strip("`").lower().replace("()", "")
    return word.removesuffix("'s").strip("'")


@functools.lru_cache(maxsize=_MEMO)
def _folded(text: str) -> tuple[str, ...]:
    return tuple(w for w in (_fold(w) for w in _WORD.findall(_plain(text))) if w)


def _is_sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'(*-#>")
    return not before or before[-1] in ".!?:;\n" or before[-1].isdigit()


def _fmt(values: Iterable[float | str]) -> str:
    shown = sorted(f"{v:g}" if isinstance(v, float) else v for v in values)
    return "{" + ", ".join(shown) + "}" if shown else "none"


# --------------------------------------------------------------------------
# numbers, units and dates

# A number with its unit glued on ("5km") splits in two; hyphens split too
# ("two-step").
_QUANTITY_WORD = re.compile(
    r"(\d+(?:[,_]\d{3})*(?:\.\d+)?)([a-z°%]*)|[a-z°%$€£']+(?:\.[a-z]+)*"
)
# Short unit names are ordinary words too ("ML tasks"), so alone they count
# only next to a number or a word that asks for a unit.
_UNIT_CONTEXT = frozenset(("to", "in", "into", "from", "a", "an", "per", "of"))


# Digits in three or more groups (dates, versions, addresses) or a clock
# time: the layout is part of the question ("03/11/2026" or "2026-11-03").
# A leading "v" ("v2.10.0") changes nothing.
_LAID_OUT = re.compile(
    r"(?<![\w.])[vV]?(\d+(?:(?:[/.\-]\d+){2,}|:\d+(?::\d+)?))(?![\w])"
)
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class _Quantities:
    numbers: frozenset[float]
    units: frozenset[str]
    dates: frozenset[str]
    layouts: frozenset[str]
    expressions: frozenset[str]


# Signs written more than one way: the minus sign and the en dash typed
# for it ("6x^2 – 2x"), times and divide.
_MATH_SIGNS = str.maketrans({0x2212: "-", 0x2013: "-", 0xD7: "*", 0xF7: "/"})
# An operand in a formula: a number (maybe with a variable, "12x"), a lone
# letter ("x", not a word), maybe in parentheses.
_OPERAND = (
    r"\(*(?:(?<![a-z_])\d+(?:[.,_]\d+)*%?(?:[a-z](?![\w']))?"
    r"|(?<![\w.'])[a-z](?![\w']))\)*"
)
_OPERATOR = r"\*\*|[<>!]=|[-+*/^=<>]"
_EXPRESSION = re.compile(rf"-?{_OPERAND}(?:[ \t]*(?:{_OPERATOR})[ \t]*-?{_OPERAND})+")
# Operator words between two operands; "times" and "divided by" only
# before a number, since "3 times a day" has no formula in it.
_WORD_OPERATOR = re.compile(
    r"(?<=[\d)%])[ \t]+(plus|minus|equals|to the power of)[ \t]+"
    r"(?=[\d(]|[a-z](?![\w']))"
    r"|(?<=[\d)%])[ \t]+(times|multiplied by|divided by)[ \t]+(?=[\d(])"
)
# What may stand before a minus sign that makes the number negative.
_BEFORE_SIGN = frozenset("([{=,:;<>*/^+?!\"'")


def _math_text(text: str) -> str:
    """Lower case, with one spelling of each sign."""
    return _plain(text).translate(_MATH_SIGNS).lower()


def _expressions(text: str) -> frozenset[str]:
    """Formulas with at least one number, spaces removed: "3x^2-12x+9=0".

    The operators and signs between numbers are what a formula says, and
    the numbers alone do not show them: "- 9" and "+ 9" are both 9. Dates,
    versions and clock times are left to the layout check.
    """
    text = _LAID_OUT.sub(" ", text)
    text = _WORD_OPERATOR.sub(
        lambda m: lex.OPERATOR_WORDS[m.group(1) or m.group(2)], text
    )
    found = set()
    for m in _EXPRESSION.finditer(text):
        formula = re.sub(r"[ \t]+", "", m.group()).replace("**", "^")
        if any(c.isdigit() for c in formula):
            found.add(formula)
    return frozenset(found)


def _negative(text: str, start: int, before: str) -> bool:
    """Whether the number at ``start`` carries a minus sign of its own.

    "-40", "x = -5" and "from -5 to 5" are negative numbers; in "x - 5",
    "3x^2 -12x" and "10-20" the minus subtracts, and in "gpt-4" or
    "top-10" it joins a name. ``before`` is the word before the number,
    for "negative 5" and "minus 5".
    """
    if text[start - 1 : start] != "-":
        return before in lex.SIGN_WORDS and not _after_operand(text, start)
    head = text[: start - 1]
    spaced = head.rstrip()
    if not spaced or spaced[-1] in _BEFORE_SIGN:
        return True
    if spaced[-1].isdigit() or spaced[-1] in ")]%":
        return False
    if spaced[-1].isalpha():
        if spaced == head:
            return False  # a hyphen inside a name: "gpt-4", "top-10"
        word = re.search(r"[a-z']+$", spaced)
        return word is not None and len(word.group()) > 1
    return True


def _after_operand(text: str, start: int) -> bool:
    """Whether the word before ``start`` ("minus 5") follows an operand."""
    words = text[:start].split()
    if len(words) < 2:
        return False
    last = words[-2]
    return last[-1:].isdigit() or last[-1:] in ")%" or len(last) == 1


def _layouts(text: str) -> frozenset[str]:
    """How numbers are written: "03/11/2026" -> "dd/dd/yyyy".

    Padding does not count ("3/11/2026" is laid out the same way); a group
    of four digits reads as a year, every other group as "dd".
    """
    return frozenset(
        _DIGITS.sub(lambda d: "yyyy" if len(d.group()) == 4 else "dd", m.group(1))
        for m in _LAID_OUT.finditer(text)
    )


@functools.lru_cache(maxsize=_MEMO)
def _quantities(text: str) -> _Quantities:
    layouts = _layouts(_plain(text))
    low = _math_text(text)
    tokens = list(_QUANTITY_WORD.finditer(low))
    words = [m.group().removesuffix("'s") for m in tokens]
    numbers: set[float] = set()
    units: set[str] = set()
    dates: set[str] = set()
    for i, m in enumerate(tokens):
        word = words[i]
        if m.group(1):
            value = float(m.group(1).replace(",", "").replace("_", ""))
            negative = _negative(low, m.start(), words[i - 1] if i else "")
            numbers.add(-value if negative and value else value)
            if m.group(2) in lex.UNIT_OF:
                units.add(lex.UNIT_OF[m.group(2)])
        elif word in lex.ORDINALS:
            numbers.add(lex.ORDINALS[word])
        elif word in lex.UNIT_OF and _is_unit_use(words, i):
            units.add(lex.UNIT_OF[word])
        elif word in lex.CALENDAR and _is_date_use(words, i):
            dates.add(lex.MONTHS.get(word, word))
    numbers.update(_spelled_numbers(words))
    return _Quantities(
        frozenset(numbers),
        frozenset(units),
        frozenset(dates),
        layouts,
        _expressions(low),
    )


def _after_number(words: Sequence[str], i: int) -> bool:
    before = words[i - 1] if i else ""
    return before[:1].isdigit() or before in lex.NUMBER_WORDS


def _is_unit_use(words: Sequence[str], i: int) -> bool:
    word, unit = words[i], lex.UNIT_OF[words[i]]
    if _after_number(words, i):
        return True
    if unit in lex.TIME_UNITS or len(word) == 1:
        return False
    if len(word) > 3 or not word.isalpha():
        return True
    before = words[i - 1] if i else ""
    after = words[i + 1] if i + 1 < len(words) else ""
    return (
        before in _UNIT_CONTEXT
        or before in ("many", "much")
        or after in ("to", "in", "into", "per")
        or after[:1].isdigit()  # "rs 500", "usd 20"
    )


def _is_date_use(words: Sequence[str], i: int) -> bool:
    if words[i] not in lex.AMBIGUOUS_MONTHS:
        return True
    around = [*words[max(0, i - 1) : i], *words[i + 1 : i + 2]]
    return any(w[:1].isdigit() for w in around)


def _spelled_numbers(words: Sequence[str]) -> list[float]:
    """Read runs like "twenty five" or "three hundred and six" as one value."""
    values: list[float] = []
    total = current = 0.0
    in_run = False
    for i, word in enumerate([*words, ""]):
        small = lex.NUMBER_WORDS.get(word)
        if small is not None and in_run and not _continues(current, small):
            values.append(total + current)  # "five six" is two numbers
            total = current = 0.0
        if small is not None:
            current += small
        elif word in lex.SCALES and in_run:
            current = max(current, 1.0) * lex.SCALES[word]
            if lex.SCALES[word] >= 1000:
                total, current = total + current, 0.0
        elif word == "and" and in_run and words[i - 1] in lex.SCALES:
            continue
        else:
            if in_run:
                values.append(total + current)
            total = current = 0.0
            in_run = False
            continue
        in_run = True
    return values


def _continues(current: float, small: float) -> bool:
    """Whether ``small`` extends the number read so far ("twenty" + "five")."""
    return current % 100 == 0 or (current % 10 == 0 and small < 10)


class NumberGuard:
    """Numbers, units and dates must agree: 5 km is neither 8 km nor 5 miles.

    A 1 on one side only is ignored: "convert a km" and "convert 1 km", or
    "which one is better" and "which is better", mean the same. The same
    digits written another way veto too: a regex for "03/11/2026" does not
    match "2026-11-03". Signs count: -40 is not 40, and when both prompts
    hold a formula the formulas must agree, so "3x^2 - 12x + 9 = 0" does not
    serve "3x^2 - 12x - 9 = 0" (operators written as words, "5 plus 3",
    read as signs).
    """

    name = "numbers"

    def check(self, query: str, cached: str) -> str | None:
        a, b = _quantities(query), _quantities(cached)
        if (a.numbers ^ b.numbers) - {1.0}:
            return f"numbers {_fmt(a.numbers)} vs {_fmt(b.numbers)}"
        if a.units != b.units:
            return f"units {_fmt(a.units)} vs {_fmt(b.units)}"
        if a.dates != b.dates:
            return f"dates {_fmt(a.dates)} vs {_fmt(b.dates)}"
        if a.layouts != b.layouts:
            return f"written as {_fmt(a.layouts)} vs {_fmt(b.layouts)}"
        if a.expressions and b.expressions and a.expressions != b.expressions:
            return f"formulas {_fmt(a.expressions)} vs {_fmt(b.expressions)}"
        return None


# --------------------------------------------------------------------------
# names and identifiers

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


# --------------------------------------------------------------------------
# direction and roles

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


# --------------------------------------------------------------------------
# negation

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


# --------------------------------------------------------------------------
# opposites

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


# --------------------------------------------------------------------------
# aggregates


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


# --------------------------------------------------------------------------
# one word swapped

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


DEFAULT_GUARDS: tuple[Guard, ...] = (
    NumberGuard(),
    EntityGuard(),
    OrderGuard(),
    NegationGuard(),
    AntonymGuard(),
    AggregateGuard(),
    SwapGuard(),
)
