"""llama.cpp and Ollama server logs: call events with measured timings."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from costaudit.ledger import Ledger
from costaudit.ledger.ingest import ingest
from costaudit.sources.llamacpp import LlamaCppSource
from costaudit.sources.ollama import OllamaSource, default_paths, go_duration

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(tmp_path / "l.duckdb")


def events(ledger: Ledger) -> list[tuple[object, ...]]:
    return ledger.fetch(
        "SELECT model, prompt_tokens, output_tokens, round(prompt_eval_s, 6),"
        " round(eval_s, 6), round(latency_s, 6)"
        " FROM call_events ORDER BY path, prompt_tokens"
    )


def test_llamacpp_timings_in_every_format(ledger: Ledger) -> None:
    summary = ingest(ledger, [LlamaCppSource([str(FIXTURES / "llamacpp")])])

    assert summary.total_records == 0
    assert events(ledger) == [
        ("LLaMA v2", 800, 395, 0.44418, 14.21537, 14.65955),
        ("unknown", 9, 62, 0.05253, 1.13271, 1.18524),
        ("qwen2.5-7b-instruct-q4_k_m", 26, 276, 0.1872, 9.54104, 9.72824),
        ("qwen2.5-7b-instruct-q4_k_m", 40, 118, 0.05211, 4.1135, 4.16561),
    ]
    json_time = ledger.fetch(
        "SELECT \"at\" FROM call_events WHERE path LIKE '%2024.jsonl'"
    )[0][0]
    assert json_time.astimezone(UTC) == datetime.fromtimestamp(1717000124, tz=UTC)


def test_llamacpp_unfinished_block_is_carried_to_the_next_scan(
    ledger: Ledger, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    shutil.copy(FIXTURES / "llamacpp" / "server.log", log)
    source = LlamaCppSource([str(log)], model="qwen-local")
    ingest(ledger, [source])
    with log.open("a") as handle:
        handle.write("      total time =    2511.75 ms /   119 tokens\n")

    summary = ingest(ledger, [source])

    assert summary.events == {"llamacpp": 1}
    assert events(ledger)[-1] == ("qwen-local", 55, 64, 0.30175, 2.21, 2.51175)


def test_llamacpp_as_usage_makes_local_records(ledger: Ledger) -> None:
    source = LlamaCppSource([str(FIXTURES / "llamacpp" / "server.log")], as_usage=True)
    ingest(ledger, [source])
    rows = ledger.fetch(
        "SELECT input_tokens, output_tokens, is_local, provider FROM usage"
        " ORDER BY input_tokens"
    )

    assert rows == [(26, 276, True, "llama.cpp"), (40, 118, True, "llama.cpp")]


def test_ollama_access_lines_with_timings(ledger: Ledger) -> None:
    summary = ingest(ledger, [OllamaSource([str(FIXTURES / "ollama")])])
    rows = ledger.fetch(
        'SELECT "at", model, prompt_tokens, output_tokens, prompt_eval_s, eval_s,'
        ' latency_s FROM call_events ORDER BY "at"'
    )

    assert summary.total_records == 0
    # GIN's local times, in the +02:00 zone Ollama's own lines name.
    assert [r[0].astimezone(UTC) for r in rows] == [
        datetime(2024, 5, 20, 8, 0, 15, tzinfo=UTC),
        datetime(2024, 5, 20, 8, 2, 11, tzinfo=UTC),
    ]
    assert [r[1:] for r in rows] == [
        ("Meta-Llama-3-8B-Instruct", 20, 233, 0.43717, 8.90352, 9.827361512),
        ("Meta-Llama-3-8B-Instruct", 0, 0, None, None, 3.504212981),
    ]
    assert [(i.line, i.message) for i in summary.issues] == [
        (17, "GIN access line in an unknown format")
    ]


def test_ollama_rescan_stores_nothing_new(ledger: Ledger) -> None:
    source = OllamaSource([str(FIXTURES / "ollama")], as_usage=True)
    first = ingest(ledger, [source])
    second = ingest(ledger, [source])

    assert (first.total_records, second.total_records) == (1, 0)
    assert second.events == {"ollama": 0}


def test_go_durations() -> None:
    assert go_duration("9.827361512s") == pytest.approx(9.827361512)
    assert go_duration("41.507µs") == pytest.approx(41.507e-6)
    assert go_duration("1.193025ms") == pytest.approx(1.193025e-3)
    assert go_duration("30m0s") == 1800.0
    assert go_duration("1h2m3s") == 3723.0
    assert go_duration("soon") is None


def test_llamacpp_rotated_log_is_followed_not_counted_again(
    ledger: Ledger, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(FIXTURES / "llamacpp" / "server.log", logs / "server.log")
    source = LlamaCppSource([str(logs)], model="qwen-local")
    ingest(ledger, [source])
    (logs / "server.log").rename(logs / "server.log.1")
    (logs / "server.log").write_text(
        "prompt eval time =     101.00 ms /    10 tokens\n"
        "       eval time =     202.00 ms /    20 tokens\n"
        "      total time =     303.00 ms /    30 tokens\n"
    )

    summary = ingest(ledger, [source])

    assert [Path(p).name for p in source.locations()] == ["server.log", "server.log.1"]
    assert summary.events == {"llamacpp": 1}
    per_file = ledger.fetch(
        "SELECT path, count(*) FROM call_events GROUP BY 1 ORDER BY 1"
    )
    assert [(Path(p).name, n) for p, n in per_file] == [
        ("server.log", 1),
        ("server.log.1", 2),
    ]


def test_llamacpp_copied_rotation_is_read_whole_but_not_counted_twice(
    ledger: Ledger, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    shutil.copy(FIXTURES / "llamacpp" / "server.log", logs / "server.log")
    source = LlamaCppSource([str(logs / "server.log*")])
    ingest(ledger, [source])
    # logrotate's copytruncate: a copy with a new inode, the original emptied.
    shutil.copy(logs / "server.log", logs / "server.log.1")
    (logs / "server.log").write_text("")

    summary = ingest(ledger, [source])

    assert summary.events == {"llamacpp": 0}
    assert summary.headline() == "nothing new"
    assert ledger.fetch("SELECT count(*) FROM call_events")[0][0] == 2


def test_ollama_rotated_server_logs_are_followed(
    ledger: Ledger, tmp_path: Path
) -> None:
    logs = tmp_path / ".ollama" / "logs"
    logs.mkdir(parents=True)
    shutil.copy(FIXTURES / "ollama" / "server.log", logs / "server.log")
    source = OllamaSource(default_paths({}, tmp_path))
    ingest(ledger, [source])
    (logs / "server.log").rename(logs / "server-1.log")
    (logs / "server.log").write_text(
        "time=2024-05-21T09:00:00.000+02:00 level=INFO source=routes.go:1054"
        ' msg="Listening on 127.0.0.1:11434 (version 0.1.38)"\n'
        "[GIN] 2024/05/21 - 09:00:05 | 200 |  1.5s |  127.0.0.1 |"
        ' POST     "/api/generate"\n'
    )

    summary = ingest(ledger, [source])

    assert summary.events == {"ollama": 1}
    assert ledger.fetch("SELECT count(*) FROM call_events")[0][0] == 3
    # The bad line of the old log is now reported under its new name.
    assert [Path(i["path"]).name for i in ledger.scan_issues("ollama")] == [
        "server-1.log"
    ]


def test_ollama_journal_export_takes_its_zone_from_the_journal(
    ledger: Ledger, tmp_path: Path
) -> None:
    # Without Ollama's own time= lines, only the journal's +0200 gives the zone.
    lines = (FIXTURES / "ollama_journal" / "journal.log").read_text().splitlines()
    export = tmp_path / "journal.log"
    kept = [x for x in lines if " time=" not in x]
    export.write_text("".join(f"{x}\n" for x in kept))

    summary = ingest(ledger, [OllamaSource([str(export)])])
    rows = ledger.fetch(
        'SELECT "at", model, prompt_tokens, output_tokens FROM call_events'
        ' ORDER BY "at"'
    )

    assert [r[0].astimezone(UTC) for r in rows] == [
        datetime(2024, 5, 20, 8, 0, 15, tzinfo=UTC),
        datetime(2024, 5, 20, 8, 2, 11, tzinfo=UTC),
    ]
    assert rows[0][1:] == ("Meta-Llama-3-8B-Instruct", 20, 233)
    assert [i.line for i in summary.issues] == [len(kept)]


def test_ollama_journal_exported_again_counts_nothing_twice(
    ledger: Ledger, tmp_path: Path
) -> None:
    export = tmp_path / "journal.log"
    shutil.copy(FIXTURES / "ollama_journal" / "journal.log", export)
    source = OllamaSource([str(export)])
    ingest(ledger, [source])
    # Exported again after the journal dropped its oldest line: a new file.
    lines = export.read_text().splitlines(keepends=True)
    export.unlink()
    export.write_text("".join(lines[1:]))

    again = ingest(ledger, [source])

    assert (again.events, again.issue_count) == ({"ollama": 0}, 1)
    assert [i["line"] for i in ledger.scan_issues("ollama")] == [len(lines) - 1]


def test_ollama_default_places(tmp_path: Path) -> None:
    assert default_paths({}, tmp_path) == [str(tmp_path / ".ollama" / "logs")]
    windows = default_paths({"LOCALAPPDATA": "C:/Users/a/AppData/Local"}, tmp_path)
    assert windows[1] == str(Path("C:/Users/a/AppData/Local") / "Ollama")
