"""What a scan tells: counts written, progress in bytes, issues kept once."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from costaudit.ledger import Ledger
from costaudit.ledger import ingest as ingest_module
from costaudit.ledger.ingest import ScanMeter, ingest
from costaudit.ledger.migrations import MIGRATIONS
from costaudit.ledger.store import SCAN_MEMORY_FLOOR, scan_memory_limit
from costaudit.sources.base import PathState, ScanBatch, ScanIssue
from costaudit.sources.claude_code import ClaudeCodeSource
from costaudit.sources.otel import OtelSource
from tests.ledger_data import record

FIXTURES = Path(__file__).parent.parent / "fixtures"
PROJECTS = FIXTURES / "claude_code" / "projects"


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(tmp_path / "l.duckdb")


@pytest.fixture
def projects(tmp_path: Path) -> Path:
    copy = tmp_path / "projects"
    shutil.copytree(PROJECTS, copy)
    return copy


def test_store_counts_new_changed_and_unchanged(ledger: Ledger) -> None:
    state = PathState("test", "/test")
    first = ledger.store_batch(
        ScanBatch("test", "/test", state, [record("a"), record("b")])
    )
    again = ledger.store_batch(
        ScanBatch(
            "test",
            "/test",
            state,
            [record("a"), record("b", input_tokens=999), record("c")],
        )
    )

    assert (first.inserted, first.updated) == ({"test": 2}, {"test": 0})
    assert (again.inserted, again.updated, again.unchanged) == (
        {"test": 1},
        {"test": 1},
        {"test": 1},
    )
    assert ledger.fetch("SELECT input_tokens FROM usage WHERE record_key = 'b'") == [
        (999,)
    ]


def test_unchanged_record_keeps_its_price(ledger: Ledger) -> None:
    state = PathState("test", "/test")
    ledger.store_batch(ScanBatch("test", "/test", state, [record("a")]))
    ledger.con.execute("UPDATE usage SET cost_usd = 1.5, priced_with = 'x'")

    ledger.store_batch(ScanBatch("test", "/other", state, [record("a")]))

    assert ledger.fetch("SELECT cost_usd, priced_with FROM usage") == [
        (pytest.approx(1.5), "x")
    ]


def test_meter_counts_bytes_to_read_then_read(ledger: Ledger, projects: Path) -> None:
    sizes = sum(p.stat().st_size for p in projects.rglob("*.jsonl"))
    seen: list[tuple[int, int]] = []

    def watch(meter: ScanMeter) -> None:
        seen.append((meter.done_bytes, meter.total_bytes))

    ingest(ledger, [ClaudeCodeSource([str(projects)])], watch)

    assert {total for _, total in seen} == {sizes}
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == sizes
    # Appended bytes are all a rescan has to read.
    session = next(projects.rglob("6f1c*.jsonl"))
    added = '{"type":"summary","summary":"more"}\n'
    with session.open("a") as handle:
        handle.write(added)
    seen.clear()
    ingest(ledger, [ClaudeCodeSource([str(projects)])], watch)
    assert seen[-1] == (len(added), len(added))


def test_meter_never_passes_its_total() -> None:
    meter = ScanMeter()
    meter.expect({"/a": 10, "/b": 5})
    meter.read("/a", 4)
    meter.read("/a", 100)  # the file grew since it was measured
    meter.finish("/b")

    assert (meter.done_bytes, meter.total_bytes, meter.fraction) == (15, 15, 1.0)


def test_issues_kept_in_memory_are_capped(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(ingest_module, "MAX_ISSUES_KEPT", 3)
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n" * 8)

    summary = ingest(ledger, [OtelSource([str(bad)])])

    assert (len(summary.issues), summary.issue_count) == (3, 8)
    assert [i["line"] for i in ledger.scan_issues()] == list(range(1, 9))


def test_issues_of_a_file_read_again_are_kept_once(
    ledger: Ledger, tmp_path: Path
) -> None:
    log = tmp_path / "spans.jsonl"
    log.write_text("not json\n{}\n")
    source = OtelSource([str(log)])
    ingest(ledger, [source])
    # Replaced by a new file with the same start: read again from the top.
    log.unlink()
    log.write_text("not json\n{}\nnot json either\n")

    ingest(ledger, [source])

    assert [(i["line"], i["message"][:14]) for i in ledger.scan_issues()] == [
        (1, "not valid JSON"),
        (2, "not an OTLP tr"),
        (3, "not valid JSON"),
    ]


def test_failed_paths_are_named(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text("{}\n")
    locked = tmp_path / "locked.jsonl"
    locked.write_text("{}\n")
    real_open = open

    def refusing_open(path: object, *args: object, **kwargs: object) -> object:
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", refusing_open)
    summary = ingest(ledger, [OtelSource([str(good), str(locked)])])

    assert summary.failed
    assert summary.failed_paths() == {
        str(locked): f"{locked}: cannot read: Permission denied"
    }
    assert not summary.paths[str(good)].failed
    assert summary.paths[str(good)].issues == 1


def test_headline() -> None:
    summary = ingest_module.ScanSummary()
    assert summary.headline() == "nothing new"
    summary.inserted = {"a": 7}
    summary.updated = {"a": 1}
    summary.events = {"b": 2}
    assert summary.headline() == (
        "7 new records, 1 updated record, 2 new or updated call events"
    )
    assert summary.records == {"a": 8}
    summary.unchanged = {"a": 1200}
    assert summary.headline() == (
        "7 new records, 1 updated record, 2 new or updated call events; "
        "1,200 records read again, unchanged"
    )


def test_migration_keeps_each_old_issue_once(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE migrations (name VARCHAR PRIMARY KEY, why VARCHAR NOT NULL, "
        "applied_at TIMESTAMPTZ NOT NULL)"
    )
    before = [m for m in MIGRATIONS if m.name < "009"]
    for migration in before:
        for statement in migration.statements:
            con.execute(statement)
        con.execute(
            "INSERT INTO migrations VALUES (?, ?, now())", [migration.name, "old"]
        )
    for _ in range(3):
        con.execute("INSERT INTO scan_issues VALUES ('s', '/p', 4, 'bad', now())")
    con.close()

    with Ledger.open(path) as ledger:
        assert [i["line"] for i in ledger.scan_issues()] == [4]
        ledger._store_issues([("s", ScanIssue("/p", 4, "bad"))])
        assert len(ledger.scan_issues()) == 1


def test_cold_scan_counts_every_record_stored(ledger: Ledger, projects: Path) -> None:
    summary = ingest(ledger, [ClaudeCodeSource([str(projects)])])

    assert summary.records == {"claude_code": ledger.record_count()}
    assert summary.headline() == f"{ledger.record_count()} new records"


def test_scan_holds_duckdb_memory_and_gives_it_back(ledger: Ledger) -> None:
    def setting() -> object:
        return ledger.fetch("SELECT current_setting('memory_limit')")[0][0]

    default = setting()
    with ledger.scan_memory():
        held = setting()

    assert held == f"{SCAN_MEMORY_FLOOR / 2**20:.1f} MiB" != default
    assert setting() == default
    assert scan_memory_limit(ledger.path) == SCAN_MEMORY_FLOOR
