"""Opening the ledger, applying migrations, storing scan batches."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import duckdb

from costaudit.errors import LedgerError
from costaudit.ledger.migrations import MIGRATIONS
from costaudit.record import UsageRecord
from costaudit.sources.base import (
    CallEvent,
    PathState,
    RecordTable,
    ScanBatch,
    ScanIssue,
)

if TYPE_CHECKING:
    from costaudit.ledger.columns import Columns

log = logging.getLogger(__name__)


@dataclass
class StoreCounts:
    """Per source, what storing some batches did with their rows.

    A record whose key is new is inserted; one whose key is known is updated
    when a column a source fills differs, else left as it is (its price
    too). Call events count when inserted or updated.
    """

    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)


SCAN_MEMORY_FLOOR = 64 << 20
"""DuckDB's memory while a scan stores and prices records. Left to itself
DuckDB keeps up to 80% of the machine's memory for its cache, and a cold
scan of a few GB of logs would fill hundreds of MB with table data it will
not read again; inserts and the pricing update need little, and DuckDB
writes out what does not fit."""


def scan_memory_limit(path: str) -> int:
    """Bytes of memory DuckDB may use while a scan stores into the ledger at
    ``path``: the floor, or twice the file for a large ledger."""
    try:
        size = Path(path).stat().st_size
    except OSError:
        size = 0
    return max(SCAN_MEMORY_FLOOR, 2 * size)


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
        # The time comes as epoch seconds: DuckDB's own conversion of a
        # TIMESTAMPTZ goes through pytz, a cost per row on every scan.
        rows = self.con.execute(
            'SELECT path, identity, size, "offset", watermark, records, issues, '
            "epoch(last_scan) FROM path_state WHERE source = ?",
            [source],
        ).fetchall()
        return {
            row[0]: PathState(
                source,
                row[0],
                identity=row[1],
                size=row[2],
                offset=row[3],
                watermark=row[4],
                records=row[5],
                issues=row[6],
                last_scan=None if row[7] is None else _local_time(row[7]),
            )
            for row in rows
        }

    def store_batch(self, batch: ScanBatch) -> StoreCounts:
        """Store a batch's records, events, issues and state atomically."""
        return self.store_batches([batch])

    def store_batches(
        self, batches: Sequence[ScanBatch], *, in_transaction: bool = False
    ) -> StoreCounts:
        """Store several batches in one transaction: each statement and commit
        costs milliseconds, which adds up over many small files. With
        ``in_transaction`` the caller has begun one (see :meth:`writing`)
        and commits it."""
        if in_transaction:
            return self._store(batches)
        with self.writing():
            return self._store(batches)

    @contextmanager
    def scan_memory(self) -> Iterator[None]:
        """DuckDB's memory held to :func:`scan_memory_limit` while a scan
        stores and prices what it read, and given back after, for the
        queries of reports."""
        if self.path == ":memory:":
            yield
            return
        self.con.execute(
            f"SET memory_limit = '{scan_memory_limit(self.path) >> 20}MiB'"
        )
        try:
            yield
        finally:
            self.con.execute("RESET memory_limit")

    @contextmanager
    def writing(self) -> Iterator[None]:
        """A transaction, committed at the end, rolled back on an error.

        A commit of a few thousand rows goes through DuckDB's write-ahead log,
        to be written again at the next checkpoint; DuckDB writes a
        transaction of more than a row group (122,880 rows) straight to the
        file. A scan that stores much therefore commits every
        :data:`COMMIT_ROWS` rows or so, not at every batch."""
        self.con.execute("BEGIN")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def commit_and_begin(self) -> None:
        """Inside :meth:`writing`: keep what was stored so far."""
        self.con.execute("COMMIT")
        self.con.execute("BEGIN")

    def _store(self, batches: Sequence[ScanBatch]) -> StoreCounts:
        # NumPy and the column makers are imported by what stores, not by
        # every command that opens the ledger.
        from costaudit.ledger.columns import batch_columns

        now = time.time()
        counts = StoreCounts()
        records = [
            r
            for b in batches
            if not isinstance(b.records, RecordTable)
            for r in b.records
        ]
        tables = [b.records for b in batches if isinstance(b.records, RecordTable)]
        restarted = {(b.source, b.path) for b in batches if b.restart}
        for batch in batches:
            if batch.moved_from is not None:
                self._move_path(batch.source, batch.moved_from, batch.path)
        self._upsert_records(batch_columns(records, tables, now), counts)
        self._store_prompts(records)
        self._upsert_events([e for b in batches for e in b.events], counts)
        self._forget_issues(restarted)
        self._store_issues([(b.source, i) for b in batches for i in b.issues])
        self._store_states([b.state for b in batches], now)
        return counts

    def _move_path(self, source: str, old: str, new: str) -> None:
        """A file renamed since the last scan: its records, events, issues
        and state now go by its new path."""
        for table, column in (
            ("usage", "source_path"),
            ("call_events", "path"),
            ("scan_issues", "path"),
        ):
            self.con.execute(
                f"UPDATE {table} SET {column} = ? WHERE source = ? AND {column} = ?",
                [new, source, old],
            )
        self.con.execute(
            "DELETE FROM path_state WHERE source = ? AND path = ?", [source, old]
        )

    def _upsert_records(self, batch_records: Columns, counts: StoreCounts) -> None:
        """Insert the records whose key is new, and compare the others (a
        message split between two batches, a file read again) with what the
        ledger holds: the new ones go in as they are, in one statement, however
        few records of the batch are known."""
        from costaudit.ledger.columns import RECORD_COMPARED, RECORD_SELECT

        if not len(batch_records["record_key"]):
            return
        join = "b.source = t.source AND b.record_key = t.record_key"
        known = self.con.execute(
            f"SELECT count(*) FROM batch_records b SEMI JOIN usage t ON {join}"
        ).fetchone()
        found: list[tuple[str, int, int, int]] = []
        if known and known[0]:
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE staged_usage AS "
                "SELECT * FROM usage LIMIT 0"
            )
            self.con.execute(
                f"INSERT INTO staged_usage SELECT {RECORD_SELECT}"
                f" FROM batch_records b SEMI JOIN usage t ON {join}"
            )
            found = self._write_changed("usage", "record_key", RECORD_COMPARED)
        if not known or known[0] < len(batch_records["record_key"]):
            self.con.execute(
                f"INSERT INTO usage SELECT {RECORD_SELECT}"
                f" FROM batch_records b ANTI JOIN usage t ON {join}"
            )
        seen = {source: (updated, unchanged) for source, _, updated, unchanged in found}
        for source, n in Counter(batch_records["source"].tolist()).items():
            updated, unchanged = seen.get(source, (0, 0))
            counts.inserted[source] = (
                counts.inserted.get(source, 0) + n - (updated + unchanged)
            )
            counts.updated[source] = counts.updated.get(source, 0) + updated
            counts.unchanged[source] = counts.unchanged.get(source, 0) + unchanged

    def _write_changed(
        self, table: str, key: str, compared: Sequence[str]
    ) -> list[tuple[str, int, int, int]]:
        """Write the rows of ``staged_<table>`` that are new or differ in a
        ``compared`` column; per source, count new, changed and unchanged."""
        staged = f"staged_{table}"
        join = f"s.source = t.source AND s.{key} = t.{key}"
        changed = " OR ".join(f's."{c}" IS DISTINCT FROM t."{c}"' for c in compared)
        found = self.con.execute(
            f"SELECT s.source, count(*) FILTER (WHERE t.{key} IS NULL),"
            f" count(*) FILTER (WHERE t.{key} IS NOT NULL AND ({changed})),"
            f" count(*) FILTER (WHERE t.{key} IS NOT NULL AND NOT ({changed}))"
            f" FROM {staged} s LEFT JOIN {table} t ON {join} GROUP BY s.source"
        ).fetchall()
        if any(row[3] for row in found):
            self.con.execute(
                f"DELETE FROM {staged} s USING {table} t WHERE {join}"
                f" AND NOT ({changed})"
            )
        # Replaced as a delete and an insert: ``usage`` has no key to
        # replace by (see the migration 010_usage_unique_by_scan).
        self.con.execute(f"DELETE FROM {table} t USING {staged} s WHERE {join}")
        self.con.execute(f"INSERT INTO {table} SELECT * FROM {staged}")
        self.con.execute(f"DROP TABLE {staged}")
        return [(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in found]

    def _store_prompts(self, records: Sequence[UsageRecord]) -> None:
        from costaudit.ledger.columns import objects

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

    def _upsert_events(self, events: Sequence[CallEvent], counts: StoreCounts) -> None:
        from costaudit.ledger.columns import EVENT_COMPARED, EVENT_SELECT, event_columns

        if not events:
            return
        unique = list({(e.source, e.event_key): e for e in events}.values())
        batch_events = event_columns(unique)  # noqa: F841 (scanned by name)
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE staged_call_events AS "
            "SELECT * FROM call_events LIMIT 0"
        )
        self.con.execute(
            f"INSERT INTO staged_call_events SELECT {EVENT_SELECT} FROM batch_events"
        )
        found = self._write_changed("call_events", "event_key", EVENT_COMPARED)
        for source, inserted, updated, _unchanged in found:
            counts.events[source] = counts.events.get(source, 0) + inserted + updated

    def _forget_issues(self, paths: set[tuple[str, str]]) -> None:
        """Drop the issues kept of files that are being read from their start:
        the new reading finds again those that still hold."""
        from costaudit.ledger.columns import objects

        if not paths:
            return
        batch_paths = {  # noqa: F841 (scanned by name)
            "source": objects([source for source, _ in paths]),
            "path": objects([path for _, path in paths]),
        }
        self.con.execute(
            "DELETE FROM scan_issues WHERE (source, path) IN "
            "(SELECT (source, path) FROM batch_paths)"
        )

    def _store_issues(self, issues: Sequence[tuple[str, ScanIssue]]) -> None:
        """Insert the issues not already kept (a file or a database read again
        meets the same bad lines again)."""
        import numpy as np

        from costaudit.ledger.columns import objects

        if not issues:
            return
        batch_issues = {  # noqa: F841 (scanned by name)
            "source": objects([source for source, _ in issues]),
            "path": objects([issue.path for _, issue in issues]),
            "line": np.array(
                [-1 if i.line is None else i.line for _, i in issues], dtype=np.int64
            ),
            "message": objects([issue.message for _, issue in issues]),
        }
        self.con.execute(
            "INSERT INTO scan_issues SELECT DISTINCT b.source, b.path,"
            " nullif(b.line, -1), b.message, now() FROM batch_issues b"
            " WHERE NOT EXISTS (SELECT 1 FROM scan_issues s WHERE s.source = b.source"
            " AND s.path = b.path AND s.message = b.message"
            " AND s.line IS NOT DISTINCT FROM nullif(b.line, -1))"
        )

    def scan_issues(self, source: str | None = None) -> list[dict[str, Any]]:
        """Every issue kept, by source, path and line."""
        where = "WHERE source = ?" if source is not None else ""
        return self.fetch_dicts(
            "SELECT source, path, line, message, seen_at FROM scan_issues "
            f"{where} ORDER BY source, path, line NULLS FIRST, message",
            [source] if source is not None else [],
        )

    def _store_states(self, states: Sequence[PathState], now: float) -> None:
        from costaudit.ledger.columns import STATE_SELECT, state_columns

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


def _local_time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC).astimezone()


def text_key(record: UsageRecord) -> str:
    key = record.system_prompt_hash
    assert key is not None
    return key
