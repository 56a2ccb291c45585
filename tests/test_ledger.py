"""The ledger: named migrations applied once, idempotent upserts."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costaudit.ledger.columns import (
    EVENT_COLUMNS,
    RECORD_COLUMNS,
    event_columns,
    record_columns,
)
from costaudit.ledger.migrations import MIGRATIONS
from costaudit.ledger.store import Ledger
from costaudit.sources.base import PathState, ScanBatch
from tests.ledger_data import record


def test_migrations_are_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "l.duckdb"
    with Ledger.open(path) as ledger:
        assert ledger.applied_migrations() == [m.name for m in MIGRATIONS]
        why = ledger.fetch("SELECT why FROM migrations ORDER BY name")
        assert all(row[0] for row in why)
    with Ledger.open(path) as ledger:
        assert ledger.migrate() == []


def test_storing_the_same_record_twice_keeps_one(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.duckdb") as ledger:
        state = PathState("test", "/test")
        first = record("k1", input_tokens=100)
        grown = record("k1", input_tokens=250)
        ledger.store_batch(ScanBatch("test", "/test", state, [first, first]))
        ledger.store_batch(ScanBatch("test", "/test", state, [grown]))
        rows = ledger.fetch("SELECT record_key, input_tokens FROM usage")
    assert rows == [("k1", 250)]


def _primary_keys(path: Path) -> int:
    con = duckdb.connect(str(path))
    found = con.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'usage'"
        " AND constraint_type = 'PRIMARY KEY'"
    ).fetchone()
    con.close()
    assert found is not None
    return int(found[0])


def test_records_of_a_ledger_from_before_010_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.duckdb"
    before = tuple(m for m in MIGRATIONS if m.name < "010")
    monkeypatch.setattr("costaudit.ledger.store.MIGRATIONS", before)
    with Ledger.open(path) as ledger:
        state = PathState("test", "/test")
        ledger.store_batch(ScanBatch("test", "/test", state, [record("k1")]))
    assert _primary_keys(path) == 1
    monkeypatch.undo()

    with Ledger.open(path) as ledger:
        rows = ledger.fetch("SELECT record_key, input_tokens FROM usage")
        ledger.store_batch(ScanBatch("test", "/test", state, [record("k1")]))
        again = ledger.fetch("SELECT count(*) FROM usage")

    assert _primary_keys(path) == 0
    assert rows == [("k1", 1000)] and again == [(1,)]


BATCHES = st.lists(
    st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(1, 5)), max_size=8),
    min_size=1,
    max_size=6,
)


@settings(max_examples=40, deadline=None)
@given(BATCHES)
def test_each_key_is_kept_once_with_its_last_tokens(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[tuple[str, int]]]
) -> None:
    path = tmp_path_factory.mktemp("ledger") / "l.duckdb"
    last: dict[str, int] = {}
    with Ledger.open(path) as ledger:
        with ledger.writing():
            for batch in batches:
                records = [record(key, input_tokens=n) for key, n in batch]
                state = PathState("test", "/test")
                ledger.store_batches(
                    [ScanBatch("test", "/test", state, records)], in_transaction=True
                )
                last.update(batch)
        rows = ledger.fetch("SELECT record_key, input_tokens FROM usage ORDER BY 1")

    assert rows == sorted(last.items())


def test_column_names_are_those_the_makers_make() -> None:
    assert tuple(record_columns([], 0.0)) == RECORD_COLUMNS
    assert tuple(event_columns([])) == EVENT_COLUMNS
