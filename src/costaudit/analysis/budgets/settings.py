"""Budgets as the config file declares them.

::

    timezone = "Europe/Berlin"

    [[budgets]]
    name = "ayva monthly"
    scope = "profile:ayva"       # everything, profile:, task:, model:, provider:
    period = "month"             # day, week (Monday to Sunday) or month
    rolling = false              # true: the last 1, 7 or 30 days up to now
    limit_usd = 40
    limit_tokens = 50_000_000    # either limit, or both
    thresholds = [50, 80, 100]   # percent of the limit, at most 3 decimals

    [notifications]
    urls = ["json://127.0.0.1:8765/hook", "tgram://bot-token/chat-id"]
    max_attempts = 12            # a failed alert is given up after this many

A key these tables do not know is refused, with the closest known key, so a
misspelt ``limit_uds`` cannot leave a budget without the limit it meant.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from costaudit.config import Config, Section
from costaudit.errors import ConfigError

ROLLING_DAYS = {"day": 1, "week": 7, "month": 30}
"""Length of each rolling period; a rolling month is 30 days."""
SCOPE_KINDS = ("profile", "task", "model", "provider")
EVERYTHING = "everything"
DEFAULT_THRESHOLDS = (Decimal(50), Decimal(80), Decimal(100))
BUDGET_KEYS = (
    "name", "scope", "period", "rolling", "limit_usd", "limit_tokens", "thresholds",
)  # fmt: skip
NOTIFICATION_KEYS = ("urls", "max_attempts")
DEFAULT_MAX_ATTEMPTS = 12
# The ledger keeps thresholds as DECIMAL(9, 3): a finer value would be stored
# rounded and never match the configured one, so it would alert on every run.
THRESHOLD_PLACES = Decimal("0.001")
MAX_THRESHOLD = Decimal("999999.999")


def suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class Scope:
    """Which usage records a budget counts."""

    kind: str
    """``everything`` or one of :data:`SCOPE_KINDS`."""
    value: str = ""

    def __str__(self) -> str:
        return self.kind if self.kind == EVERYTHING else f"{self.kind}:{self.value}"

    def where(self) -> tuple[str, list[Any]]:
        """A SQL condition on the ``usage`` table and its parameters."""
        if self.kind == EVERYTHING:
            return "TRUE", []
        column = "coalesce(provider, '')" if self.kind == "provider" else self.kind
        return f"{column} = ?", [self.value]

    @classmethod
    def parse(cls, text: str, section: Section) -> Scope:
        if text == EVERYTHING:
            return cls(EVERYTHING)
        kind, colon, value = text.partition(":")
        if not colon or kind not in SCOPE_KINDS or not value:
            choices = [EVERYTHING, *(f"{k}:NAME" for k in SCOPE_KINDS)]
            hint = suggest(kind, [EVERYTHING, *SCOPE_KINDS])
            raise section._fail("scope", f"one of {', '.join(choices)}{hint}", text)
        return cls(kind, value)


@dataclass(frozen=True)
class Budget:
    name: str
    scope: Scope
    period: str
    """``day``, ``week`` or ``month``."""
    rolling: bool
    limit_usd: Decimal | None
    limit_tokens: int | None
    """Tokens of every kind: prompt (cached or not) and output."""
    thresholds: tuple[Decimal, ...]
    """Percentages of the limit, ascending."""

    @property
    def period_label(self) -> str:
        return f"rolling {self.period}" if self.rolling else self.period


def refuse_unknown_keys(section: Section, known: tuple[str, ...]) -> None:
    """A key outside ``known`` is an error naming it and the closest known key."""
    for key in section:
        if key not in known:
            hint = suggest(key, list(known)) or f" (known: {', '.join(known)})"
            name = f"{section.where}.{key}" if section.where else key
            raise ConfigError(f"{section.path}: {name} is not a known key{hint}")


def _threshold(section: Section, item: object, raw: object) -> Decimal:
    expected = "a non-empty list of percentages above 0"
    if isinstance(item, bool) or not isinstance(item, int | float) or item <= 0:
        raise section._fail("thresholds", expected, raw)
    value = Decimal(str(item))
    if value != value.quantize(THRESHOLD_PLACES) or value > MAX_THRESHOLD:
        raise section._fail(
            "thresholds",
            f"percentages of at most 3 decimals, up to {MAX_THRESHOLD}",
            raw,
        )
    return value.normalize()


def _thresholds(section: Section) -> tuple[Decimal, ...]:
    raw = section.data.get("thresholds")
    if raw is None:
        return DEFAULT_THRESHOLDS
    if not isinstance(raw, list) or not raw:
        raise section._fail(
            "thresholds", "a non-empty list of percentages above 0", raw
        )
    return tuple(sorted({_threshold(section, item, raw) for item in raw}))


def _budget(section: Section) -> Budget:
    refuse_unknown_keys(section, BUDGET_KEYS)
    name = section.string("name")
    if not name:
        raise section._fail("name", "a non-empty string", name)
    period = section.string("period", "month") or "month"
    if period not in ROLLING_DAYS:
        choices = list(ROLLING_DAYS)
        hint = suggest(period, choices)
        raise section._fail("period", f"one of {', '.join(choices)}{hint}", period)
    limit_usd = section.money("limit_usd")
    limit_tokens = section.integer("limit_tokens")
    if limit_usd is None and limit_tokens is None:
        raise section._fail("limit_usd", "set (or limit_tokens set)", None)
    if limit_usd == 0 or limit_tokens == 0:
        key = "limit_usd" if limit_usd == 0 else "limit_tokens"
        raise section._fail(key, "above zero", 0)
    return Budget(
        name=name,
        scope=Scope.parse(section.string("scope", EVERYTHING) or EVERYTHING, section),
        period=period,
        rolling=section.boolean("rolling", False),
        limit_usd=limit_usd,
        limit_tokens=limit_tokens,
        thresholds=_thresholds(section),
    )


def budgets_from_config(config: Config) -> list[Budget]:
    """Every ``[[budgets]]`` table, checked; names must be unique."""
    budgets = [_budget(section) for section in config.root.tables("budgets")]
    seen: set[str] = set()
    for budget in budgets:
        if budget.name in seen:
            raise ConfigError(
                f"{config.root.path}: two budgets are named {budget.name!r}; "
                "a name keeps a budget's alert history, so each must be unique"
            )
        seen.add(budget.name)
    return budgets


def notification_urls(config: Config) -> list[str]:
    """The apprise URLs alerts go to (``[notifications] urls``)."""
    section = config.section("notifications")
    refuse_unknown_keys(section, NOTIFICATION_KEYS)
    return section.strings("urls")


def max_attempts(config: Config) -> int:
    """How many times a failed alert is sent before it is given up."""
    section = config.section("notifications")
    value = section.integer("max_attempts", DEFAULT_MAX_ATTEMPTS)
    if not value:
        raise section._fail("max_attempts", "a whole number above 0", value)
    return value
