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

from costaudit.strategies.guards.aggregates import AggregateGuard
from costaudit.strategies.guards.antonyms import AntonymGuard
from costaudit.strategies.guards.base import Guard, Rejection, ScoredGuard, run_guards
from costaudit.strategies.guards.entities import EntityGuard
from costaudit.strategies.guards.negation import NegationGuard
from costaudit.strategies.guards.numbers import NumberGuard
from costaudit.strategies.guards.order import OrderGuard
from costaudit.strategies.guards.swap import SwapGuard, swapped_word

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
    "swapped_word",
]

DEFAULT_GUARDS: tuple[Guard, ...] = (
    NumberGuard(),
    EntityGuard(),
    OrderGuard(),
    NegationGuard(),
    AntonymGuard(),
    AggregateGuard(),
    SwapGuard(),
)
