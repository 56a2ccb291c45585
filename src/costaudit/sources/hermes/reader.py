"""Reading usage from Hermes ``state.db`` files, read-only and incrementally.

``session_model_usage`` (schema 20 and later) holds one row per session,
model, billing route and task: the main loop (task ``''``) and each side call
(``title_generation``, ``compression``...). Its rows only grow, and
``last_seen`` moves with every write, so a rescan reads the rows seen since
the last one and replaces them in the ledger: a session still going is
updated, never counted twice. Databases from before schema 20 are read from
the ``sessions`` totals instead, whole, at every scan, one record per
session whatever its model (a model switch rewrites ``sessions.model``).

A database is read in one read transaction, and never written to, locked
for writing or left with new files beside it: see
:func:`costaudit.sources.sqlite_files.open_read_only`.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
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
from costaudit.sources.sqlite_files import (
    content_stamp,
    disturbed,
    file_identity,
    has_writer,
    open_read_only,
    stamp,
    wal_header,
)

log = logging.getLogger(__name__)

SOURCE = "hermes"
# Rows per batch: small enough that the ledger stores one batch while the
# next is read (a profile's rows in one batch would leave it idle until
# then), large enough that a batch's queries cost little per row.
BATCH_ROWS = 10_000
PROMPT_CHARS = 8_000
# Rows written in the same second as the last scan's newest are read again
# (and replaced, not added), so none is missed.
WATERMARK_SLACK_S = 2.0
READ_FROM = "read_from"
"""Key of ``extra`` marking a record read from the ``sessions`` totals."""
# Reads of a file Hermes keeps writing to before the scan leaves it for the
# next one.
READ_ATTEMPTS = 3


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


class _NotHermes(Exception):
    """The file is SQLite but has no ``sessions`` table."""


@dataclass(slots=True)
class _Session:
    """What a session's usage rows share, read once per session: a session
    has a row per model and side call, and may be read in several batches."""

    platform: str | None
    parent: str | None
    title: str | None
    system_prompt: str | None
    started_at: float | None
    ended_at: float | None
    tool_calls: int | None = None
    first_prompt: str | None = None
    cron_job_id: str | None = None
    task: str | None = None
    """The session's task, named at its first row."""


@dataclass
class ScanOutcome:
    """What one scan of a Hermes home leaves for the ledger to settle
    (see :mod:`costaudit.sources.hermes.settle`)."""

    tables: dict[str, str] = field(default_factory=dict)
    """Databases read to the end, and the table their usage came from."""
    session_keys: dict[str, set[str]] = field(default_factory=dict)
    """Every record key read from a database read through ``sessions``."""
    renamed: dict[tuple[str, str], tuple[str, str | None]] = field(default_factory=dict)
    """(database, session id) to (task, title), for the sessions a rescan
    read again: their records stored before take the same task and title."""


class HermesSource:
    """Every profile's ``state.db`` under one Hermes home."""

    name = SOURCE

    def __init__(self, home: Path, namer: TaskNamer) -> None:
        self.home = home
        self.namer = namer
        self.outcome = ScanOutcome()

    def locations(self) -> list[str]:
        return [str(p.state_db) for p in profiles(self.home)]

    def scan(self, states: dict[str, PathState]) -> Iterator[ScanBatch]:
        self.outcome = ScanOutcome()
        found = profiles(self.home)
        if found:
            log.info(
                "Hermes home %s: profiles %s",
                self.home,
                ", ".join(p.name for p in found),
            )
        elif self.home.is_dir():
            log.info("Hermes home %s: no state.db in it or its profiles", self.home)
        else:
            log.info("no Hermes home at %s", self.home)
        for profile in found:
            path = str(profile.state_db)
            previous = states.get(path, PathState(SOURCE, path))
            scan = _ProfileScan(profile, previous, self.namer, self.outcome)
            yield from scan.run()


class _ProfileScan:
    def __init__(
        self,
        profile: Profile,
        previous: PathState,
        namer: TaskNamer,
        outcome: ScanOutcome,
    ) -> None:
        self.profile = profile
        self.path = str(profile.state_db)
        self.previous = previous
        self.namer = namer
        self.outcome = outcome
        self.cron_jobs = load_cron_jobs(profile.jobs_file)
        self.sessions: dict[str, _Session] = {}
        self.prompts: dict[str, str] = {}
        self.session_columns: str | None = None
        self.rows = 0

    def fail(self, message: str) -> ScanBatch:
        return ScanBatch(
            SOURCE, self.path, self.previous, error=f"{self.path}: {message}"
        )

    def run(self) -> Iterator[ScanBatch]:
        db = self.profile.state_db
        try:
            identity = file_identity(db)
            content = content_stamp(db)
            wal = wal_header(db)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            yield self.fail(f"cannot open the Hermes database: {reason}")
            return
        state = self.previous
        # The identity kept is the file's, then what its content was stamped
        # with before it was last read.
        known, _, stamped = state.identity.partition(" ")
        if known != identity:
            # A new or replaced file: read it all again (rows are replaced
            # by key in the ledger, so nothing is counted twice).
            state = replace(state, watermark=None)
        elif stamped == content and state.watermark is not None:
            # Nothing written since it was read to the end: nothing to read.
            yield ScanBatch(SOURCE, self.path, state)
            return
        state = replace(state, identity=f"{identity} {content}")
        try:
            yield from self._read_undisturbed(state, wal)
        except _NotHermes:
            yield self.fail("not a Hermes state database (no sessions table)")
        except sqlite3.DatabaseError as exc:
            yield self.fail(f"not a readable SQLite database: {exc}")
        except OSError as exc:
            yield self.fail(f"cannot read the Hermes database: {exc.strerror or exc}")

    def _read_undisturbed(self, state: PathState, wal: bool) -> Iterator[ScanBatch]:
        """Read from ``state`` on; read again if Hermes wrote to the file
        while it was read without locks (as immutable), which may have
        mixed two versions of it. What a read stores, the next replaces."""
        db = self.profile.state_db
        for _ in range(READ_ATTEMPTS):
            immutable = wal and not has_writer(db)
            before = stamp(db)
            try:
                yield from self._read(state, before[1], wal, immutable)
                if not (immutable and disturbed(db, before)):
                    return
            except sqlite3.DatabaseError:
                if not (immutable and disturbed(db, before)):
                    raise
            log.info("%s: Hermes wrote to it during the read; reading it again", db)
            self.sessions.clear()
            self.rows = 0
        # Written to during every read: back to where the last scan ended,
        # so that the next scan reads these rows again.
        log.warning("%s: Hermes kept writing to it; read again at the next scan", db)
        yield ScanBatch(SOURCE, self.path, self.previous)

    def _read(
        self, state: PathState, size: int, wal: bool, immutable: bool
    ) -> Iterator[ScanBatch]:
        con = open_read_only(self.profile.state_db, immutable)
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
                raise _NotHermes
            table = "session_model_usage"
            if table in tables:
                yield from self._read_usage(con, state, size, wal)
            else:
                table = "sessions"
                yield from self._read_sessions(con, state, size, wal)
        finally:
            con.close()
        self.outcome.tables[self.path] = table
        mode = "immutable" if immutable else ("WAL" if wal else "rollback journal")
        log.info(
            "%s: profile %s, %d rows read from %s (%s)",
            self.path,
            self.profile.name,
            self.rows,
            table,
            mode,
        )

    def _snapshot(
        self, con: sqlite3.Connection, batches: Iterator[list[tuple[Any, ...]]],
        wal: bool,
    ) -> Iterator[list[tuple[Any, ...]]]:  # fmt: skip
        """``batches`` as they come in WAL mode, where readers do not block
        Hermes; read whole first with a rollback journal, whose shared lock
        holds Hermes' commits back, so the lock is let go before the ledger
        stores anything."""
        if wal:
            return batches
        rows = list(batches)
        con.commit()
        return iter(rows)

    def _usage_rows(
        self, con: sqlite3.Connection, since: float | None
    ) -> Iterator[list[tuple[Any, ...]]]:
        """The rows seen since ``since``, every row when None, in batches."""
        columns = select_list(
            self.path,
            "session_model_usage",
            table_columns(con, "session_model_usage"),
            USAGE_COLUMNS,
            "u",
        )
        cursor = con.execute(
            f"SELECT {columns} FROM session_model_usage u "
            "WHERE coalesce(u.last_seen, u.first_seen, 0) >= ? "
            "ORDER BY coalesce(u.last_seen, u.first_seen, 0)",
            [-1.0 if since is None else since],
        )
        if since is None:
            # A whole database: every session will be wanted.
            self._load_sessions(con, None)
        while rows := cursor.fetchmany(BATCH_ROWS):
            self._load_sessions(con, {row[0] for row in rows})
            yield rows

    def _read_usage(
        self, con: sqlite3.Connection, state: PathState, size: int, wal: bool
    ) -> Iterator[ScanBatch]:
        incremental = state.watermark is not None
        since = (state.watermark or 0.0) - WATERMARK_SLACK_S if incremental else None
        newest = state.watermark
        total = state.records
        for rows in self._snapshot(con, self._usage_rows(con, since), wal):
            records = [self._usage_record(row) for row in rows]
            for row in rows:
                seen = row[17] if row[17] is not None else row[16]
                if seen is not None and (newest is None or seen > newest):
                    newest = float(seen)
            self.rows += len(rows)
            if incremental:
                self._note_renames(records)
            total += len(records)
            state = replace(state, size=size, watermark=newest, records=total)
            yield ScanBatch(SOURCE, self.path, state, records)
        if total == self.previous.records and state is not self.previous:
            yield ScanBatch(SOURCE, self.path, replace(state, size=size))

    def _note_renames(self, records: list[UsageRecord]) -> None:
        """A session read again may have a new title (Hermes titles it after
        its first turn): its records stored before follow."""
        for record in records:
            key = (self.path, record.session_id)
            self.outcome.renamed[key] = (record.task, record.title)

    def _session_rows(self, con: sqlite3.Connection) -> Iterator[list[tuple[Any, ...]]]:
        columns = select_list(
            self.path, "sessions", table_columns(con, "sessions"), SESSION_COLUMNS, "s"
        )
        cursor = con.execute(f"SELECT {columns} FROM sessions s ORDER BY s.started_at")
        self._load_sessions(con, None)
        while rows := cursor.fetchmany(BATCH_ROWS):
            yield rows

    def _read_sessions(
        self, con: sqlite3.Connection, state: PathState, size: int, wal: bool
    ) -> Iterator[ScanBatch]:
        log.info(
            "%s: no session_model_usage (before schema 20): "
            "reading the sessions totals",
            self.path,
        )
        count = 0
        keys: set[str] = set()
        for rows in self._snapshot(con, self._session_rows(con), wal):
            records = [self._session_record(row) for row in rows]
            keys.update(r.record_key for r in records)
            count += len(records)
            self.rows += len(rows)
            yield ScanBatch(
                SOURCE,
                self.path,
                replace(state, size=size, watermark=None, records=count),
                records,
            )
        self.outcome.session_keys[self.path] = keys

    def _load_sessions(self, con: sqlite3.Connection, ids: set[str] | None) -> None:
        """Read the sessions ``ids`` (every session when None) and their
        first user messages, those not read already."""
        if self.session_columns is None:
            self.session_columns = select_list(
                self.path,
                "sessions",
                table_columns(con, "sessions"),
                _SESSION_INFO,
                "s",
            )
        if ids is None:
            # A plain scan: cheaper than looking each session up by id.
            where, messages_where, params = "", "", []
        else:
            wanted = sorted(i for i in ids if i not in self.sessions)
            if not wanted:
                return
            where = "WHERE s.id IN (SELECT value FROM json_each(?))"
            messages_where = "AND session_id IN (SELECT value FROM json_each(?))"
            params = [json.dumps(wanted)]
        for row in con.execute(
            f"SELECT {self.session_columns} FROM sessions s {where}", params
        ):
            self._add_session(row)
        for session_id, content, _ in con.execute(
            "SELECT session_id, content, min(id) FROM messages "
            f"WHERE role = 'user' {messages_where} GROUP BY session_id",
            params,
        ):
            info = self.sessions.get(session_id)
            if info is not None and info.first_prompt is None:
                info.first_prompt = _message_text(content)

    def _add_session(self, row: tuple[Any, ...]) -> None:
        if row[0] in self.sessions:
            return
        prompt = row[4]
        if prompt:
            # One string per distinct system prompt, however many sessions
            # share it.
            prompt = self.prompts.setdefault(prompt, prompt)
        info = _Session(
            row[1], row[2], row[3], prompt, row[5], row[6], _tool_calls(row[7])
        )
        info.cron_job_id = cron_job_id(row[0])
        self.sessions[row[0]] = info

    def _session_info(self, session_id: str) -> _Session:
        info = self.sessions.get(session_id)
        if info is None:
            # Usage of a session the sessions table does not hold: it is
            # read in this same snapshot, so it will not appear later.
            info = _Session(None, None, None, None, None, None)
            info.cron_job_id = cron_job_id(session_id)
            self.sessions[session_id] = info
        return info

    def _task(self, session_id: str, info: _Session) -> str:
        """The session's task, named once for all its rows."""
        if info.task is None:
            info.task = self.namer.name(
                self.profile.name,
                session_id,
                info.title,
                info.first_prompt,
                self.cron_jobs,
            )
        return info.task

    def _usage_record(self, row: tuple[Any, ...]) -> UsageRecord:
        (session_id, model, provider, base_url, mode, task, calls, input_tokens,
         output_tokens, cache_read, cache_write, reasoning, estimated, actual,
         status, cost_source, first_seen, last_seen) = row  # fmt: skip
        info = self._session_info(session_id)
        started = _epoch(first_seen, info.started_at or 0.0)
        cost, cost_status = _agent_cost(status, estimated, actual)
        profile = self.profile.name
        key = (
            f"{profile}|{session_id or ''}|{model or ''}|{provider or ''}"
            f"|{base_url or ''}|{mode or ''}|{task or ''}"
        )
        return UsageRecord(
            source=SOURCE,
            record_key=key,
            source_path=self.path,
            profile=profile,
            session_id=session_id,
            parent_session_id=info.parent,
            platform=info.platform,
            task=self._task(session_id, info),
            call_kind=task or MAIN_CALL,
            model=model or "unknown",
            provider=provider or None,
            endpoint=base_url or None,
            started_at=started,
            ended_at=started if last_seen is None else _epoch(last_seen, 0.0),
            calls=calls or 0,
            input_tokens=input_tokens or 0,
            cache_read_tokens=cache_read or 0,
            cache_write_tokens=cache_write or 0,
            output_tokens=output_tokens or 0,
            reasoning_tokens=reasoning or 0,
            title=info.title,
            first_prompt=info.first_prompt,
            system_prompt=info.system_prompt,
            cron_job_id=info.cron_job_id,
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
        # One record per session, whatever its model: a model switch rewrites
        # sessions.model, and the same session read again must replace its
        # record, not add one beside it.
        key = f"{self.profile.name}|{session_id}"
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
            extra={READ_FROM: "sessions", **({"billing_mode": mode} if mode else {})},
        )
