"""Reading Hermes databases: rescans, growth, old schemas, bad files, writers."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from costaudit.ledger.store import Ledger
from costaudit.record import UsageRecord
from costaudit.sources.base import PathState
from costaudit.sources.hermes import HermesSource, reader
from costaudit.sources.hermes.home import profiles
from costaudit.sources.hermes.tasks import TaskNamer
from costaudit.sources.sqlite_files import (
    can_be_immutable,
    file_identity,
    has_writer,
    open_read_only,
    wal_header,
)
from tests.conftest import Result, hermes_python
from tests.test_hermes_conformance import SPEC


def hermes_only(tmp_path: Path) -> list[str]:
    """Options for a scan of the Hermes databases alone (not its agent.log)."""
    config = tmp_path / "hermes-only.toml"
    config.write_text("[sources.hermes_agent_log]\nenabled = false\n")
    return ["--config", str(config)]


def totals(ledger_path: Path) -> tuple[int, ...]:
    with Ledger.open(ledger_path) as ledger:
        row = ledger.fetch(
            "SELECT count(*), sum(calls), sum(input_tokens), sum(output_tokens) "
            "FROM usage"
        )[0]
    return tuple(int(v or 0) for v in row)


def db_totals(db: Path) -> tuple[int, int, int]:
    con = sqlite3.connect(db)
    row = con.execute(
        "SELECT sum(api_call_count), sum(input_tokens), sum(output_tokens) "
        "FROM session_model_usage"
    ).fetchone()
    con.close()
    return tuple(int(v) for v in row)  # type: ignore[return-value]


def test_rescan_adds_nothing_and_growth_is_updated(
    write_hermes_home: Callable[..., Path], cli: Callable[..., Result], tmp_path: Path
) -> None:
    home = write_hermes_home(SPEC)
    ledger = tmp_path / "l.duckdb"
    base = ["--ledger", str(ledger), "--hermes-home", str(home)]
    assert cli(*base, "scan").code == 0
    first = totals(ledger)
    assert cli(*base, "scan").code == 0
    assert totals(ledger) == first

    # A session still going: Hermes adds a delta to its row.
    db = home / "state.db"
    con = sqlite3.connect(db)
    con.execute(
        "UPDATE session_model_usage SET input_tokens = input_tokens + 500, "
        "api_call_count = api_call_count + 1, last_seen = ? "
        "WHERE rowid = (SELECT min(rowid) FROM session_model_usage)",
        [time.time()],
    )
    con.commit()
    con.close()
    assert cli(*base, "scan").code == 0
    after = totals(ledger)
    assert after[0] == first[0]
    assert after[1] == first[1] + 1
    assert after[2] == first[2] + 500


def session_totals(db: Path) -> tuple[int, int, int]:
    con = sqlite3.connect(db)
    row = con.execute(
        "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM sessions "
        "WHERE coalesce(input_tokens, 0) + coalesce(output_tokens, 0) > 0"
    ).fetchone()
    con.close()
    return tuple(int(v) for v in row)  # type: ignore[return-value]


def ledger_totals(ledger_path: Path, profile: str = "default") -> tuple[int, ...]:
    with Ledger.open(ledger_path) as opened:
        row = opened.fetch(
            "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM usage "
            "WHERE source = 'hermes' AND profile = ? "
            "AND input_tokens + output_tokens > 0",
            [profile],
        )[0]
    return tuple(int(v or 0) for v in row)


def test_database_from_before_schema_20_reads_session_totals(
    write_hermes_home: Callable[..., Path], cli: Callable[..., Result], tmp_path: Path
) -> None:
    home = write_hermes_home(SPEC, name="old", schema=19)
    db = home / "state.db"
    con = sqlite3.connect(db)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    con.close()
    assert "session_model_usage" not in tables
    ledger = tmp_path / "l.duckdb"
    base = ["--ledger", str(ledger), "--hermes-home", str(home)]
    result = cli(*base, "scan")
    assert result.code == 0, result.err
    assert ledger_totals(ledger) == session_totals(db)

    # A model switch rewrites sessions.model (and the route) while the
    # session goes on: its record is replaced, its tokens not counted twice.
    con = sqlite3.connect(db)
    con.execute(
        "UPDATE sessions SET model = 'claude-sonnet-4-5', "
        "billing_provider = 'anthropic', "
        "billing_base_url = 'https://api.anthropic.com', "
        "input_tokens = input_tokens + 1500, output_tokens = output_tokens + 80 "
        "WHERE id = (SELECT id FROM sessions WHERE source = 'cli' LIMIT 1)"
    )
    con.commit()
    con.close()
    assert cli(*base, "scan").code == 0
    assert ledger_totals(ledger) == session_totals(db)
    with Ledger.open(ledger) as opened:
        models = {r[0] for r in opened.fetch("SELECT model FROM usage")}
    assert "claude-sonnet-4-5" in models


def test_database_migrated_to_schema_20_is_not_counted_twice(
    write_hermes_home: Callable[..., Path], cli: Callable[..., Result], tmp_path: Path
) -> None:
    home = write_hermes_home(SPEC, name="old", schema=19)
    db = home / "state.db"
    ledger = tmp_path / "l.duckdb"
    base = ["--ledger", str(ledger), "--hermes-home", str(home)]
    assert cli(*base, "scan").code == 0
    before = ledger_totals(ledger)

    # Hermes 0.19.0 opens it: its migration seeds session_model_usage from
    # the sessions totals.
    python = hermes_python()
    assert python is not None
    migrate = (
        "import sys, pathlib, hermes_state; "
        "hermes_state.SessionDB(pathlib.Path(sys.argv[1])).close()"
    )
    done = subprocess.run(
        [python, "-c", migrate, str(db)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert cli(*base, "scan").code == 0
    after = ledger_totals(ledger)
    assert after[1:] == before[1:]
    assert after[1:] == db_totals(db)[1:]
    with Ledger.open(ledger) as opened:
        read_from = opened.fetch(
            "SELECT profile, count(*) FROM usage WHERE extra LIKE '%read_from%' "
            "GROUP BY 1"
        )
    # The profile still on schema 19 is still read from its totals.
    assert read_from == [("codi", 1)]


def test_corrupt_database_is_named_once_and_the_others_are_stored(
    sample_home: Path, cli: Callable[..., Result], tmp_path: Path
) -> None:
    broken = sample_home / "profiles" / "codi" / "state.db"
    broken.write_bytes(b"this is not a database at all\n" * 100)
    ledger = tmp_path / "l.duckdb"
    base = [*hermes_only(tmp_path), "--ledger", str(ledger), "--hermes-home",
            str(sample_home)]  # fmt: skip

    result = cli(*base, "scan")
    assert result.code == 1
    assert result.err.count(str(broken)) == 1
    assert "not a readable SQLite database" in result.err
    assert "1 file could not be read" in result.err
    with Ledger.open(ledger) as opened:
        stored = dict(
            opened.fetch(
                "SELECT profile, sum(input_tokens) FROM usage "
                "WHERE source = 'hermes' GROUP BY 1"
            )
        )
    assert "codi" not in stored
    for profile in ("hermy", "ayva", "sira", "tesa"):
        db = sample_home / "profiles" / profile / "state.db"
        assert stored[profile] == db_totals(db)[1]

    # Reports scan first, say what failed, and go on with the rest.
    report = cli(*base, "report", "--format", "json")
    assert report.code == 0
    assert report.err.count(str(broken)) == 1
    assert {r["profile"] for r in report.json()["rows"]} >= {"hermy", "sira"}


def test_unopenable_file_is_named_once(
    sample_home: Path, cli: Callable[..., Result], tmp_path: Path
) -> None:
    # The OS error's own text names the file too: it is said once.
    odd = sample_home / "profiles" / "ayva" / "state.db"
    odd.unlink()
    odd.mkdir()
    result = cli(*hermes_only(tmp_path), "--ledger", str(tmp_path / "l.duckdb"),
                 "--hermes-home", str(sample_home), "scan")  # fmt: skip
    assert result.code == 1
    assert result.err.count(str(odd)) == 1
    assert "cannot open the Hermes database: Is a directory" in result.err


def test_reader_never_writes_or_blocks_a_writer(
    write_hermes_home: Callable[..., Path], cli: Callable[..., Result], tmp_path: Path
) -> None:
    home = write_hermes_home(SPEC)
    db = home / "state.db"
    pristine = tmp_path / "copy.db"
    shutil.copy(db, pristine)
    ledger = tmp_path / "l.duckdb"
    base = ["--ledger", str(ledger), "--hermes-home", str(home)]
    stop = threading.Event()
    errors: list[Exception] = []
    writes = 0

    def writer() -> None:
        nonlocal writes
        con = sqlite3.connect(db, timeout=0.2)
        try:
            while not stop.is_set():
                con.execute(
                    "UPDATE session_model_usage SET output_tokens = output_tokens + 1,"
                    " last_seen = ? WHERE rowid = 1",
                    [time.time()],
                )
                con.commit()
                writes += 1
        except sqlite3.Error as exc:
            errors.append(exc)
        finally:
            con.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(3):
            assert cli(*base, "scan").code == 0
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert writes > 0
    assert cli(*base, "scan").code == 0
    with Ledger.open(ledger) as opened:
        got = opened.fetch(
            "SELECT sum(calls), sum(input_tokens), sum(output_tokens) FROM usage "
            "WHERE profile = 'default'"
        )[0]
    assert tuple(int(v) for v in got) == db_totals(db)


def test_scan_leaves_no_files_beside_a_quiet_database(
    write_hermes_home: Callable[..., Path], cli: Callable[..., Result], tmp_path: Path
) -> None:
    home = write_hermes_home(SPEC)

    def listing() -> dict[str, tuple[int, float]]:
        return {
            str(p.relative_to(home)): (p.stat().st_size, p.stat().st_mtime)
            for p in home.rglob("*")
            if p.is_file()
        }

    before = listing()
    assert not any(name.endswith(("-wal", "-shm")) for name in before)
    ledger = tmp_path / "l.duckdb"
    assert cli("--ledger", str(ledger), "--hermes-home", str(home), "scan").code == 0
    assert listing() == before


def _to_delete_journal(db: Path, sessions: int = 0) -> None:
    """Turn a WAL database into a rollback-journal one, as Hermes makes it
    on a network filesystem, with ``sessions`` more sessions: a commit that
    rewrites hundreds of pages is one a careless reader reads half of."""
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode = DELETE").fetchone()[0] == "delete"
    ids = [(f"fill-{i:05d}", 1_790_000_000.0 + i) for i in range(sessions)]
    if ids:
        con.executemany(
            "INSERT INTO sessions (id, source, started_at) VALUES (?, 'cli', ?)", ids
        )
        con.executemany(
            "INSERT INTO session_model_usage (session_id, model, billing_base_url, "
            "input_tokens, first_seen, last_seen) VALUES (?, 'gpt-4.1', "
            "'https://api.openai.com/v1', 100, ?, ?)",
            [(i, at, at) for i, at in ids],
        )
        con.commit()
    con.close()
    assert not wal_header(db)


class _Writer(threading.Thread):
    """Writes like Hermes: every transaction adds a token to every usage row
    and adds a new session whose row starts at 0, so any consistent
    snapshot of n transactions has every old row at its first value plus n
    and new rows holding 0 .. n-1."""

    def __init__(self, db: Path) -> None:
        super().__init__()
        self.db = db
        self.stop = threading.Event()
        self.errors: list[Exception] = []
        self.done = 0

    def run(self) -> None:
        con = sqlite3.connect(self.db, timeout=10, isolation_level=None)
        try:
            while not self.stop.is_set():
                self._write(con)
        finally:
            con.close()

    def _write(self, con: sqlite3.Connection) -> None:
        now = time.time()
        session = f"live-{self.done:05d}"
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute(
                "UPDATE session_model_usage SET input_tokens = input_tokens + 1, "
                "last_seen = ?",
                [now],
            )
            con.execute(
                "INSERT INTO sessions (id, source, started_at) VALUES (?, 'cli', ?)",
                [session, now],
            )
            con.execute(
                "INSERT INTO session_model_usage (session_id, model, input_tokens, "
                "first_seen, last_seen) VALUES (?, 'gpt-4.1', 0, ?, ?)",
                [session, now, now],
            )
            con.execute("COMMIT")
            self.done += 1
        except sqlite3.OperationalError as exc:
            con.execute("ROLLBACK") if con.in_transaction else None
            if "locked" not in str(exc):  # Hermes retries a busy write
                self.errors.append(exc)


def _check_snapshot(first: dict[str, int], stored: dict[str, int]) -> int:
    """The number of writes a set of records reflects, if it is one
    consistent snapshot (see :class:`_Writer`); fails otherwise."""
    live = sorted(v for k, v in stored.items() if k.startswith("live-"))
    writes = len(live)
    assert live == list(range(writes))
    old = {k: v for k, v in stored.items() if not k.startswith("live-")}
    assert old.keys() == first.keys()
    assert {v - first[k] for k, v in old.items()} == {writes}
    return writes


def test_scans_read_consistent_snapshots_of_a_delete_journal_database(
    sample_home: Path, cli: Callable[..., Result], tmp_path: Path
) -> None:
    db = sample_home / "state.db"
    _to_delete_journal(db, sessions=4000)
    con = sqlite3.connect(db)
    first = dict(
        con.execute("SELECT session_id || task, input_tokens FROM session_model_usage")
    )
    con.close()
    ledger = tmp_path / "l.duckdb"
    base = [*hermes_only(tmp_path), "--ledger", str(ledger), "--hermes-home",
            str(sample_home)]  # fmt: skip
    writer = _Writer(db)
    writer.start()
    seen: list[int] = []
    try:
        while len(seen) < 4 or seen[-1] < 3:
            result = cli(*base, "scan")
            assert result.code == 0, result.err
            with Ledger.open(ledger) as opened:
                stored = dict(
                    opened.fetch(
                        "SELECT session_id || CASE call_kind WHEN 'main' THEN '' "
                        "ELSE call_kind END, input_tokens FROM usage "
                        "WHERE profile = 'default'"
                    )
                )
            seen.append(_check_snapshot(first, stored))
        # The reader itself, many times over while the writer goes on.
        for _ in range(30):
            reader = open_read_only(db)
            reader.execute("BEGIN")
            rows = dict(
                reader.execute(
                    "SELECT session_id || task, input_tokens FROM session_model_usage"
                )
            )
            reader.close()
            _check_snapshot(first, rows)
    finally:
        writer.stop.set()
        writer.join()
    assert not writer.errors
    assert seen == sorted(seen) and seen[-1] > 0
    assert not Path(f"{db}-wal").exists() and not Path(f"{db}-shm").exists()


def test_only_a_wal_database_nobody_has_open_is_read_as_immutable(
    tmp_path: Path,
) -> None:
    db = tmp_path / "state.db"
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE t (x)")
    con.commit()
    assert wal_header(db) and has_writer(db) and not can_be_immutable(db)
    con.close()
    assert not has_writer(db) and can_be_immutable(db)
    _to_delete_journal(db)
    assert not can_be_immutable(db)
    (tmp_path / "empty.db").write_bytes(b"")
    assert not can_be_immutable(tmp_path / "empty.db")


def test_a_writer_that_starts_during_an_immutable_read_is_read_again(
    sample_home: Path, tmp_path: Path
) -> None:
    db = sample_home / "profiles" / "sira" / "state.db"
    assert can_be_immutable(db)
    source = HermesSource(sample_home, TaskNamer([]))
    states: dict[str, PathState] = {}
    records: dict[str, int] = {}
    writer: sqlite3.Connection | None = None
    for batch in source.scan(states):
        if batch.path != str(db):
            continue
        if writer is None:
            # Hermes opens the file after the read began, and writes.
            writer = sqlite3.connect(db)
            writer.execute(
                "UPDATE session_model_usage SET input_tokens = input_tokens + 7, "
                "last_seen = ?",
                [time.time()],
            )
            writer.commit()
        records.update((r.record_key, r.input_tokens) for r in batch.records)
    assert writer is not None
    expected = db_totals(db)[1]
    writer.close()
    assert sum(records.values()) == expected


def test_an_added_and_a_missing_column_warn_and_still_read(
    sample_home: Path, cli: Callable[..., Result], tmp_path: Path
) -> None:
    db = sample_home / "state.db"
    con = sqlite3.connect(db)
    con.execute("ALTER TABLE sessions ADD COLUMN mood TEXT")
    con.execute("ALTER TABLE session_model_usage DROP COLUMN reasoning_tokens")
    con.commit()
    con.close()
    ledger = tmp_path / "l.duckdb"
    result = cli(*hermes_only(tmp_path), "--ledger", str(ledger), "--hermes-home",
                 str(sample_home), "scan")  # fmt: skip
    assert result.code == 0, result.err
    assert (
        f"{db}: table session_model_usage has no column reasoning_tokens; "
        "read as empty" in result.err
    )
    assert f"{db}: table sessions has columns costaudit does not read: mood" in (
        result.err
    )
    assert ledger_totals(ledger)[1:] == db_totals(db)[1:]


def test_verbose_scan_names_the_home_profiles_and_rows(
    sample_home: Path, cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli("-v", *hermes_only(tmp_path), "--ledger", str(tmp_path / "l.duckdb"),
                 "--hermes-home", str(sample_home), "scan")  # fmt: skip
    assert result.code == 0, result.err
    assert (
        f"costaudit: INFO: Hermes home {sample_home}: profiles default, ayva, codi, "
        "hermy, sira, tesa" in result.err
    )
    for profile in ("default", "ayva", "codi", "hermy", "sira", "tesa"):
        root = (
            sample_home if profile == "default" else sample_home / "profiles" / profile
        )
        db = root / "state.db"
        rows = (
            sqlite3.connect(db)
            .execute("SELECT count(*) FROM session_model_usage")
            .fetchone()[0]
        )
        assert (
            f"{db}: profile {profile}, {rows} rows read from session_model_usage "
            "(immutable)" in result.err
        )
    quiet = cli(*hermes_only(tmp_path), "--ledger", str(tmp_path / "l.duckdb"),
                "--hermes-home", str(sample_home), "scan")  # fmt: skip
    assert "INFO" not in quiet.err


def test_verbose_scan_says_when_there_is_no_hermes_home(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-home"
    result = cli("-v", *hermes_only(tmp_path), "--ledger", str(tmp_path / "l.duckdb"),
                 "--hermes-home", str(missing), "scan")  # fmt: skip
    assert result.code == 0
    assert f"no Hermes home at {missing}" in result.err


def test_a_file_written_to_during_every_read_is_left_for_the_next_scan(
    sample_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = sample_home / "profiles" / "sira" / "state.db"
    source = HermesSource(sample_home, TaskNamer([]))
    batches = []
    for batch in source.scan({}):
        if batch.path != str(db):
            continue
        batches.append(batch)
        if batch.records:
            # A writer that opens, writes and closes (checkpointing into the
            # file) during each read, so that every read may be mixed.
            writer = sqlite3.connect(db)
            writer.execute(
                "UPDATE session_model_usage SET output_tokens = output_tokens + 1"
            )
            writer.commit()
            writer.close()
    reads = [b for b in batches if b.records]
    assert len(reads) == 3
    # The last word resets the file's state: the next scan reads it again.
    assert batches[-1].state == PathState("hermes", str(db))
    assert "Hermes kept writing to it" in caplog.text


def _read_all(home: Path, states: dict[str, PathState]) -> list[UsageRecord]:
    batches = HermesSource(home, TaskNamer([])).scan(states)
    return sorted((r for b in batches for r in b.records), key=lambda r: r.record_key)


def test_records_do_not_depend_on_batches_or_on_how_sessions_are_looked_up(
    sample_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A whole database reads every session at once; a rescan looks up the
    sessions of each batch of rows by id. Both give the same records,
    however the rows are cut into batches."""
    whole = _read_all(sample_home, {})
    assert len({r.session_id for r in whole}) < len(whole)
    monkeypatch.setattr(reader, "BATCH_ROWS", 3)
    assert _read_all(sample_home, {}) == whole
    # A watermark before every row: read again, a batch of sessions at a time.
    states = {
        str(p.state_db): PathState("hermes", str(p.state_db), watermark=1000.0)
        for p in profiles(sample_home)
    }
    for path, state in states.items():
        states[path] = replace(state, identity=file_identity(Path(path)))
    assert _read_all(sample_home, states) == whole


def test_a_database_unchanged_since_the_last_scan_is_not_read_again(
    sample_home: Path,
) -> None:
    """Rows of the last scan's final seconds are read again when a database
    changed (so none written in that second is missed), but a database with
    the same modification times and sizes as then, its WAL's included, is
    not read at all."""
    source = HermesSource(sample_home, TaskNamer([]))
    states: dict[str, PathState] = {}
    for batch in source.scan({}):
        states[batch.path] = batch.state
    again = list(HermesSource(sample_home, TaskNamer([])).scan(states))
    assert again and all(not b.records and b.error is None for b in again)
    assert {b.path: b.state for b in again} == states

    db = sample_home / "profiles" / "ayva" / "state.db"
    con = sqlite3.connect(db)
    con.execute(
        "UPDATE session_model_usage SET output_tokens = output_tokens + 7, "
        "last_seen = ? WHERE rowid = (SELECT max(rowid) FROM session_model_usage)",
        [time.time()],
    )
    con.commit()
    con.close()
    grown = list(HermesSource(sample_home, TaskNamer([])).scan(states))
    read = {b.path for b in grown if b.records}
    assert read == {str(db)}
