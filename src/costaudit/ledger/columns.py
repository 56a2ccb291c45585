"""Turning records and events into columns DuckDB can insert in one statement.

Row-by-row inserts into DuckDB cost about a millisecond each; handing it a
dict of NumPy arrays inserts a hundred thousand rows in a fraction of that.
NumPy is imported when a column is first made: a scan that finds nothing
new, or a report, need not pay a tenth of a second for it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import MISSING, fields
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from costaudit.record import TOKEN_FIELDS, UsageRecord
from costaudit.sources.base import CallEvent, PathState, RecordTable

if TYPE_CHECKING:
    import numpy as np
else:

    class _NumPy:
        """The ``numpy`` module, imported on first use."""

        def __getattr__(self, name: str) -> Any:
            import numpy

            return getattr(numpy, name)

    np = _NumPy()

Columns = dict[str, Any]


def objects(values: Sequence[object]) -> Any:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _epoch(values: Sequence[datetime]) -> Any:
    return np.array([v.timestamp() for v in values], dtype=np.float64)


def record_columns(records: Sequence[UsageRecord], scanned_at: float) -> Columns:
    """Columns of the ``usage`` table (without the pricing ones)."""
    r = records
    return {
        "source": objects([x.source for x in r]),
        "record_key": objects([x.record_key for x in r]),
        "source_path": objects([x.source_path for x in r]),
        "profile": objects([x.profile for x in r]),
        "session_id": objects([x.session_id for x in r]),
        "parent_session_id": objects([x.parent_session_id for x in r]),
        "platform": objects([x.platform for x in r]),
        "task": objects([x.task for x in r]),
        "call_kind": objects([x.call_kind for x in r]),
        "model": objects([x.model for x in r]),
        "provider": objects([x.provider for x in r]),
        "endpoint": objects([x.endpoint for x in r]),
        "is_local": objects([x.is_local for x in r]),
        "started_at": _epoch([x.started_at for x in r]),
        "ended_at": _epoch([x.ended_at for x in r]),
        "calls": np.array([x.calls for x in r], dtype=np.int64),
        "input_tokens": np.array([x.input_tokens for x in r], dtype=np.int64),
        "cache_read_tokens": np.array([x.cache_read_tokens for x in r], dtype=np.int64),
        "cache_write_tokens": np.array(
            [x.cache_write_tokens for x in r], dtype=np.int64
        ),
        "output_tokens": np.array([x.output_tokens for x in r], dtype=np.int64),
        "reasoning_tokens": np.array([x.reasoning_tokens for x in r], dtype=np.int64),
        "title": objects([x.title for x in r]),
        "first_prompt": objects([x.first_prompt for x in r]),
        "system_prompt_hash": objects([x.system_prompt_hash for x in r]),
        "system_prompt_chars": objects(
            [len(x.system_prompt) if x.system_prompt else None for x in r]
        ),
        "cron_job_id": objects([x.cron_job_id for x in r]),
        "agent_cost_usd": objects(
            [None if x.agent_cost_usd is None else str(x.agent_cost_usd) for x in r]
        ),
        "agent_cost_status": objects([x.agent_cost_status for x in r]),
        "agent_cost_source": objects([x.agent_cost_source for x in r]),
        "extra": objects(
            [json.dumps(x.extra, sort_keys=True) if x.extra else None for x in r]
        ),
        "scanned_at": np.full(len(r), scanned_at, dtype=np.float64),
        "tool_calls": objects([x.tool_calls for x in r]),
    }


RECORD_COLUMNS = (
    "source", "record_key", "source_path", "profile", "session_id",
    "parent_session_id", "platform", "task", "call_kind", "model", "provider",
    "endpoint", "is_local", "started_at", "ended_at", "calls", "input_tokens",
    "cache_read_tokens", "cache_write_tokens", "output_tokens",
    "reasoning_tokens", "title", "first_prompt", "system_prompt_hash",
    "system_prompt_chars", "cron_job_id", "agent_cost_usd", "agent_cost_status",
    "agent_cost_source", "extra", "scanned_at", "tool_calls",
)  # fmt: skip
"""The columns :func:`record_columns` makes, in order."""
_COUNTS = ("calls", *TOKEN_FIELDS)
_TIMES = ("started_at", "ended_at")


def table_columns(table: RecordTable, scanned_at: float) -> Columns:
    """Columns of the ``usage`` table from a :class:`RecordTable`."""
    n = len(table)
    defaults = _record_defaults()
    found: Columns = {}
    for name in RECORD_COLUMNS:
        if name == "scanned_at":
            found[name] = np.full(n, scanned_at, dtype=np.float64)
        elif name in ("system_prompt_hash", "system_prompt_chars"):
            found[name] = np.empty(n, dtype=object)
        elif name in table.columns:
            found[name] = _column(name, table.columns[name])
        else:
            value = table.constants.get(name, defaults.get(name))
            found[name] = _constant(name, value, n)
    return found


def _constant(name: str, value: Any, n: int) -> Any:
    """A column of ``n`` times the same value (an empty object array is all
    None already)."""
    if value is None and name not in _COUNTS and name not in _TIMES:
        return np.empty(n, dtype=object)
    one = _column(name, [value])
    return np.full(n, one[0], dtype=one.dtype)


def _column(name: str, values: list[Any]) -> Any:
    if name in _COUNTS:
        return np.array(values, dtype=np.int64)
    if name in _TIMES:
        return np.array(values, dtype=np.float64)
    if name == "agent_cost_usd":
        return objects([None if v is None else str(v) for v in values])
    if name == "extra":
        return objects([json.dumps(v, sort_keys=True) if v else None for v in values])
    return objects(values)


@lru_cache(maxsize=1)
def _record_defaults() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in fields(UsageRecord):
        if item.default is not MISSING:
            found[item.name] = item.default
        elif item.default_factory is not MISSING:
            found[item.name] = item.default_factory()
    return found


def batch_columns(
    records: Sequence[UsageRecord], tables: Sequence[RecordTable], scanned_at: float
) -> Columns:
    """Columns of records given one by one and as tables, the last record of
    each key only (a streamed message is written several times)."""
    parts = [table_columns(t, scanned_at) for t in tables if len(t)]
    if records or not parts:
        parts.append(record_columns(records, scanned_at))
    merged = (
        parts[0]
        if len(parts) == 1
        else {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    )
    record_keys = merged["record_key"].tolist()
    if len(set(record_keys)) == len(record_keys):
        return merged
    keys = zip(merged["source"].tolist(), record_keys, strict=True)
    last = {key: index for index, key in enumerate(keys)}
    if len(last) == len(record_keys):
        return merged
    kept = np.fromiter(sorted(last.values()), dtype=np.int64)
    return {name: values[kept] for name, values in merged.items()}


RECORD_COMPARED = tuple(
    name
    for name in RECORD_COLUMNS
    if name not in ("source", "record_key", "source_path", "scanned_at")
)
"""The columns a source fills, but for the key and the path the record was
read from: a record read again with all of them equal is unchanged (a line
repeated in another file, or a rotated log, is not new)."""

RECORD_SELECT = """
    source, record_key, source_path, profile, session_id, parent_session_id,
    platform, task, call_kind, model, provider, endpoint, is_local::BOOLEAN,
    to_timestamp(started_at), to_timestamp(ended_at), calls, input_tokens,
    cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
    title, first_prompt, system_prompt_hash, system_prompt_chars::BIGINT,
    cron_job_id, agent_cost_usd::DECIMAL(24, 12), agent_cost_status,
    agent_cost_source, extra, to_timestamp(scanned_at),
    NULL, NULL, NULL, NULL, NULL, tool_calls::BIGINT
"""


def event_columns(events: Sequence[CallEvent]) -> Columns:
    e = events
    return {
        "source": objects([x.source for x in e]),
        "event_key": objects([x.event_key for x in e]),
        "path": objects([x.path for x in e]),
        "at": _epoch([x.at for x in e]),
        "profile": objects([x.profile for x in e]),
        "model": objects([x.model for x in e]),
        "provider": objects([x.provider for x in e]),
        "endpoint": objects([x.endpoint for x in e]),
        "session_id": objects([x.session_id for x in e]),
        "prompt_tokens": np.array([x.prompt_tokens for x in e], dtype=np.int64),
        "cache_read_tokens": np.array([x.cache_read_tokens for x in e], dtype=np.int64),
        "output_tokens": np.array([x.output_tokens for x in e], dtype=np.int64),
        "latency_s": np.array(
            [np.nan if x.latency_s is None else x.latency_s for x in e]
        ),
        "prompt_eval_s": np.array(
            [np.nan if x.prompt_eval_s is None else x.prompt_eval_s for x in e]
        ),
        "eval_s": np.array([np.nan if x.eval_s is None else x.eval_s for x in e]),
    }


EVENT_COLUMNS = (
    "source", "event_key", "path", "at", "profile", "model", "provider",
    "endpoint", "session_id", "prompt_tokens", "cache_read_tokens",
    "output_tokens", "latency_s", "prompt_eval_s", "eval_s",
)  # fmt: skip
"""The columns :func:`event_columns` makes, in order."""

EVENT_COMPARED = tuple(
    name for name in EVENT_COLUMNS if name not in ("source", "event_key", "path", "at")
)
"""Like :data:`RECORD_COMPARED`, for call events; and an event keeps the time
it was first given, since a log without dates dates its lines by the file's
modification time, which a rotated copy of the log does not keep."""

EVENT_SELECT = """
    source, event_key, path, to_timestamp("at"), profile, model, provider,
    endpoint, session_id, prompt_tokens, cache_read_tokens, output_tokens,
    nullif(latency_s, 'NaN'::DOUBLE), nullif(prompt_eval_s, 'NaN'::DOUBLE),
    nullif(eval_s, 'NaN'::DOUBLE)
"""


def state_columns(states: Sequence[PathState]) -> Columns:
    s = states
    return {
        "source": objects([x.source for x in s]),
        "path": objects([x.path for x in s]),
        "identity": objects([x.identity for x in s]),
        "size": np.array([x.size for x in s], dtype=np.int64),
        "consumed": np.array([x.offset for x in s], dtype=np.int64),
        "watermark": np.array(
            [np.nan if x.watermark is None else x.watermark for x in s]
        ),
        "records": np.array([x.records for x in s], dtype=np.int64),
        "issues": np.array([x.issues for x in s], dtype=np.int64),
    }


STATE_SELECT = """
    source, path, identity, size, consumed, nullif(watermark, 'NaN'::DOUBLE),
    records, issues, to_timestamp(?)
"""
