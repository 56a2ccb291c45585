"""Checks that veto a semantic cache hit which cosine similarity would allow.

Sentence embeddings place "convert 5 km to miles" and "convert 8 km to
miles" almost on top of each other (cosine about 0.95), and likewise a
question and its reversal, its negation, or the same question about another
product. Serving the cached answer there is worse than a miss: the user
gets a confident wrong answer. Each guard below compares the new prompt with
the cached one on one feature the embedding blurs, and says in words why it
vetoed, so a report can show the reason next to the pair.

The guards are lexical and deliberately strict: a false veto costs one
model call, a false hit costs a wrong answer. They read English; prompts in
other languages pass the word-list guards unchecked.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "DEFAULT_GUARDS",
    "AntonymGuard",
    "EntityGuard",
    "Guard",
    "NegationGuard",
    "NumberGuard",
    "OrderGuard",
    "Rejection",
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
        """Return why ``cached``'s answer must not serve ``query``, or None."""
        ...


def run_guards(
    guards: Iterable[Guard], query: str, cached: str
) -> tuple[Rejection, ...]:
    """Run every guard (not only up to the first veto) so reports show all."""
    found = []
    for guard in guards:
        detail = guard.check(query, cached)
        if detail is not None:
            found.append(Rejection(guard.name, detail))
    return tuple(found)


# Words, with identifiers kept whole: `load_dataset()`, os.path.join, gpt-4o.
_WORD = re.compile(r"`[^`\n]+`|[\w'$€£%°]+(?:[.\-/][\w']+)*(?:\(\))?")


# Curly quotes and apostrophes become straight ones before any matching.
_STRAIGHTEN = str.maketrans({0x2018: "'", 0x2019: "'", 0x201C: '"', 0x201D: '"'})


def _plain(text: str) -> str:
    return text.translate(_STRAIGHTEN)


def _words(text: str) -> list[str]:
    return _WORD.findall(_plain(text))


def _fold(word: str) -> str:
    """Lower-case and strip quoting, call parens and possessives."""
    word = word.strip("`").lower()
    word = word.replace("()", "")
    if word.endswith("'s"):
        word = word[:-2]
    return word.strip("'")


def _folded(text: str) -> list[str]:
    return [w for w in (_fold(w) for w in _words(text)) if w]


# --------------------------------------------------------------------------
# numbers, dates and units

_UNITS = {
    "km": ("km", "kms", "kilometer", "kilometers", "kilometre", "kilometres"),
    "m": ("meter", "meters", "metre", "metres"),
    "cm": ("cm", "centimeter", "centimeters", "centimetre", "centimetres"),
    "mm": ("mm", "millimeter", "millimeters", "millimetre", "millimetres"),
    "mile": ("mi", "mile", "miles"),
    "foot": ("ft", "foot", "feet"),
    "inch": ("inch", "inches"),
    "yard": ("yd", "yard", "yards"),
    "kg": ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms"),
    "g": ("gram", "grams"),
    "lb": ("lb", "lbs", "pound", "pounds"),
    "oz": ("oz", "ounce", "ounces"),
    "l": ("liter", "liters", "litre", "litres"),
    "ml": ("ml", "milliliter", "milliliters", "millilitre", "millilitres"),
    "gallon": ("gal", "gallon", "gallons"),
    "celsius": ("celsius", "°c", "centigrade"),
    "fahrenheit": ("fahrenheit", "°f"),
    "kelvin": ("kelvin",),
    "usd": ("usd", "$", "dollar", "dollars"),
    "eur": ("eur", "€", "euro", "euros"),
    "gbp": ("gbp", "£", "sterling"),
    "jpy": ("jpy", "yen"),
    "percent": ("%", "percent", "percentage"),
    "second": ("s", "sec", "secs", "seconds"),
    "minute": ("min", "mins", "minute", "minutes"),
    "hour": ("h", "hr", "hrs", "hour", "hours"),
    "day": ("day", "days"),
    "week": ("week", "weeks"),
    "month": ("month", "months"),
    "year": ("yr", "yrs", "year", "years"),
    "byte": ("b", "byte", "bytes"),
    "kb": ("kb", "kib", "kilobyte", "kilobytes"),
    "mb": ("mb", "mib", "megabyte", "megabytes"),
    "gb": ("gb", "gib", "gigabyte", "gigabytes"),
    "tb": ("tb", "tib", "terabyte", "terabytes"),
}
_UNIT_OF = {alias: unit for unit, aliases in _UNITS.items() for alias in aliases}

_CALENDAR = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "today",
    "tomorrow",
    "yesterday",
    "tonight",
    "weekend",
]
# "may" and "march" are also ordinary words; only count them next to
# a number ("may 5", "5 march") so "may I ask" stays a question.
_AMBIGUOUS_MONTHS = {"may", "march", "jan", "mar", "jun", "dec"}
_MONTH_CANON = {
    "jan": "january",
    "feb": "february",
    "mar": "march",
    "apr": "april",
    "jun": "june",
    "jul": "july",
    "aug": "august",
    "sep": "september",
    "sept": "september",
    "oct": "october",
    "nov": "november",
    "dec": "december",
}

_SMALL = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_NUMBER_WORDS = {w: i for i, w in enumerate(_SMALL)}
_NUMBER_WORDS.update({w: 10 * (i + 2) for i, w in enumerate(_TENS)})
_NUMBER_WORDS.update({"dozen": 12, "twice": 2})
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 10**6, "billion": 10**9}
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}
_NUMERAL = re.compile(r"[-+]?\d[\d,_]*(?:\.\d+)?")


def _spelled_numbers(words: Sequence[str]) -> list[float]:
    """Read runs such as "twenty five" or "three hundred and six" as one value."""
    values: list[float] = []
    total = current = 0.0
    in_run = False
    for i, word in enumerate([*words, ""]):
        small = _NUMBER_WORDS.get(word)
        if (
            small is not None
            and in_run
            and current % 100
            and not (current % 10 == 0 and small < 10)
        ):
            values.append(total + current)  # "five six" is two numbers
            total, current = 0.0, 0.0
        if small is not None:
            current += small
        elif word in _SCALES and in_run:
            current = max(current, 1.0) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total, current = total + current, 0.0
        elif word == "and" and in_run and words[i - 1] in _SCALES:
            continue
        else:
            if in_run:
                values.append(total + current)
            total = current = 0.0
            in_run = False
            continue
        in_run = True
    return values


@dataclass(frozen=True)
class _Quantities:
    numbers: frozenset[float]
    units: frozenset[str]
    calendar: frozenset[str]


# Numbers split from their units ("5km" -> 5, km) and hyphens ("two-step").
_QUANTITY_WORD = re.compile(
    r"(\d+(?:[,_]\d{3})*(?:\.\d+)?)([a-z°%]*)|[a-z°%$€£']+(?:\.[a-z]+)*"
)
# Short unit names are ordinary words too ("ML tasks", "in GB"), so they
# count alone only next to a number or a word that asks for a unit.
_UNIT_CONTEXT = frozenset(
    ("to", "in", "into", "per", "from", "a", "an", "of", "many", "much")
)


def _quantities(text: str) -> _Quantities:
    tokens = list(_QUANTITY_WORD.finditer(_plain(text).lower()))
    words = [m.group() for m in tokens]
    numbers: set[float] = set()
    units: set[str] = set()
    calendar: set[str] = set()
    for i, m in enumerate(tokens):
        word = m.group()
        if m.group(1):
            numbers.add(float(m.group(1).replace(",", "").replace("_", "")))
            if m.group(2) in _UNIT_OF:
                units.add(_UNIT_OF[m.group(2)])
        elif word in _ORDINALS:
            numbers.add(_ORDINALS[word])
        elif word in _UNIT_OF and _is_unit_use(words, i):
            units.add(_UNIT_OF[word])
        elif word in _CALENDAR and _is_calendar_use(words, i):
            calendar.add(_MONTH_CANON.get(word, word))
    numbers.update(_spelled_numbers(words))
    return _Quantities(frozenset(numbers), frozenset(units), frozenset(calendar))


def _is_unit_use(words: Sequence[str], i: int) -> bool:
    word = words[i]
    if len(word) > 3 or not word.isalpha():
        return True
    if len(word) == 1:
        return False
    before = words[i - 1] if i else ""
    after = words[i + 1] if i + 1 < len(words) else ""
    return (
        before in _UNIT_CONTEXT
        or after in ("to", "in", "into", "per")
        or before.isdigit()
        or before in _NUMBER_WORDS
    )


def _is_calendar_use(words: Sequence[str], i: int) -> bool:
    if words[i] not in _AMBIGUOUS_MONTHS:
        return True
    around = [*words[max(0, i - 1) : i], *words[i + 1 : i + 2]]
    return any(_NUMERAL.fullmatch(w) for w in around)


def _fmt(values: Iterable[float | str]) -> str:
    shown = [
        (f"{v:g}" if isinstance(v, float) else str(v)) for v in sorted(values, key=str)
    ]
    return "{" + ", ".join(shown) + "}" if shown else "none"


class NumberGuard:
    """Numbers, units and dates must agree: 5 km is not 8 km nor 5 miles.

    A lone "1" on one side is ignored ("convert a km" / "convert 1 km"):
    the article and the numeral mean the same.
    """

    name = "numbers"

    def check(self, query: str, cached: str) -> str | None:
        a, b = _quantities(query), _quantities(cached)
        if (a.numbers ^ b.numbers) - {1.0}:
            return f"numbers {_fmt(a.numbers)} vs {_fmt(b.numbers)}"
        if a.units != b.units:
            return f"units {_fmt(a.units)} vs {_fmt(b.units)}"
        if a.calendar != b.calendar:
            return f"dates {_fmt(a.calendar)} vs {_fmt(b.calendar)}"
        return None


# --------------------------------------------------------------------------
# names and identifiers

# Words that start sentences or prompts without naming anything. A
# capitalised word inside a sentence is taken as a name; at the start of one
# only when it is not in this list and has no common inflection (so
# "Sharding your data" does not make "Sharding" a name).
_COMMON = frozenset(
    (
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "it",
        "its",
        "i",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "he",
        "she",
        "they",
        "them",
        "their",
        "his",
        "her",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "how",
        "when",
        "where",
        "whether",
        "if",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "can",
        "could",
        "will",
        "would",
        "shall",
        "should",
        "may",
        "might",
        "must",
        "let",
        "please",
        "and",
        "or",
        "but",
        "so",
        "yet",
        "for",
        "nor",
        "not",
        "no",
        "yes",
        "ok",
        "okay",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "in",
        "on",
        "at",
        "by",
        "to",
        "of",
        "from",
        "with",
        "without",
        "into",
        "onto",
        "about",
        "above",
        "below",
        "over",
        "under",
        "between",
        "among",
        "after",
        "before",
        "during",
        "since",
        "until",
        "as",
        "than",
        "then",
        "also",
        "any",
        "some",
        "all",
        "each",
        "every",
        "both",
        "either",
        "neither",
        "many",
        "much",
        "more",
        "most",
        "few",
        "less",
        "least",
        "other",
        "another",
        "such",
        "same",
        "own",
        "only",
        "just",
        "very",
        "too",
        "quite",
        "give",
        "tell",
        "show",
        "list",
        "write",
        "explain",
        "describe",
        "summarize",
        "summarise",
        "compare",
        "convert",
        "translate",
        "find",
        "make",
        "create",
        "generate",
        "define",
        "calculate",
        "compute",
        "help",
        "suggest",
        "recommend",
        "provide",
        "name",
        "use",
        "get",
        "set",
        "check",
        "fix",
        "add",
        "remove",
        "implement",
        "build",
        "run",
        "rewrite",
        "refactor",
        "review",
        "draft",
        "best",
        "good",
        "better",
        "worst",
        "new",
        "old",
        "first",
        "last",
        "next",
        "one",
        "two",
        "three",
        "step",
        "steps",
        "example",
        "examples",
        "way",
        "ways",
        "difference",
        "differences",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "it's",
        "what's",
        "how's",
        "let's",
        "there's",
        "that's",
        "who's",
        "where's",
    )
)
_VERSION = re.compile(r"[vV]?\d+(?:\.\d+)*")
_DOTTED = re.compile(r"\w{2,}(?:\.\w+)+")


def _is_identifier(word: str) -> bool:
    """snake_case, camelCase, os.path, gpt4: names for code and models."""
    if _VERSION.fullmatch(word):
        return False  # "v2.10.0" is "version 2.10.0"; NumberGuard compares it
    if "_" in word.strip("_") or re.search(r"[a-z][A-Z]", word):
        return True
    if re.search(r"[A-Za-z]\d|\d[A-Za-z]", word):
        return True
    return _DOTTED.fullmatch(word) is not None


def _is_sentence_start(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t\"'(*-#>")
    return not before or before[-1] in ".!?:;\n" or before[-1].isdigit()


def _names(text: str) -> set[str]:
    """Proper nouns, acronyms and code identifiers, folded for comparison.

    A capitalised word that opens a sentence is only a name when something
    else says so: it is an acronym, the next word is capitalised too
    ("Hugging Face"), or it is capitalised inside a sentence elsewhere.
    Otherwise every "Furthermore" and "Remember" would count as a name.
    """
    text = _plain(text)
    found: set[str] = set()
    openers: list[tuple[str, str]] = []
    for m in _WORD.finditer(text):
        raw = m.group()
        folded = _fold(raw)
        bare = raw.strip("`'").replace("()", "")
        if not folded or _NUMERAL.fullmatch(folded):
            continue
        if raw.startswith("`") or _is_identifier(bare):
            found.add(folded)
        elif not bare[:1].isupper() or len(bare) < 2 or folded in _COMMON:
            continue
        elif bare.isupper() or not _is_sentence_start(text, m.start()):
            found.add(folded)
        else:
            openers.append((folded, text[m.end() :]))
    for folded, rest in openers:
        nxt = _WORD.match(rest.lstrip(" "))
        if folded in found or (nxt and nxt.group()[:1].isupper()):
            found.add(folded)
    return found


def _mentions(text: str, name: str) -> bool:
    """True if ``name`` occurs as a whole word, in any case, maybe plural."""
    forms = [re.escape(name)]
    if name.endswith("s"):
        forms.append(re.escape(name[:-1]))
    body = "|".join(forms)
    pattern = rf"(?<![\w-])(?:{body})(?:s|es|'s)?(?![\w-])"
    plain = _plain(text).lower().replace("`", "").replace("()", "")
    return re.search(pattern, plain) is not None


class EntityGuard:
    """Names, products, places and code identifiers must appear on both sides.

    Each side's names are looked for anywhere in the other text, in any
    case, so "Python" still matches "python"; only a name the other prompt
    never mentions vetoes the hit ("Paris" vs "Lyon", ``load_dataset`` vs
    ``load_from_disk``). Lower-case names ("weather in paris") are beyond
    what a word list can tell from ordinary words and are not caught here.
    """

    name = "entities"

    def check(self, query: str, cached: str) -> str | None:
        only_query = sorted(n for n in _names(query) if not _mentions(cached, n))
        only_cached = sorted(n for n in _names(cached) if not _mentions(query, n))
        if only_query or only_cached:
            return f"names {_fmt(only_query)} vs {_fmt(only_cached)}"
        return None


# --------------------------------------------------------------------------
# direction and roles

_STOP = _COMMON - {"best", "worst", "new", "old", "first", "last", "next"}
_DIRECTED = ("to", "into", "onto", "than", "from", "before", "after", "over")
_SYMMETRIC = frozenset({"and", "or", "vs", "vs.", "versus", "&", "between"})
_COMPARATIVE = re.compile(r"\w+er$|better|worse|rather")


def _content(words: Sequence[str]) -> list[tuple[int, str]]:
    """Positions and canonical forms of the words that carry meaning."""
    return [
        (i, _UNIT_OF.get(w, w) if len(w) > 1 else w)
        for i, w in enumerate(words)
        if w not in _STOP and w not in _SYMMETRIC and not _NUMERAL.fullmatch(w)
    ]


def _left_of(words: Sequence[str], content: list[tuple[int, str]], i: int) -> str:
    """The thing compared or moved before marker ``i``: "X [faster] than"."""
    left = [(j, w) for j, w in content if j < i]
    if words[i] == "than" and left:
        j, w = left[-1]
        if _COMPARATIVE.fullmatch(w) or words[j - 1 : j] in (["more"], ["less"]):
            left.pop()
    return left[-1][1] if left else ""


def _directed_pairs(words: Sequence[str]) -> set[tuple[str, str, str]]:
    """(left, marker, right) around "to", "than", ...: km to miles."""
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
    return pairs


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
    """Two content words that traded places while every other word stayed.

    "does A imply B" / "does B imply A". Two words joined by "and", "or" or
    "vs" read the same either way and do not count.
    """
    ca, cb = _content(a), _content(b)
    sa, sb = [w for _, w in ca], [w for _, w in cb]
    if sorted(sa) != sorted(sb):
        return None
    diff = [k for k in range(len(sa)) if sa[k] != sb[k]]
    if len(diff) != 2:
        return None
    k1, k2 = diff
    between = a[ca[k1][0] + 1 : ca[k2][0]]
    if any(w in _SYMMETRIC for w in between):
        return None
    return sa[k1], sa[k2]


class OrderGuard:
    """A question and its reversal are different questions.

    Catches "km to miles" vs "miles to km", "X faster than Y" vs "Y faster
    than X", "from A to B" vs "from B to A", and two words that swapped
    roles around a verb ("does A imply B"). "X and Y", "X or Y", "X vs Y"
    read the same both ways and pass.
    """

    name = "order"

    def check(self, query: str, cached: str) -> str | None:
        a, b = _folded(query), _folded(cached)
        pa, pb = _directed_pairs(a), _directed_pairs(b)
        for left, marker, right in sorted(pa - pb):
            if left != right and (right, marker, left) in pb - pa:
                return f"'{left} {marker} {right}' vs '{right} {marker} {left}'"
        swapped = _swapped_roles(a, b)
        if swapped:
            return f"'{swapped[0]}' and '{swapped[1]}' swapped places"
        return None


# --------------------------------------------------------------------------
# negation

_NEGATIONS = {
    "not",
    "no",
    "never",
    "cannot",
    "none",
    "nothing",
    "nobody",
    "neither",
    "nor",
    "nowhere",
    "shouldn't",
    "wouldn't",
    "couldn't",
}
_CONTRACTED = re.compile(r"\w+n't$|^can't$|^won't$")


def _negations(text: str) -> list[str]:
    found = []
    text = _plain(text)
    for m in _WORD.finditer(text):
        word = _fold(m.group())
        # "No, ..." opening an answer is a reply, not a negated statement.
        reply = text[m.end() : m.end() + 1] in (",", "!", ".")
        if word == "no" and reply and _is_sentence_start(text, m.start()):
            continue
        # "not only X but also Y" affirms both.
        if word == "not" and text[m.end() :].lstrip().lower().startswith("only"):
            continue
        if word in _NEGATIONS or _CONTRACTED.match(word):
            found.append(word)
    return found


class NegationGuard:
    """ "Is X safe" and "is X not safe" want opposite answers.

    Compares whether each side is negated at all, not how: "doesn't work"
    and "does not work" agree, and so do two prompts that each say "not".
    """

    name = "negation"

    def check(self, query: str, cached: str) -> str | None:
        a, b = _negations(query), _negations(cached)
        if bool(a) != bool(b):
            shown = a or b
            side = "new prompt" if a else "cached prompt"
            return f"only the {side} is negated ('{shown[0]}')"
        return None


# --------------------------------------------------------------------------
# opposites

_OPPOSITES = [
    ("increase", "decrease"),
    ("increase", "reduce"),
    ("add", "remove"),
    ("with", "without"),
    ("enable", "disable"),
    ("encrypt", "decrypt"),
    ("encode", "decode"),
    ("compress", "decompress"),
    ("serialize", "deserialize"),
    ("install", "uninstall"),
    ("upload", "download"),
    ("import", "export"),
    ("push", "pull"),
    ("buy", "sell"),
    ("start", "stop"),
    ("open", "close"),
    ("lock", "unlock"),
    ("connect", "disconnect"),
    ("show", "hide"),
    ("include", "exclude"),
    ("allow", "block"),
    ("allow", "deny"),
    ("accept", "reject"),
    ("min", "max"),
    ("minimum", "maximum"),
    ("minimize", "maximize"),
    ("ascending", "descending"),
    ("uppercase", "lowercase"),
    ("upper", "lower"),
    ("input", "output"),
    ("left", "right"),
    ("above", "below"),
    ("before", "after"),
    ("first", "last"),
    ("best", "worst"),
    ("fastest", "slowest"),
    ("cheapest", "most expensive"),
    ("advantage", "disadvantage"),
    ("benefit", "drawback"),
    ("true", "false"),
    ("win", "lose"),
    ("north", "south"),
    ("east", "west"),
    ("hot", "cold"),
    ("long", "short"),
    ("inner", "outer"),
    ("synchronous", "asynchronous"),
    ("sync", "async"),
    ("public", "private"),
    ("client", "server"),
]
_OPPOSITE_OF: dict[str, set[str]] = {}
for _a, _b in _OPPOSITES:
    _OPPOSITE_OF.setdefault(_a, set()).add(_b)
    _OPPOSITE_OF.setdefault(_b, set()).add(_a)
_SUFFIXES = ("", "s", "es", "d", "ed", "ing")


def _roots(words: Iterable[str]) -> set[str]:
    roots = set()
    for word in words:
        for suffix in _SUFFIXES:
            if word.endswith(suffix):
                stem = word[: len(word) - len(suffix)] if suffix else word
                for candidate in (stem, stem + "e"):
                    if candidate in _OPPOSITE_OF:
                        roots.add(candidate)
    return roots


class AntonymGuard:
    """One prompt says "increase", "enable", "ascending" where the other says
    the opposite. Words both prompts share are ignored, so "enable a
    disabled account" still matches "recover a disabled account".
    """

    name = "opposites"

    def check(self, query: str, cached: str) -> str | None:
        a, b = _folded(query), _folded(cached)
        ra = _roots(a) | _roots(_bigrams(a))
        rb = _roots(b) | _roots(_bigrams(b))
        for word in sorted(ra - rb):
            clash = sorted(_OPPOSITE_OF[word] & (rb - ra))
            if clash:
                return f"'{word}' vs '{clash[0]}'"
        return None


def _bigrams(words: Sequence[str]) -> list[str]:
    return [f"{x} {y}" for x, y in itertools.pairwise(words)]


DEFAULT_GUARDS: tuple[Guard, ...] = (
    NumberGuard(),
    EntityGuard(),
    OrderGuard(),
    NegationGuard(),
    AntonymGuard(),
)
