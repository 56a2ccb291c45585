"""Numbers, units, dates, signs and formulas must agree."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from costaudit.strategies import _lexicon as lex
from costaudit.strategies.guards._text import _MEMO, _fmt, _plain

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
