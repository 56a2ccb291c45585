"""The usage records an advice covers, loaded once and shared by every strategy.

Records are kept in time order; a strategy refers to one by its position
(``Row.index``), and says what it would cost after the change, so the
combined projection can apply several strategies to the same record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from costaudit.analysis.infra import window_days
from costaudit.analysis.window import DAYS_PER_MONTH, Window
from costaudit.ledger.store import Ledger
from costaudit.pricing.library import Tokens
from costaudit.record import MAIN_CALL

log = logging.getLogger(__name__)

SCHEDULED_PLATFORMS = frozenset({"cron", "batch"})


@dataclass(frozen=True, slots=True)
class Row:
    """One usage record: a session's calls to one model, of one kind."""

    index: int
    profile: str
    session_id: str
    task: str
    call_kind: str
    platform: str | None
    model: str
    provider: str | None
    endpoint: str | None
    local: bool
    epoch: float
    calls: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    first_prompt: str | None
    system_prompt_hash: str | None
    cron_job_id: str | None
    cost: Decimal | None
    """What the ledger says it cost; None when unpriced."""
    parent_session_id: str | None = None
    """The session this one continues (after compression) or branched from."""
    tool_calls: int | None = None
    """Tool calls of the session's main loop; None when the source does not
    say (see :attr:`costaudit.record.UsageRecord.tool_calls`)."""
    end_epoch: float | None = None
    """When the record's last call ended; None where unknown."""

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.epoch, tz=UTC)

    @property
    def tokens(self) -> Tokens:
        return Tokens(
            self.input_tokens,
            self.cache_read_tokens,
            self.cache_write_tokens,
            self.output_tokens,
            self.calls,
        )

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def is_main(self) -> bool:
        return self.call_kind in (MAIN_CALL, "")

    @property
    def scheduled(self) -> bool:
        """Run by a scheduler, not by a person waiting for the answer."""
        return self.platform in SCHEDULED_PLATFORMS or self.cron_job_id is not None

    @property
    def priced(self) -> bool:
        return self.cost is not None

    @property
    def session(self) -> tuple[str, str]:
        return self.profile, self.session_id

    @property
    def operation(self) -> tuple[str, str]:
        """The (profile, task) the record belongs to."""
        return self.profile, self.task


@dataclass(frozen=True, slots=True)
class Call:
    """One call of a session, from a log that records each (``call_events``)."""

    epoch: float
    prompt_tokens: int
    """The whole prompt, cache reads included."""
    cache_read_tokens: int
    output_tokens: int


CallKey = tuple[str, str, str]
"""(profile, session id, model): the calls of a session on one model."""


_SELECT = """
    SELECT profile, session_id, task, call_kind, platform, model, provider,
           endpoint, coalesce(local, false), epoch(started_at), calls,
           input_tokens, cache_read_tokens, cache_write_tokens, output_tokens,
           first_prompt, system_prompt_hash, cron_job_id, cost_usd,
           parent_session_id, tool_calls, epoch(ended_at)
    FROM usage WHERE {where}
    ORDER BY started_at, source, record_key
"""


@dataclass(frozen=True)
class History:
    """The window's records in time order, their system prompts, the period."""

    rows: tuple[Row, ...]
    system_prompts: dict[str, str]
    days: int
    window: Window
    shortest_call_prompts: dict[tuple[str, str], tuple[int, int]] = field(
        default_factory=dict
    )
    """(profile, model) to the fewest prompt tokens one call sent, and the
    number of calls seen, from logs that record each call (``call_events``)."""
    call_log: dict[CallKey, tuple[Call, ...]] = field(default_factory=dict)
    """Each call, in time order, of the window's sessions that a log records
    call by call (Hermes' agent.log); other sessions have none here."""

    @classmethod
    def load(cls, ledger: Ledger, window: Window) -> History:
        where, params = window.where()
        fetched = ledger.fetch(_SELECT.format(where=where), params)
        rows = tuple(_row(i, values) for i, values in enumerate(fetched))
        hashes = sorted({r.system_prompt_hash for r in rows if r.system_prompt_hash})
        prompts = dict(
            ledger.fetch(
                "SELECT hash, text FROM prompts WHERE hash IN "
                "(SELECT unnest(?::VARCHAR[]))",
                [hashes],
            )
        )
        _first, _last, days = window_days(ledger, window)
        log.info("advice over %d records, %d days", len(rows), days)
        return cls(
            rows, prompts, days, window, _shortest_call_prompts(ledger, rows),
            _calls(ledger, rows),
        )  # fmt: skip

    def system_prompt(self, row: Row) -> str | None:
        if row.system_prompt_hash is None:
            return None
        return self.system_prompts.get(row.system_prompt_hash)

    @cached_property
    def spend_usd(self) -> Decimal:
        return sum((r.cost for r in self.rows if r.cost is not None), Decimal(0))

    @cached_property
    def calls(self) -> int:
        return sum(r.calls for r in self.rows)

    @cached_property
    def unpriced_calls(self) -> int:
        return sum(r.calls for r in self.rows if r.cost is None)

    @cached_property
    def month_factor(self) -> Decimal:
        """What turns a figure over the window into one per month."""
        return DAYS_PER_MONTH / Decimal(self.days) if self.days else Decimal(0)


def _shortest_call_prompts(
    ledger: Ledger, rows: tuple[Row, ...]
) -> dict[tuple[str, str], tuple[int, int]]:
    if not rows:
        return {}
    # Per-call events of the window's period (with a day's slack, as records
    # start at their first call and run on).
    found = ledger.fetch(
        "SELECT profile, model, min(prompt_tokens), count(*) FROM call_events "
        'WHERE "at" >= to_timestamp(?) AND "at" <= to_timestamp(?) '
        "AND prompt_tokens > 0 GROUP BY profile, model",
        [rows[0].epoch, max(r.epoch for r in rows) + 86_400],
    )
    return {(p, m): (int(low), int(n)) for p, m, low, n in found}


def _calls(ledger: Ledger, rows: tuple[Row, ...]) -> dict[CallKey, tuple[Call, ...]]:
    if not rows:
        return {}
    wanted = {(r.profile, r.session_id, r.model) for r in rows}
    found = ledger.fetch(
        'SELECT profile, session_id, model, epoch("at"), prompt_tokens, '
        "cache_read_tokens, output_tokens FROM call_events "
        'WHERE session_id IS NOT NULL AND "at" >= to_timestamp(?) '
        'AND "at" <= to_timestamp(?) ORDER BY profile, session_id, model, "at"',
        [rows[0].epoch, max(r.end_epoch or r.epoch for r in rows) + 86_400],
    )
    calls: dict[CallKey, list[Call]] = {}
    for profile, session_id, model, at, prompt, cached, output in found:
        key = (profile, session_id, model)
        if key in wanted:
            calls.setdefault(key, []).append(
                Call(float(at), int(prompt), int(cached), int(output))
            )
    return {key: tuple(found) for key, found in calls.items()}


def _row(index: int, values: tuple[Any, ...]) -> Row:
    (profile, session_id, task, call_kind, platform, model, provider, endpoint,
     local, epoch, calls, input_tokens, cache_read, cache_write, output_tokens,
     first_prompt, system_prompt_hash, cron_job_id, cost, parent,
     tool_calls, ended) = values  # fmt: skip
    return Row(
        index, profile, session_id, task, call_kind, platform, model, provider,
        endpoint, bool(local), float(epoch), calls, input_tokens, cache_read,
        cache_write, output_tokens, first_prompt, system_prompt_hash, cron_job_id,
        _decimal(cost), parent, tool_calls,
        None if ended is None else float(ended),
    )  # fmt: skip


def _decimal(value: object) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))
