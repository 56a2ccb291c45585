"""Facts about records that several strategies need, each worked out once:
system prompt token counts, whether a prompt's answer can go stale, how hard
a call is, which sessions belong together and which models served a task."""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from costaudit.analysis.advisor.history import History, Row
from costaudit.analysis.advisor.prices import Prices
from costaudit.analysis.advisor.settings import AdvisorSettings
from costaudit.strategies.cache_key import StableText, stable_system_prompt
from costaudit.strategies.difficulty import (
    CallFeatures,
    Difficulty,
    classify_difficulty,
    estimate_tokens,
)
from costaudit.strategies.tokens import (
    TokenizerUnavailable,
    count_tokens,
    encoding_for_model,
)
from costaudit.strategies.volatility import Volatility, assess_volatility

log = logging.getLogger(__name__)

SessionKey = tuple[str, str]
"""(profile, session id)."""


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


@dataclass(frozen=True)
class Prefix:
    """The start of every call's prompt that repeats from call to call: the
    system prompt and the tool schemas, as far as the logs show it."""

    tokens: int
    how: str
    """Where the figure comes from, for the report."""


def work_key(row: Row) -> tuple[str, ...]:
    """What a model has to be good at to take over a record's calls: its
    profile and task for the main loop, the side call's kind otherwise (a
    title or a summary is the same job in every profile)."""
    if row.is_main:
        return ("main", row.profile, row.task)
    return ("side", row.call_kind)


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
        self._stable: dict[str, tuple[StableText, str]] = {}
        self.memo: dict[str, Any] = {}
        """Results one strategy works out and another reuses (the exact
        cache's hits, which the semantic cache counts beyond)."""

    def stable_system_prompt(self, row: Row) -> StableText | None:
        """The record's system prompt with its date and session id lines
        masked, as a live cache keys on it; None when its text was not kept."""
        found = self._stable_of(row)
        return None if found is None else found[0]

    def system_key(self, row: Row, *, raw: bool = False) -> str | None:
        """What stands for the record's system prompt in a cache key: a digest
        of its masked text, or of the text as sent with ``raw``. A prompt
        whose text was not kept can only be compared as sent."""
        if raw or row.system_prompt_hash is None:
            return row.system_prompt_hash
        found = self._stable_of(row)
        return row.system_prompt_hash if found is None else found[1]

    def _stable_of(self, row: Row) -> tuple[StableText, str] | None:
        digest = row.system_prompt_hash
        if digest is None:
            return None
        found = self._stable.get(digest)
        if found is None:
            text = self.history.system_prompt(row)
            if text is None:
                return None
            stable = stable_system_prompt(text)
            key = hashlib.sha256(stable.text.encode("utf-8")).hexdigest()[:32]
            found = self._stable[digest] = (stable, key)
        return found

    def system_prompt_size(self, row: Row) -> PromptSize | None:
        """Tokens of the system prompt the record's calls sent, as its model
        counts them. Side calls (titles, compression, ...) send prompts of
        their own, not the session's, so they have none here."""
        if not row.is_main:
            return None
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
            # Said once: every other prompt would fail for the same reason.
            if self.tokenizer_error is None:
                log.warning("cannot count system prompt tokens: %s", exc)
            self.tokenizer_error = str(exc)
            return None

    def volatility(self, row: Row) -> Volatility:
        """Whether the record's first prompt may get another answer later."""
        return self._volatility(row.first_prompt or "", scheduled=row.scheduled)

    def cacheable(self, row: Row) -> bool:
        """A priced main-loop record with a prompt a cache could key on."""
        return row.is_main and row.priced and bool(row.first_prompt)

    @cached_property
    def roots(self) -> dict[SessionKey, SessionKey]:
        """Each session's first ancestor in the window.

        Hermes ends a session when it compresses the context and goes on in a
        child session (``parent_session_id``): the two are one piece of work.
        """
        parents: dict[SessionKey, SessionKey] = {}
        for row in self.history.rows:
            if row.parent_session_id:
                parents[row.session] = (row.profile, row.parent_session_id)
        present = {row.session for row in self.history.rows}
        roots: dict[SessionKey, SessionKey] = {}
        for session in present:
            seen = {session}
            current = session
            while (parent := parents.get(current)) in present and parent not in seen:
                assert parent is not None
                seen.add(parent)
                current = parent
            roots[session] = current
        return roots

    def root(self, row: Row) -> SessionKey:
        """The session a record's work started in (itself, unless continued)."""
        return self.roots.get(row.session, row.session)

    @cached_property
    def session_calls(self) -> dict[SessionKey, int]:
        """API calls per session, continuations counted with their root."""
        totals: dict[SessionKey, int] = defaultdict(int)
        for row in self.history.rows:
            totals[self.root(row)] += row.calls
        return dict(totals)

    @cached_property
    def session_tool_calls(self) -> dict[SessionKey, int]:
        """Tool calls per root session, where the source counted them."""
        # The count is a session figure, repeated on each main-loop record.
        per_session: dict[SessionKey, int] = {}
        for row in self.history.rows:
            if row.tool_calls is not None:
                known = per_session.get(row.session, 0)
                per_session[row.session] = max(known, row.tool_calls)
        totals: dict[SessionKey, int] = defaultdict(int)
        for session, count in per_session.items():
            totals[self.roots.get(session, session)] += count
        return dict(totals)

    @cached_property
    def served(self) -> dict[tuple[str, ...], frozenset[str]]:
        """The models that did each kind of work (see :func:`work_key`)."""
        models: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for row in self.history.rows:
            models[work_key(row)].add(row.model)
        return {key: frozenset(found) for key, found in models.items()}

    def has_served(self, model: str, row: Row) -> bool:
        """Whether ``model`` did the record's kind of work in the history."""
        return model in self.served.get(work_key(row), frozenset())

    @cached_property
    def _shortest_prompts(self) -> dict[tuple[str, str], Prefix]:
        """Per (profile, model), the fewest prompt tokens a main-loop call
        sent: every call sends at least the repeated prefix, and the
        shortest one sends little else."""
        records: dict[tuple[str, str], tuple[int, int]] = {}
        for row in self.history.rows:
            if not row.is_main or not row.calls or not row.prompt_tokens:
                continue
            key = (row.profile, row.model)
            low, count = records.get(key, (row.prompt_tokens, 0))
            records[key] = (min(low, row.prompt_tokens // row.calls), count + 1)
        found: dict[tuple[str, str], Prefix] = {}
        for key, (low, count) in records.items():
            logged = self.history.shortest_call_prompts.get(key)
            if logged is not None and logged[0] <= low:
                how = f"the smallest prompt of {logged[1]:,} logged calls"
                found[key] = Prefix(logged[0], how)
            else:
                how = f"the smallest prompt per call of {count:,} records"
                found[key] = Prefix(low, how)
        return found

    def prefix(self, row: Row) -> Prefix | None:
        """An estimate of the record's repeated prompt prefix (main loop only):
        the smallest prompt its profile sent to its model, and never less
        than its own system prompt."""
        if not row.is_main:
            return None
        size = self.system_prompt_size(row)
        shortest = self._shortest_prompts.get((row.profile, row.model))
        if shortest is None or (size is not None and size.tokens > shortest.tokens):
            if size is None:
                return None
            return Prefix(size.tokens, f"its system prompt ({size.label})")
        return shortest

    def difficulty(self, row: Row) -> Difficulty | None:
        """The call's tier; None for a main call whose prompt was not kept."""
        if row.is_main and not row.first_prompt:
            return None
        return self._difficulty(self.features(row))

    def features(self, row: Row) -> CallFeatures:
        """What the classifier reads of a record, per call."""
        size = self.system_prompt_size(row)
        calls = max(row.calls, 1)
        root = self.root(row)
        return CallFeatures(
            prompt=row.first_prompt or "",
            system_prompt_tokens=size.tokens if size else 0,
            output_tokens=row.output_tokens // calls,
            tool_calls=self.session_tool_calls.get(root, 0),
            session_calls=self.session_calls.get(root, row.calls),
            call_kind=row.call_kind,
            prompt_tokens=self._conversation_tokens(row),
        )

    def _conversation_tokens(self, row: Row) -> int | None:
        """Prompt tokens a call sent besides the repeated prefix: the messages
        so far and the tool results, averaged over the record's calls.

        The first prompt's text alone says nothing of the context a model
        has to read in a tool-using session; the prefix (system prompt and
        tool schemas) is the same for easy and hard calls, and tool use is
        scored on its own.
        """
        if not row.prompt_tokens or not row.is_main:
            return None
        prefix = self.prefix(row)
        per_call = row.prompt_tokens // max(row.calls, 1)
        asked = estimate_tokens(row.first_prompt or "")
        return max(per_call - (prefix.tokens if prefix else 0), asked)

    @cached_property
    def unknown_tool_calls(self) -> int:
        """Main-loop calls whose session's tool calls the source did not say."""
        known = set(self.session_tool_calls)
        return sum(
            row.calls
            for row in self.history.rows
            if row.is_main and self.root(row) not in known
        )
