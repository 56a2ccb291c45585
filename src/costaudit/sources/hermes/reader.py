"""Reading usage from Hermes ``state.db`` files, read-only and incrementally.

``session_model_usage`` (schema 20 and later) holds one row per session,
model, billing route and task: the main loop (task ``''``) and each side call
(``title_generation``, ``compression``...). Its rows only grow, and
``last_seen`` moves with every write, so a rescan reads the rows seen since
the last one and replaces them in the ledger: a session still going is
updated, never counted twice. Databases from before schema 20 are read from
the ``sessions`` totals instead, whole, at every scan.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from costaudit.record import MAIN_CALL, UsageRecord
from costaudit.sources.base import PathState, ScanBatch
from costaudit.sources.hermes.home import Profile, profiles
from costaudit.sources.hermes.schema import (
    SESSION_COLUMNS,
    USAGE_COLUMNS,
    select_list,
    table_columns,
)
from costaudit.sources.hermes.tasks import TaskNamer, cron_job_id, load_cron_jobs

log = logging.getLogger(__name__)

SOURCE = "hermes"
BATCH_ROWS = 50_000
PROMPT_CHARS = 8_000
# Rows written in the same second as the last scan's newest are read again
# (and replaced, not added), so none is missed.
WATERMARK_SLACK_S = 2.0


def open_read_only(path: Path) -> sqlite3.Connection:
    """Open a SQLite file without writing to it, locking it for writes, or
    leaving files beside it.

    While Hermes has the database open in WAL mode, its ``-wal`` and ``-shm``
    files exist and a read-only connection reads a consistent snapshot
    through them. When no ``-wal`` file exists nobody is writing, and even a
    read-only connection would create ``-shm`` and ``-wal`` files it cannot
    remove; the file is then opened as immutable, which creates nothing. A
    writer that starts during that read shows up at the next scan.
    """
    uri = path.resolve().as_uri()
    if Path(f"{path}-wal").exists():
        uri += "?mode=ro"
    else:
        uri += "?mode=ro&immutable=1"
    con = sqlite3.connect(uri, uri=True, timeout=10)
    con.execute("PRAGMA query_only = ON")
    return con


def file_identity(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_dev}:{stat.st_ino}"


def _epoch(value: Any, fallback: float) -> datetime:
    seconds = float(value) if value is not None else fallback
    return datetime.fromtimestamp(seconds, tz=UTC)


def _agent_cost(
    status: str | None, estimated: Any, actual: Any
) -> tuple[Decimal | None, str | None]:
    if status == "actual" and actual:
        return Decimal(str(actual)), status
    if status == "included":
        return Decimal(0), status
    if status == "estimated" and estimated is not None:
        return Decimal(str(estimated)), status
    # 'unknown' rows carry 0.0, which is no figure at all.
    return None, status


def _message_text(content: str | None) -> str | None:
    if not content:
        return None
    if content.startswith("["):
        try:
            parts = json.loads(content)
        except ValueError:
            return content[:PROMPT_CHARS]
        if isinstance(parts, list):
            texts = [str(p.get("text", "")) for p in parts if isinstance(p, dict)]
            return " ".join(t for t in texts if t)[:PROMPT_CHARS] or None
    return content[:PROMPT_CHARS]


def _tool_calls(value: Any) -> int | None:
    """A session's tool-call count; a value that cannot be one is unknown."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


_SESSION_INFO = (
    "id",
    "source",
    "parent_session_id",
    "title",
    "system_prompt",
    "started_at",
    "ended_at",
    "tool_call_count",
)


@dataclass
class _Session:
    platform: str | None
    parent: str | None
    title: str | None
    system_prompt: str | None
    started_at: float | None
    ended_at: float | None
    tool_calls: int | None = None
    first_prompt: str | None = None


class HermesSource:
    """Every profile's ``state.db`` under one Hermes home."""

    name = SOURCE

    def __init__(self, home: Path, namer: TaskNamer) -> None:
        self.home = home
        self.namer = namer

    def locations(self) -> list[str]:
        return [str(p.state_db) for p in profiles(self.home)]

    def scan(self, states: dict[str, PathState]) -> Iterator[ScanBatch]:
        for profile in profiles(self.home):
            path = str(profile.state_db)
            previous = states.get(path, PathState(SOURCE, path))
            yield from _ProfileScan(profile, previous, self.namer).run()


class _ProfileScan:
    def __init__(self, profile: Profile, previous: PathState, namer: TaskNamer) -> None:
        self.profile = profile
        self.path = str(profile.state_db)
        self.previous = previous
        self.namer = namer
        self.cron_jobs = load_cron_jobs(profile.jobs_file)
        self.sessions: dict[str, _Session] = {}
        self.prompts: dict[str, str] = {}
        self.session_columns: str | None = None

    def fail(self, message: str) -> ScanBatch:
        return ScanBatch(
            SOURCE, self.path, self.previous, error=f"{self.path}: {message}"
        )

    def run(self) -> Iterator[ScanBatch]:
        try:
            identity = file_identity(self.profile.state_db)
            size = os.path.getsize(self.path)
            con = open_read_only(self.profile.state_db)
        except (OSError, sqlite3.Error) as exc:
            yield self.fail(f"cannot open the Hermes database: {exc}")
            return
        state = self.previous
        if state.identity != identity:
            # A new or replaced file: read it all again (rows are replaced
            # by key in the ledger, so nothing is counted twice).
            state = replace(state, identity=identity, watermark=None)
        try:
            # One read transaction: a consistent snapshot while Hermes writes.
            con.execute("BEGIN")
            tables = {
                r[0]
                for r in con.execute(
                    "SELECT name FROM sqlite_master WHERE type='table'"
                )
            }
            if "sessions" not in tables:
                yield self.fail("not a Hermes state database (no sessions table)")
                return
            if "session_model_usage" in tables:
                yield from self._read_usage(con, state, size)
            else:
                yield from self._read_sessions(con, state, size)
        except sqlite3.DatabaseError as exc:
            yield self.fail(f"not a readable SQLite database: {exc}")
        finally:
            con.close()

    def _read_usage(
        self, con: sqlite3.Connection, state: PathState, size: int
    ) -> Iterator[ScanBatch]:
        columns = select_list(
            self.path,
            "session_model_usage",
            table_columns(con, "session_model_usage"),
            USAGE_COLUMNS,
            "u",
        )
        since = (state.watermark or 0.0) - WATERMARK_SLACK_S
        newest = state.watermark
        cursor = con.execute(
            f"SELECT {columns} FROM session_model_usage u "
            "WHERE coalesce(u.last_seen, u.first_seen, 0) >= ? "
            "ORDER BY coalesce(u.last_seen, u.first_seen, 0)",
            [since if state.watermark is not None else -1.0],
        )
        total = state.records
        while rows := cursor.fetchmany(BATCH_ROWS):
            self._load_sessions(con, {row[0] for row in rows})
            records = [self._usage_record(row) for row in rows]
            for row in rows:
                seen = row[17] if row[17] is not None else row[16]
                if seen is not None and (newest is None or seen > newest):
                    newest = float(seen)
            total += len(records)
            state = replace(state, size=size, watermark=newest, records=total)
            yield ScanBatch(SOURCE, self.path, state, records)
        if total == self.previous.records and state is not self.previous:
            yield ScanBatch(SOURCE, self.path, replace(state, size=size))

    def _read_sessions(
        self, con: sqlite3.Connection, state: PathState, size: int
    ) -> Iterator[ScanBatch]:
        log.info(
            "%s: no session_model_usage (before schema 20): "
            "reading the sessions totals",
            self.path,
        )
        columns = select_list(
            self.path, "sessions", table_columns(con, "sessions"), SESSION_COLUMNS, "s"
        )
        cursor = con.execute(f"SELECT {columns} FROM sessions s ORDER BY s.started_at")
        count = 0
        while rows := cursor.fetchmany(BATCH_ROWS):
            self._load_sessions(con, {row[0] for row in rows})
            records = [self._session_record(row) for row in rows]
            count += len(records)
            yield ScanBatch(
                SOURCE,
                self.path,
                replace(state, size=size, records=count),
                records,
            )

    def _load_sessions(self, con: sqlite3.Connection, ids: set[str]) -> None:
        wanted = sorted(i for i in ids if i not in self.sessions)
        if not wanted:
            return
        if self.session_columns is None:
            self.session_columns = select_list(
                self.path,
                "sessions",
                table_columns(con, "sessions"),
                _SESSION_INFO,
                "s",
            )
        columns = self.session_columns
        id_list = json.dumps(wanted)
        for row in con.execute(
            f"SELECT {columns} FROM sessions s "
            "WHERE s.id IN (SELECT value FROM json_each(?))",
            [id_list],
        ):
            prompt = row[4]
            if prompt:
                prompt = self.prompts.setdefault(prompt, prompt)
            tool_calls = _tool_calls(row[7])
            self.sessions[row[0]] = _Session(
                row[1], row[2], row[3], prompt, row[5], row[6], tool_calls
            )
        for session_id, content, _ in con.execute(
            "SELECT session_id, content, min(id) FROM messages "
            "WHERE role = 'user' AND session_id IN (SELECT value FROM json_each(?)) "
            "GROUP BY session_id",
            [id_list],
        ):
            if session_id in self.sessions:
                self.sessions[session_id].first_prompt = _message_text(content)

    def _session_info(self, session_id: str) -> _Session:
        return self.sessions.get(
            session_id, _Session(None, None, None, None, None, None)
        )

    def _task(self, session_id: str, info: _Session) -> str:
        return self.namer.name(
            self.profile.name, session_id, info.title, info.first_prompt, self.cron_jobs
        )

    def _usage_record(self, row: tuple[Any, ...]) -> UsageRecord:
        (session_id, model, provider, base_url, mode, task, calls, input_tokens,
         output_tokens, cache_read, cache_write, reasoning, estimated, actual,
         status, cost_source, first_seen, last_seen) = row  # fmt: skip
        info = self._session_info(session_id)
        started = _epoch(first_seen, info.started_at or 0.0)
        cost, cost_status = _agent_cost(status, estimated, actual)
        key = "|".join(
            str(part or "")
            for part in (self.profile.name, session_id, model, provider, base_url,
                         mode, task)
        )  # fmt: skip
        return UsageRecord(
            source=SOURCE,
            record_key=key,
            source_path=self.path,
            profile=self.profile.name,
            session_id=session_id,
            parent_session_id=info.parent,
            platform=info.platform,
            task=self._task(session_id, info),
            call_kind=task or MAIN_CALL,
            model=model or "unknown",
            provider=provider or None,
            endpoint=base_url or None,
            started_at=started,
            ended_at=_epoch(last_seen, started.timestamp()),
            calls=calls or 0,
            input_tokens=input_tokens or 0,
            cache_read_tokens=cache_read or 0,
            cache_write_tokens=cache_write or 0,
            output_tokens=output_tokens or 0,
            reasoning_tokens=reasoning or 0,
            title=info.title,
            first_prompt=info.first_prompt,
            system_prompt=info.system_prompt,
            cron_job_id=cron_job_id(session_id),
            # Hermes counts tool calls per session, made by its main loop.
            tool_calls=None if task else info.tool_calls,
            agent_cost_usd=cost,
            agent_cost_status=cost_status,
            agent_cost_source=cost_source,
            extra={"billing_mode": mode} if mode else {},
        )

    def _session_record(self, row: tuple[Any, ...]) -> UsageRecord:
        (session_id, platform, model, system_prompt, parent, started_at, ended_at,
         input_tokens, output_tokens, cache_read, cache_write, reasoning, provider,
         base_url, mode, estimated, actual, status, cost_source, title,
         calls) = row  # fmt: skip
        info = self._session_info(session_id)
        started = _epoch(started_at, 0.0)
        cost, cost_status = _agent_cost(status, estimated, actual)
        key = "|".join(
            str(part or "")
            for part in (self.profile.name, session_id, model, provider, base_url,
                         mode, "")
        )  # fmt: skip
        return UsageRecord(
            source=SOURCE,
            record_key=key,
            source_path=self.path,
            profile=self.profile.name,
            session_id=session_id,
            parent_session_id=parent,
            platform=platform,
            task=self._task(session_id, info),
            call_kind=MAIN_CALL,
            model=model or "unknown",
            provider=provider or None,
            endpoint=base_url or None,
            started_at=started,
            ended_at=_epoch(ended_at, started.timestamp()),
            calls=calls or 0,
            input_tokens=input_tokens or 0,
            cache_read_tokens=cache_read or 0,
            cache_write_tokens=cache_write or 0,
            output_tokens=output_tokens or 0,
            reasoning_tokens=reasoning or 0,
            title=title,
            first_prompt=info.first_prompt,
            system_prompt=info.system_prompt or system_prompt,
            cron_job_id=cron_job_id(session_id),
            tool_calls=info.tool_calls,
            agent_cost_usd=cost,
            agent_cost_status=cost_status,
            agent_cost_source=cost_source,
        )
