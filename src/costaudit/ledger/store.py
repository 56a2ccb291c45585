"""Opening the ledger, applying migrations, storing scan batches."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb

from costaudit.errors import LedgerError
from costaudit.ledger.columns import (
    EVENT_SELECT,
    RECORD_SELECT,
    STATE_SELECT,
    event_columns,
    objects,
    record_columns,
    state_columns,
)
from costaudit.ledger.migrations import MIGRATIONS
from costaudit.record import UsageRecord
from costaudit.sources.base import CallEvent, PathState, ScanBatch, ScanIssue

log = logging.getLogger(__name__)


class Ledger:
    """The DuckDB file that keeps usage records, scan state and prices."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: str) -> None:
        self.con = connection
        self.path = path

    @classmethod
    def open(cls, path: Path | str) -> Ledger:
        """Open (creating if needed) the ledger at ``path`` and migrate it."""
        target = str(path)
        if target != ":memory:":
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(target)
        except duckdb.Error as exc:
            raise LedgerError(f"{target}: cannot open the ledger: {exc}") from None
        ledger = cls(con, target)
        ledger.migrate()
        return ledger

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def migrate(self) -> list[str]:
        """Apply the migrations not yet recorded; return their names."""
        self.con.execute(
            "CREATE TABLE IF NOT EXISTS migrations ("
            "name VARCHAR PRIMARY KEY, why VARCHAR NOT NULL, "
            "applied_at TIMESTAMPTZ NOT NULL)"
        )
        done = {
            row[0] for row in self.con.execute("SELECT name FROM migrations").fetchall()
        }
        applied = []
        for migration in MIGRATIONS:
            if migration.name in done:
                continue
            try:
                self.con.execute("BEGIN")
                for statement in migration.statements:
                    self.con.execute(statement)
                self.con.execute(
                    "INSERT INTO migrations VALUES (?, ?, now())",
                    [migration.name, migration.why],
                )
                self.con.execute("COMMIT")
            except duckdb.Error as exc:
                self.con.execute("ROLLBACK")
                raise LedgerError(
                    f"{self.path}: migration {migration.name} failed: {exc}"
                ) from None
            log.info("ledger migration applied: %s", migration.name)
            applied.append(migration.name)
        return applied

    def applied_migrations(self) -> list[str]:
        rows = self.con.execute("SELECT name FROM migrations ORDER BY name").fetchall()
        return [row[0] for row in rows]

    def path_states(self, source: str) -> dict[str, PathState]:
        rows = self.con.execute(
            'SELECT path, identity, size, "offset", watermark, records, issues, '
            "last_scan FROM path_state WHERE source = ?",
            [source],
        ).fetchall()
        return {
            row[0]: PathState(
                source, row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7]
            )
            for row in rows
        }

    def store_batch(self, batch: ScanBatch) -> None:
        """Store a batch's records, events, issues and state atomically."""
        self.store_batches([batch])

    def store_batches(self, batches: Sequence[ScanBatch]) -> None:
        """Store several batches in one transaction: each statement and commit
        costs milliseconds, which adds up over many small files."""
        now = time.time()
        records = [r for b in batches for r in b.records]
        self.con.execute("BEGIN")
        try:
            self._upsert_records(records, now)
            self._store_prompts(records)
            self._upsert_events([e for b in batches for e in b.events])
            self._store_issues([(b.source, i) for b in batches for i in b.issues])
            self._store_states([b.state for b in batches], now)
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def _upsert_records(self, records: Sequence[UsageRecord], now: float) -> None:
        if not records:
            return
        unique = list({(r.source, r.record_key): r for r in records}.values())
        batch_records = record_columns(unique, now)  # noqa: F841 (scanned by name)
        self.con.execute(
            f"INSERT OR REPLACE INTO usage SELECT {RECORD_SELECT} FROM batch_records"
        )

    def _store_prompts(self, records: Sequence[UsageRecord]) -> None:
        texts: dict[str, str] = {}
        for record in records:
            if record.system_prompt:
                texts.setdefault(text_key(record), record.system_prompt)
        if not texts:
            return
        batch_prompts = {  # noqa: F841 (scanned by name)
            "hash": objects(list(texts.keys())),
            "text": objects(list(texts.values())),
        }
        self.con.execute(
            "INSERT OR IGNORE INTO prompts SELECT hash, text FROM batch_prompts"
        )

    def _upsert_events(self, events: Sequence[CallEvent]) -> None:
        if not events:
            return
        unique = list({(e.source, e.event_key): e for e in events}.values())
        batch_events = event_columns(unique)  # noqa: F841 (scanned by name)
        self.con.execute(
            "INSERT OR REPLACE INTO call_events "
            f"SELECT {EVENT_SELECT} FROM batch_events"
        )

    def _store_issues(self, issues: Sequence[tuple[str, ScanIssue]]) -> None:
        for source, issue in issues:
            self.con.execute(
                "INSERT INTO scan_issues VALUES (?, ?, ?, ?, now())",
                [source, issue.path, issue.line, issue.message],
            )

    def _store_states(self, states: Sequence[PathState], now: float) -> None:
        latest = list({(s.source, s.path): s for s in states}.values())
        batch_states = state_columns(latest)  # noqa: F841 (scanned by name)
        self.con.execute(
            f"INSERT OR REPLACE INTO path_state SELECT {STATE_SELECT} "
            "FROM batch_states",
            [now],
        )

    def get_meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def fetch(
        self, sql: str, params: Sequence[Any] | None = None
    ) -> list[tuple[Any, ...]]:
        try:
            return self.con.execute(sql, params or []).fetchall()
        except duckdb.Error as exc:
            raise LedgerError(f"{self.path}: query failed: {exc}") from None

    def fetch_dicts(
        self, sql: str, params: Sequence[Any] | None = None
    ) -> list[dict[str, Any]]:
        try:
            cursor = self.con.execute(sql, params or [])
        except duckdb.Error as exc:
            raise LedgerError(f"{self.path}: query failed: {exc}") from None
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def record_count(self) -> int:
        row = self.con.execute("SELECT count(*) FROM usage").fetchone()
        return int(row[0]) if row else 0


def text_key(record: UsageRecord) -> str:
    key = record.system_prompt_hash
    assert key is not None
    return key


def utc_now() -> datetime:
    return datetime.now(tz=UTC)
