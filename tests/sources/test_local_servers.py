"""llama.cpp and Ollama server logs: call events with measured timings."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from costaudit.ledger import Ledger
from costaudit.ledger.ingest import ingest
from costaudit.sources.llamacpp import LlamaCppSource
from costaudit.sources.ollama import OllamaSource, go_duration

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
