"""Facts about records that several strategies need, each worked out once:
system prompt token counts, whether a prompt's answer can go stale, and
how hard a call is."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property, lru_cache

from costaudit.analysis.advisor.history import History, Row
from costaudit.analysis.advisor.prices import Prices
from costaudit.analysis.advisor.settings import AdvisorSettings
from costaudit.strategies.difficulty import (
    CallFeatures,
    Difficulty,
    classify_difficulty,
)
from costaudit.strategies.tokens import (
    TokenizerUnavailable,
    count_tokens,
    encoding_for_model,
)
from costaudit.strategies.volatility import Volatility, assess_volatility

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromptSize:
    """A system prompt's size in tokens and how it was counted."""

    tokens: int
    exact: bool
    encoding: str

    @property
    def label(self) -> str:
        how = "exact" if self.exact else "estimate"
        return f"{self.encoding}, {how}"


class Facts:
    """Derived facts, cached by what they depend on."""

    def __init__(
        self, history: History, prices: Prices, settings: AdvisorSettings
    ) -> None:
        self.history = history
        self.prices = prices
        self.settings = settings
        self.tokenizer_error: str | None = None
        self._sizes: dict[tuple[str, str], int | None] = {}
        self._volatility = lru_cache(maxsize=None)(assess_volatility)
        self._difficulty = lru_cache(maxsize=200_000)(classify_difficulty)

    def system_prompt_size(self, row: Row) -> PromptSize | None:
        """Tokens of the record's system prompt as its model counts them."""
        text = self.history.system_prompt(row)
        if not text or row.system_prompt_hash is None:
            return None
        encoding, exact = encoding_for_model(row.model)
        key = (row.system_prompt_hash, encoding)
        if key not in self._sizes:
            self._sizes[key] = self._count(text, row.model)
        tokens = self._sizes[key]
        return None if tokens is None else PromptSize(tokens, exact, encoding)

    def _count(self, text: str, model: str) -> int | None:
        try:
            return count_tokens(text, model).tokens
        except TokenizerUnavailable as exc:
            self.tokenizer_error = str(exc)
            log.warning("cannot count system prompt tokens: %s", exc)
            return None

    def volatility(self, row: Row) -> Volatility:
        """Whether the record's first prompt may get another answer later."""
        return self._volatility(row.first_prompt or "", scheduled=row.scheduled)

    def cacheable(self, row: Row) -> bool:
        """A priced main-loop record with a prompt a cache could key on."""
        return row.is_main and row.priced and bool(row.first_prompt)

    @cached_property
    def session_calls(self) -> dict[tuple[str, str], int]:
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for row in self.history.rows:
            totals[row.session] += row.calls
        return dict(totals)

    def difficulty(self, row: Row) -> Difficulty | None:
        """The call's tier; None for a main call whose prompt was not kept."""
        if row.is_main and not row.first_prompt:
            return None
        size = self.system_prompt_size(row)
        features = CallFeatures(
            prompt=row.first_prompt or "",
            system_prompt_tokens=size.tokens if size else 0,
            output_tokens=row.output_tokens // max(row.calls, 1),
            session_calls=self.session_calls.get(row.session, row.calls),
            call_kind=row.call_kind,
        )
        return self._difficulty(features)
