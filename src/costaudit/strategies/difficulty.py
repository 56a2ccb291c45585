"""How hard a call is, in four tiers, with the points that put it there.

A router sends easy calls to a cheap model; the advisor asks how many past
calls were easy. Both need the same answer and a reason a person can check,
so this is a points table, not a trained model. Each feature of a call adds
points:

    prompt length      1 at ~60 tokens, 2 at ~300, 3 at ~1,500, 4 at ~6,000
    structure          lists, several questions, stated constraints (max 4)
    code               fenced blocks, code-like lines, a language, a coding
                       task (max 5)
    maths              LaTeX, maths symbols, equations, proofs, maths topics
                       (max 5)
    reasoning demand   why, explain, compare, design, trade-offs, step by
                       step, analyse, root cause, ... (max 7)
    tool use           tool calls and API calls in the session (max 6)
    answer length      observed output tokens, or a request for a long
                       answer when the output is not known (max 3)
    system prompt      1 for a long one (4,000 tokens or more)

and the total picks the tier: ``simple`` below 3, ``medium`` below 6,
``hard`` below 12, ``expert`` from 12. A side call (title generation,
context compression, ...) is ``simple`` whatever its text: it is the same
small job every time.

Every feature only ever adds points and every cap is a maximum, so adding
code or reasoning demand to a prompt never lowers its tier. When a cap cuts
a category, a negative reason says so, and the points always sum to the
score.

Cue words are plain lists below, matched as whole words in lower case.
Python's regex engine is slow on long alternations of words, so words are
found with substring tests; regular expressions are kept for shapes (code
lines, list items, equations) and run only when a cheap test says they can
match.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from costaudit.record import MAIN_CALL, check_count

__all__ = [
    "TIERS",
    "TIER_MINIMUM_SCORES",
    "CallFeatures",
    "Difficulty",
    "Tier",
    "classify_difficulty",
    "estimate_tokens",
    "tier_for_score",
]

Tier = Literal["simple", "medium", "hard", "expert"]
TIERS: tuple[Tier, ...] = ("simple", "medium", "hard", "expert")

TIER_MINIMUM_SCORES: dict[Tier, int] = {
    "simple": 0,
    "medium": 3,
    "hard": 6,
    "expert": 12,
}

Reason = tuple[str, int]


@dataclass(frozen=True, slots=True)
class CallFeatures:
    """What is known about one call when its difficulty is judged."""

    prompt: str
    """The user's prompt (for a session, its first user message)."""
    system_prompt_tokens: int = 0
    output_tokens: int | None = None
    """Completion tokens, when the call has happened; None before it."""
    tool_calls: int = 0
    """Tool calls made in the call's session."""
    session_calls: int = 1
    """API calls made in the call's session."""
    call_kind: str = MAIN_CALL
    prompt_tokens: int | None = None
    """Prompt tokens when counted; otherwise estimated from the text."""

    def __post_init__(self) -> None:
        for name in ("system_prompt_tokens", "tool_calls", "session_calls"):
            object.__setattr__(self, name, check_count(name, getattr(self, name)))
        for name in ("output_tokens", "prompt_tokens"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, check_count(name, value))


@dataclass(frozen=True, slots=True)
class Difficulty:
    """A call's tier, its score and the (feature, points) behind the score."""

    tier: Tier
    score: int
    reasons: tuple[Reason, ...]


def tier_for_score(score: int) -> Tier:
    """Return the tier a score falls in."""
    for tier in reversed(TIERS):
        if score >= TIER_MINIMUM_SCORES[tier]:
            return tier
    return "simple"


def classify_difficulty(call: CallFeatures) -> Difficulty:
    """Return the tier of ``call`` and every feature that scored points."""
    if call.call_kind not in (MAIN_CALL, ""):
        return Difficulty("simple", 0, ((f"side call '{call.call_kind}'", 0),))

    text = call.prompt
    lowered = text.lower()
    reasons: list[Reason] = []
    for category, features, cap in (
        ("length", _length(call, text), 4),
        ("structure", _structure(text, lowered), 4),
        ("code", _code(text, lowered), 5),
        ("maths", _maths(text, lowered), 5),
        ("reasoning", _reasoning(lowered), 7),
        ("tool use", _tool_use(call), 6),
        ("answer length", _answer_length(call, lowered), 3),
        ("system prompt", _system_prompt(call), 1),
    ):
        reasons.extend(_capped(category, features, cap))

    score = sum(points for _, points in reasons)
    return Difficulty(tier_for_score(score), score, tuple(reasons))


def _capped(category: str, features: list[Reason], cap: int) -> list[Reason]:
    total = sum(points for _, points in features)
    if total <= cap:
        return features
    return [*features, (f"{category} capped at {cap}", cap - total)]


def _steps(value: int, thresholds: tuple[int, ...]) -> int:
    """Points for ``value``: one for each threshold it reaches."""
    return sum(1 for threshold in thresholds if value >= threshold)


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _word_starts(text: str, term: str) -> Iterator[int]:
    """Where ``term`` occurs in ``text`` with no letter or digit touching it."""
    start = text.find(term)
    while start != -1:
        end = start + len(term)
        if (start == 0 or not _is_word_char(text[start - 1])) and (
            end == len(text) or not _is_word_char(text[end])
        ):
            yield start
        start = text.find(term, start + 1)


def _first_word(text: str, terms: tuple[str, ...]) -> str | None:
    for term in terms:
        # The plain substring test is fast and rules out most terms.
        if term in text and next(_word_starts(text, term), -1) >= 0:
            return term
    return None


def _count_words(text: str, terms: tuple[str, ...]) -> int:
    return sum(
        sum(1 for _ in _word_starts(text, term)) for term in terms if term in text
    )


def _terms(spec: str) -> tuple[str, ...]:
    """Split a "word | phrase | ..." list, the form the cue tables use."""
    return tuple(term.strip() for term in spec.split("|"))


def estimate_tokens(text: str) -> int:
    """Tokens of ``text`` without a tokenizer: a quarter of its UTF-8 bytes."""
    # About four bytes of UTF-8 per token holds for English and code, and
    # gives CJK text (three bytes a character) roughly its real count.
    return (len(text.encode("utf-8")) + 3) // 4


def _length(call: CallFeatures, text: str) -> list[Reason]:
    tokens = call.prompt_tokens
    label = "prompt of {:,} tokens"
    if tokens is None:
        tokens = estimate_tokens(text)
        label = "prompt of about {:,} tokens"
    points = _steps(tokens, (60, 300, 1_500, 6_000))
    return [(label.format(tokens), points)] if points else []


_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+\u2022]|\d{1,3}[.)])[ \t]+\S", re.MULTILINE)
_CONSTRAINT_WORDS = _terms(
    "must | mustn't | should | shouldn't | do not | don't | never | without | "
    "at most | at least | exactly | no more than | only use | ensure | "
    "make sure | require | required | requirement | requirements | constraint | "
    "constraints"
)


def _structure(text: str, lowered: str) -> list[Reason]:
    reasons: list[Reason] = []
    if text.count("\n") >= 2:
        items = len(_LIST_ITEM.findall(text))
        if points := _steps(items, (3, 8)):
            reasons.append((f"list of {items} items", points))
    questions = text.count("?") + text.count("\uff1f")
    if points := _steps(questions, (2, 4)):
        reasons.append((f"{questions} questions", points))
    constraints = _count_words(lowered, _CONSTRAINT_WORDS)
    if points := _steps(constraints, (2, 5)):
        reasons.append((f"{constraints} constraints", points))
    return reasons


# A line counts as code when it opens like a statement or closes like one.
_CODE_KEYWORDS = _terms(
    "def | class | import | function | const | let | var | fn | func | pub | "
    "public | private | package"
)
_CODE_LINE_STARTS = tuple(f"{keyword} " for keyword in _CODE_KEYWORDS) + _terms(
    "#include | return | if ( | if( | for ( | for( | while ( | while( | } | @"
)
_CODE_LINE_ENDS = (";", "{", "}")
_LANGUAGES = _terms(
    "python | javascript | typescript | java | kotlin | swift | rust | golang | "
    "ruby | php | haskell | scala | elixir | clojure | ocaml | perl | lua | "
    "bash | powershell | sql | c++ | c# | react | django | flask | fastapi | "
    "node.js | kubernetes | terraform | dockerfile | regex | cuda | verilog"
)
_CODING_TASKS = _terms(
    "implement | refactor | debug | traceback | stack trace | stacktrace | "
    "segfault | compile error | unit test | unit tests | failing test | "
    "failing tests | fix the bug | fix this bug | fix the build | "
    "function that | function to | script that | script to | program that | "
    "program to | class that | query that | query to | pull request | "
    "code review"
)


def _code(text: str, lowered: str) -> list[Reason]:
    reasons: list[Reason] = []
    blocks = text.count("```") // 2
    if blocks:
        label = "code block" if blocks == 1 else f"{blocks} code blocks"
        reasons.append((label, 3 if blocks >= 3 else 2))
    if text.count("\n") >= 2:
        lines = _count_code_lines(lowered)
        if points := _steps(lines, (3, 30)):
            reasons.append((f"{lines} code-like lines", points))
    if language := _first_word(lowered, _LANGUAGES):
        reasons.append((f"mentions {language}", 1))
    if task := _first_word(lowered, _CODING_TASKS):
        reasons.append((f"coding task ('{task}')", 1))
    return reasons


def _count_code_lines(lowered: str) -> int:
    count = 0
    for line in lowered.splitlines():
        line = line.strip()
        if (
            line.startswith(_CODE_LINE_STARTS)
            or line.endswith(_CODE_LINE_ENDS)
            or "=>" in line
            or "->" in line
            or (line.startswith("from ") and " import " in line)
            or (line.startswith("select ") and " from " in line)
        ):
            count += 1
    return count


_LATEX = re.compile(
    r"\\(?:frac|sum|int|sqrt|lim|prod|partial|nabla|mathbb|begin\{)"
    r"|\$[^$\n]{1,200}\$"
)
_MATHS_SYMBOL = re.compile(
    r"[\u2211\u222b\u221a\u2264\u2265\u2260\u221e\u03c0"
    r"\u2202\u2207\u2200\u2203\u2208\u2282\u2248\u00b1]"
)
_POWER = re.compile(r"(?:\^|\*\*)\s*\d")
# f(x) = ..., or an operator, a number and an equals sign: "2x + 3 = 7".
_EQUATION = re.compile(r"\(\s*[a-z]\s*\)\s*=(?!=)|[+\-*/]\s*\d+\s*=\s*-?\d")
_PROOF_WORDS = _terms(
    "prove | proves | proving | proof | proofs | theorem | lemma | corollary | "
    "by induction"
)
_MATHS_TOPICS = _terms(
    "integral | integrals | derivative | derivatives | eigenvalue | "
    "eigenvalues | eigenvector | eigenvectors | matrix | matrices | "
    "probability | expected value | variance | polynomial | modulo | "
    "combinatorics | differential equation | convex | asymptotic | big-o | "
    "complexity"
)


def _maths(text: str, lowered: str) -> list[Reason]:
    reasons: list[Reason] = []
    if ("\\" in text or "$" in text) and _LATEX.search(text):
        reasons.append(("LaTeX maths", 2))
    if _MATHS_SYMBOL.search(text):
        reasons.append(("maths symbols", 1))
    if (("^" in text or "**" in text) and _POWER.search(text)) or (
        "=" in text and _EQUATION.search(lowered)
    ):
        reasons.append(("equation", 1))
    if proof := _first_word(lowered, _PROOF_WORDS):
        reasons.append((f"proof ('{proof}')", 3))
    if topic := _first_word(lowered, _MATHS_TOPICS):
        reasons.append((f"maths ('{topic}')", 1))
    return reasons


_REASONING_CUES: tuple[tuple[int, tuple[str, ...]], ...] = (
    (2, _terms("design | designing | architecture | architect | architectural")),
    (2, _terms("trade-off | trade-offs | tradeoff | tradeoffs | trade off")),
    (2, _terms("pros and cons")),
    (2, _terms("step by step | step-by-step")),
    (2, _terms("root cause")),
    (2, _terms("compare | comparing | comparison | versus | vs | vs.")),
    (2, _terms("analyse | analyze | analysing | analyzing | analysis")),
    (1, _terms("why")),
    (1, _terms("explain | explaining | explanation")),
    (1, _terms("evaluate | assess | critique | justify")),
    (
        1,
        _terms(
            "optimise | optimize | optimising | optimizing | optimisation"
            " | optimization"
        ),
    ),
    (1, _terms("plan | strategy")),
    (1, _terms("think carefully | think hard | think through | reason about")),
    (1, _terms("edge case | edge cases")),
)


def _reasoning(lowered: str) -> list[Reason]:
    reasons: list[Reason] = []
    for points, terms in _REASONING_CUES:
        if cue := _first_word(lowered, terms):
            reasons.append((f"asks to reason ('{cue}')", points))
    return reasons


def _tool_use(call: CallFeatures) -> list[Reason]:
    reasons: list[Reason] = []
    if points := _steps(call.tool_calls, (1, 3, 10, 30, 60)):
        reasons.append((f"{call.tool_calls:,} tool calls in the session", points))
    if points := _steps(call.session_calls, (5, 20, 60)):
        reasons.append((f"{call.session_calls:,} calls in the session", points))
    return reasons


_LONG_ANSWER_WORDS = _terms(
    "detailed | comprehensive | in-depth | in depth | thorough | exhaustive | "
    "full | complete"
)
_LONG_ANSWER = re.compile(
    r"(?:detailed|comprehensive|in[- ]depth|thorough|exhaustive|full|complete)"
    r" (?:\w+ )?(?:report|essay|article|document|guide|analysis|review"
    r"|specification|spec|plan|implementation|tutorial)\b"
)
_WORD_COUNT = re.compile(r"\b\d{3,},? words\b")


def _answer_length(call: CallFeatures, lowered: str) -> list[Reason]:
    if call.output_tokens is not None:
        points = _steps(call.output_tokens, (300, 1_000, 4_000))
        label = f"answer of {call.output_tokens:,} tokens"
        return [(label, points)] if points else []
    cue = None
    if _first_word(lowered, _LONG_ANSWER_WORDS):
        cue = _LONG_ANSWER.search(lowered)
    if cue is None and " words" in lowered:
        cue = _WORD_COUNT.search(lowered)
    if cue is not None:
        return [(f"asks for a long answer ('{cue.group()}')", 1)]
    return []


def _system_prompt(call: CallFeatures) -> list[Reason]:
    tokens = call.system_prompt_tokens
    if tokens >= 4_000:
        return [(f"system prompt of {tokens:,} tokens", 1)]
    return []
