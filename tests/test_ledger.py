"""The ledger: named migrations applied once, idempotent upserts."""

from __future__ import annotations

from pathlib import Path

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
