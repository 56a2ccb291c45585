"""Reading Hermes databases: rescans, growth, old schemas, bad files, writers."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from costaudit.ledger.store import Ledger
from tests.conftest import Result
from tests.test_hermes_conformance import SPEC


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


def test_database_from_before_schema_20_reads_session_totals(
    write_hermes_home: Callable[..., Path], cli: Callable[..., Result], tmp_path: Path
) -> None:
    home = write_hermes_home(SPEC, name="old", schema=19)
    con = sqlite3.connect(home / "state.db")
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    expected = con.execute(
        "SELECT sum(input_tokens), sum(output_tokens) FROM sessions"
    ).fetchone()
    con.close()
    assert "session_model_usage" not in tables
    ledger = tmp_path / "l.duckdb"
    result = cli("--ledger", str(ledger), "--hermes-home", str(home), "scan")
    assert result.code == 0, result.err
    with Ledger.open(ledger) as opened:
        got = opened.fetch(
            "SELECT sum(input_tokens), sum(output_tokens) FROM usage "
            "WHERE profile = 'default'"
        )[0]
    assert tuple(int(v) for v in got) == tuple(expected)


def test_corrupt_database_is_named_and_nothing_else_is_lost(
    write_hermes_home: Callable[..., Path], cli: Callable[..., Result], tmp_path: Path
) -> None:
    home = write_hermes_home(SPEC)
    ledger = tmp_path / "l.duckdb"
    base = ["--ledger", str(ledger), "--hermes-home", str(home)]
    assert cli(*base, "scan").code == 0
    before = totals(ledger)

    broken = home / "profiles" / "codi" / "state.db"
    for suffix in ("-wal", "-shm"):
        Path(f"{broken}{suffix}").unlink(missing_ok=True)
    broken.write_bytes(b"this is not a database at all\n" * 100)
    result = cli(*base, "scan")
    assert result.code == 0
    assert str(broken) in result.err
    assert "not a readable SQLite database" in result.err
    assert totals(ledger) == before


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
