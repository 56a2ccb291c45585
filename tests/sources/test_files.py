"""Incremental reading of log files, through the real ledger."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from costaudit.ledger import Ledger
from costaudit.ledger.ingest import ingest
from costaudit.sources.claude_code import ClaudeCodeSource
from costaudit.sources.files import expand, scan_lines, split_identity


def line(n: int, output: int = 10, message: str | None = None) -> str:
    entry = {
        "type": "assistant",
        "sessionId": "s1",
        "cwd": "/home/dev/app",
        "requestId": f"req_{message or n}",
        "uuid": f"u{n}",
        "timestamp": f"2025-08-14T09:{n // 60 % 60:02d}:{n % 60:02d}.000Z",
        "message": {
            "id": f"msg_{message or n}",
            "model": "claude-sonnet-4-20250514",
            "usage": {
                "input_tokens": 1,
                "cache_creation_input_tokens": 2,
                "cache_read_input_tokens": 3,
                "output_tokens": output,
            },
        },
    }
    return json.dumps(entry) + "\n"


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(tmp_path / "l.duckdb")


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    folder = tmp_path / "projects" / "-home-dev-app"
    folder.mkdir(parents=True)
    return folder / "s1.jsonl"


def totals(ledger: Ledger) -> tuple[int, int]:
    row = ledger.fetch("SELECT count(*), coalesce(sum(output_tokens), 0) FROM usage")
    return int(row[0][0]), int(row[0][1])


def source(log_file: Path, batch_size: int = 20_000) -> ClaudeCodeSource:
    return ClaudeCodeSource([str(log_file.parent.parent)], batch_size=batch_size)


def test_second_scan_stores_nothing_new(ledger: Ledger, log_file: Path) -> None:
    log_file.write_text("".join(line(n) for n in range(5)))
    first = ingest(ledger, [source(log_file)])
    second = ingest(ledger, [source(log_file)])

    assert first.total_records == 5
    assert second.total_records == 0
    assert second.paths == {}
    assert totals(ledger) == (5, 50)


def test_appended_lines_are_read_from_the_offset(
    ledger: Ledger, log_file: Path
) -> None:
    log_file.write_text("".join(line(n) for n in range(3)))
    ingest(ledger, [source(log_file)])
    with log_file.open("a") as handle:
        handle.write(line(3) + "not json\n" + line(4))

    summary = ingest(ledger, [source(log_file)])

    assert summary.total_records == 2
    assert [(i.line, i.message) for i in summary.issues] == [
        (5, "not a complete JSON object")
    ]
    assert summary.issues[0].path == str(log_file)
    assert totals(ledger) == (5, 50)
    state = ledger.path_states("claude_code")[str(log_file)]
    assert (state.offset, state.watermark, state.records, state.issues) == (
        log_file.stat().st_size,
        6.0,
        5,
        1,
    )


def test_partial_last_line_waits_for_its_newline(
    ledger: Ledger, log_file: Path
) -> None:
    whole = line(0) + line(1)
    log_file.write_text(whole + line(2)[:40])
    first = ingest(ledger, [source(log_file)])
    state = ledger.path_states("claude_code")[str(log_file)]

    assert first.total_records == 2
    assert first.issues == []
    assert state.offset == len(whole.encode())

    log_file.write_text(whole + line(2))
    second = ingest(ledger, [source(log_file)])

    assert second.total_records == 1
    assert totals(ledger) == (3, 30)


def test_streamed_message_keeps_its_last_line_across_scans(
    ledger: Ledger, log_file: Path
) -> None:
    log_file.write_text(line(0, output=1, message="a") + line(1, output=5, message="a"))
    ingest(ledger, [source(log_file)])
    with log_file.open("a") as handle:
        handle.write(line(2, output=40, message="a"))
    ingest(ledger, [source(log_file)])

    assert totals(ledger) == (1, 40)


def test_rotated_file_is_read_again_without_double_counting(
    ledger: Ledger, log_file: Path
) -> None:
    log_file.write_text("".join(line(n) for n in range(4)))
    ingest(ledger, [source(log_file)])
    log_file.rename(log_file.with_suffix(".old"))
    log_file.write_text(line(2) + line(3) + line(4))

    summary = ingest(ledger, [source(log_file)])

    # Lines 2 and 3 are read again, the same: not new, not written again.
    assert (summary.inserted, summary.unchanged) == (
        {"claude_code": 1},
        {"claude_code": 2},
    )
    assert summary.headline() == "1 new record; 2 records read again, unchanged"
    assert totals(ledger) == (5, 50)
    state = ledger.path_states("claude_code")[str(log_file)]
    assert (state.records, state.watermark) == (3, 3.0)


def test_truncated_file_is_read_again(ledger: Ledger, log_file: Path) -> None:
    log_file.write_text("".join(line(n) for n in range(4)))
    ingest(ledger, [source(log_file)])
    with log_file.open("r+") as handle:
        handle.truncate(0)
        handle.write(line(0))

    summary = ingest(ledger, [source(log_file)])

    assert (summary.total_records, summary.unchanged["claude_code"]) == (0, 1)
    assert summary.headline() == "nothing new; 1 record read again, unchanged"
    assert totals(ledger) == (4, 40)


def test_file_replaced_in_place_is_detected_by_its_first_bytes(
    ledger: Ledger, log_file: Path
) -> None:
    log_file.write_text(line(0) + line(1))
    ingest(ledger, [source(log_file)])
    # Same inode, longer content, different start: rewritten, not appended.
    with log_file.open("r+") as handle:
        handle.write(line(7) + line(8) + line(9))

    summary = ingest(ledger, [source(log_file)])

    assert summary.total_records == 3
    assert totals(ledger) == (5, 50)


def test_large_file_is_stored_in_batches_ending_on_lines(
    ledger: Ledger, log_file: Path
) -> None:
    log_file.write_text("".join(line(n) for n in range(250)))
    scanner = source(log_file, batch_size=100)
    # A batch is due after the chunk in which the parser came to hold 100.
    batches = list(
        scan_lines(
            "claude_code",
            str(log_file),
            None,
            scanner.parser,
            batch_size=100,
            chunk_bytes=4096,
        )
    )

    sizes = [len(b.records) for b in batches]
    assert len(sizes) >= 3 and min(sizes[:-1]) >= 100 and sum(sizes) == 250
    data = log_file.read_bytes()
    for batch in batches:
        assert data[batch.state.offset - 1 : batch.state.offset] == b"\n"

    # An interrupted scan (only the first batch stored) goes on from there.
    ledger.store_batch(batches[0])
    summary = ingest(ledger, [scanner])
    assert summary.total_records == 250 - sizes[0]
    assert totals(ledger) == (250, 2500)


def test_line_numbers_stay_right_after_a_resumed_scan(
    ledger: Ledger, log_file: Path
) -> None:
    log_file.write_text(line(0) + line(1))
    ingest(ledger, [source(log_file)])
    with log_file.open("a") as handle:
        handle.write(line(2) + '{"message": {"usage": \n')

    summary = ingest(ledger, [source(log_file)])

    assert [i.line for i in summary.issues] == [4]
    stored = ledger.fetch("SELECT path, line, message FROM scan_issues")
    assert stored[0][:2] == (str(log_file), 4)
    assert stored[0][2] == "not a complete JSON object"


def test_unreadable_path_gives_an_error_batch_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-file.jsonl"
    folder.mkdir()
    batches = list(
        scan_lines("claude_code", str(folder), None, ClaudeCodeSource([]).parser)
    )

    assert len(batches) == 1
    assert batches[0].error is not None
    assert batches[0].error.startswith(f"{folder}: cannot read")


def test_unreadable_file_does_not_stop_the_scan(
    ledger: Ledger, log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_file.write_text(line(0))
    other = log_file.with_name("s2.jsonl")
    other.write_text(line(1))
    real_open = open

    def refusing_open(path: object, *args: object, **kwargs: object) -> object:
        if str(path) == str(log_file):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", refusing_open)
    summary = ingest(ledger, [source(log_file)])

    assert summary.errors == [f"{log_file}: cannot read: Permission denied"]
    assert summary.total_records == 1


def test_identity_keeps_device_inode_and_head(log_file: Path) -> None:
    log_file.write_text(line(0))
    batch = next(iter(source(log_file).scan({})))
    fingerprint, carry = split_identity(batch.state.identity)
    st = os.stat(log_file)

    assert fingerprint is not None
    assert (fingerprint.dev, fingerprint.ino) == (st.st_dev, st.st_ino)
    assert fingerprint.head_len == min(512, st.st_size)
    assert carry == ""


def test_expand_takes_files_folders_and_globs(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jsonl").write_text("")
    (tmp_path / "a" / "y.txt").write_text("")
    (tmp_path / "b.jsonl").write_text("")

    found = expand(
        [str(tmp_path / "a"), str(tmp_path / "*.jsonl"), str(tmp_path / "missing")],
        (".jsonl",),
    )

    assert found == [str(tmp_path / "a" / "x.jsonl"), str(tmp_path / "b.jsonl")]


def test_worker_processes_read_as_one_process_does(
    tmp_path: Path, log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("costaudit.sources.pieces.PIECE_BYTES", 2_000)
    monkeypatch.setattr("costaudit.sources.pieces.PARALLEL_MIN_BYTES", 0)
    body = [line(n, output=n, message=str(n // 3)) for n in range(60)]
    body[17] = "garbage\n"
    body[41] = body[41][:50] + "\n"
    log_file.write_text("".join(body) + line(99)[:30])
    other = log_file.with_name("s2.jsonl")
    other.write_text("".join(line(n) for n in range(100, 110)))

    def scan_twice(workers: int) -> Ledger:
        ledger = Ledger.open(tmp_path / f"w{workers}.duckdb")
        scanner = ClaudeCodeSource(
            [str(log_file.parent.parent)], batch_size=7, workers=workers
        )
        ingest(ledger, [scanner])
        with log_file.open("a") as handle:
            handle.write(line(99)[30:] + "oops\n")
        ingest(ledger, [scanner])
        log_file.write_text("".join(body) + line(99)[:30])
        return ledger

    def contents(ledger: Ledger) -> tuple[list[tuple[Any, ...]], ...]:
        return (
            ledger.fetch("SELECT record_key, output_tokens FROM usage ORDER BY 1"),
            ledger.fetch("SELECT path, line, message FROM scan_issues ORDER BY 1, 2"),
            ledger.fetch(
                # records counts what was handed over, and a message split
                # between two batches is handed over twice (and kept once).
                'SELECT path, "offset", watermark, issues FROM path_state ORDER BY 1'
            ),
        )

    one, two = contents(scan_twice(1)), contents(scan_twice(2))

    assert one == two
    assert [row[1] for row in one[1]] == [18, 42, 62]
