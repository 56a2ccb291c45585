"""OTLP JSON files of GenAI spans: one document, or JSON lines of them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from costaudit.ledger import Ledger
from costaudit.ledger.ingest import ingest
from costaudit.sources import otel
from costaudit.sources.otel import OtelSource

FIXTURE = Path(__file__).parent.parent / "fixtures" / "otel"


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(tmp_path / "l.duckdb")


def test_spans_with_token_counts_become_records(ledger: Ledger) -> None:
    summary = ingest(ledger, [OtelSource([str(FIXTURE)])])
    rows = ledger.fetch(
        "SELECT record_key, profile, task, session_id, model, provider, input_tokens,"
        " cache_read_tokens, cache_write_tokens, output_tokens FROM usage"
        " ORDER BY started_at"
    )

    trace = "5b8efff798038103d269b633813fc60c"
    assert rows == [
        (
            f"{trace}:eee19b7ec3c1b175",
            "research-agent",
            "researcher",
            "conv_8f3a",
            "gpt-4o-2024-08-06",
            "openai",
            928,
            3072,
            0,
            250,
        ),
        # Input smaller than its cache counts: Anthropic's own input count.
        (
            f"{trace}:eee19b7ec3c1b176",
            "research-agent",
            "",
            trace,
            "claude-sonnet-4-20250514",
            "anthropic",
            14,
            9000,
            1200,
            610,
        ),
        (
            "0af7651916cd43dd8448eb211c80319c:b7ad6b7169203331",
            "batch-job",
            "",
            "0af7651916cd43dd8448eb211c80319c",
            "llama3.2:3b",
            "ollama",
            26,
            0,
            0,
            298,
        ),
    ]
    assert sorted((Path(i.path).name, i.line) for i in summary.issues) == [
        ("collector.jsonl", 3),
        ("collector.jsonl", 4),
    ]
    latency = ledger.fetch('SELECT latency_s FROM call_events ORDER BY "at"')
    assert latency == [(2.5,), (5.0,), (1.5,)]


def test_document_file_is_read_again_only_when_changed(
    ledger: Ledger, tmp_path: Path
) -> None:
    copy = tmp_path / "traces.json"
    shutil.copy(FIXTURE / "traces.json", copy)
    source = OtelSource([str(copy)])

    assert ingest(ledger, [source]).total_records == 2
    assert ingest(ledger, [source]).total_records == 0

    doc = json.loads(copy.read_text())
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    extra = json.loads(json.dumps(spans[1]))
    extra["spanId"] = "eee19b7ec3c1b177"
    spans.append(extra)
    copy.write_text(json.dumps(doc, indent=2))

    again = ingest(ledger, [source])
    assert (again.inserted, again.unchanged) == ({"otel": 1}, {"otel": 2})
    assert ledger.record_count() == 3


def test_json_lines_file_is_read_incrementally(ledger: Ledger, tmp_path: Path) -> None:
    copy = tmp_path / "collector.jsonl"
    lines = (FIXTURE / "collector.jsonl").read_text().splitlines(keepends=True)
    copy.write_text(lines[1])
    source = OtelSource([str(copy)])

    assert ingest(ledger, [source]).total_records == 0
    with copy.open("a") as handle:
        handle.write(lines[0])
    assert ingest(ledger, [source]).total_records == 1
    assert ingest(ledger, [source]).total_records == 0


def test_first_line_being_written_waits_and_is_read_once_complete(
    ledger: Ledger, tmp_path: Path
) -> None:
    copy = tmp_path / "collector.jsonl"
    first, second = (FIXTURE / "collector.jsonl").read_text().splitlines()[:2]
    copy.write_text(first[:150])
    source = OtelSource([str(copy)])

    waiting = ingest(ledger, [source])
    assert (waiting.total_records, waiting.issue_count) == (0, 0)
    assert ledger.path_states("otel") == {}

    copy.write_text(first + "\n" + second + "\n")
    done = ingest(ledger, [source])
    assert (done.total_records, done.issue_count) == (1, 0)
    state = ledger.path_states("otel")[str(copy)]
    assert state.offset == copy.stat().st_size


def test_compact_document_without_newline_is_read_whole(
    ledger: Ledger, tmp_path: Path
) -> None:
    copy = tmp_path / "traces.json"
    copy.write_bytes(orjson.dumps(json.loads((FIXTURE / "traces.json").read_text())))
    source = OtelSource([str(copy)])

    assert ingest(ledger, [source]).total_records == 2
    # The offset kept is 0: were lines to follow, a line scan would start over.
    assert ledger.path_states("otel")[str(copy)].offset == 0
    with copy.open("ab") as handle:
        handle.write(b"\n")
    again = ingest(ledger, [source])
    assert (again.total_records, again.unchanged) == (0, {"otel": 2})


def spans_document(count: int, bad: int | None = None) -> dict[str, Any]:
    doc = json.loads((FIXTURE / "traces.json").read_text())
    scope = doc["resourceSpans"][0]["scopeSpans"][0]
    template = scope["spans"][1]  # "chat gpt-4o", with token counts
    spans = []
    for n in range(count):
        span = json.loads(json.dumps(template))
        span["spanId"] = f"{n:016x}"
        if n == bad:
            for attribute in span["attributes"]:
                if attribute["key"] == "gen_ai.usage.output_tokens":
                    attribute["value"] = {"doubleValue": 1.5}
        spans.append(span)
    scope["spans"] = spans
    return doc


def test_large_document_is_streamed_in_batches(tmp_path: Path) -> None:
    copy = tmp_path / "big.json"
    copy.write_text(json.dumps(spans_document(25), indent=1))
    # A batch is due at 20 records and events: 10 spans.
    source = OtelSource([str(copy)], batch_size=20)

    batches = list(source.scan({}))

    assert [len(b.records) for b in batches] == [10, 10, 5]
    # Only the last batch says the file was read to its end.
    assert [b.state.size for b in batches] == [0, 0, copy.stat().st_size]
    assert batches[-1].state.records == 25


def test_document_issue_names_the_span(ledger: Ledger, tmp_path: Path) -> None:
    copy = tmp_path / "bad.json"
    copy.write_text(json.dumps(spans_document(3, bad=1), indent=2))
    source = OtelSource([str(copy)])

    summary = ingest(ledger, [source])

    assert summary.total_records == 2
    assert [(i.line, i.message) for i in summary.issues] == [
        (
            None,
            "resourceSpans[0].scopeSpans[0].spans[1] ('chat gpt-4o'): "
            "gen_ai.usage.output_tokens must be a whole number, got 1.5",
        )
    ]


def test_broken_document_is_reported_once(ledger: Ledger, tmp_path: Path) -> None:
    copy = tmp_path / "broken.json"
    copy.write_text('{\n  "resourceSpans": [\n    {"resource": nope}\n  ]\n}\n')
    source = OtelSource([str(copy)])

    first = ingest(ledger, [source])
    ingest(ledger, [source])
    copy.write_text(copy.read_text() + "\n")
    ingest(ledger, [source])

    assert [i.message.split(":")[0] for i in first.issues] == ["not valid JSON"]
    assert len(ledger.scan_issues("otel")) == 1


def test_long_first_line_is_streamed_not_held(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(otel, "LINE_LIMIT", 500)
    copy = tmp_path / "collector.jsonl"
    shutil.copy(FIXTURE / "collector.jsonl", copy)

    assert otel.file_layout(str(copy)) == otel.DOCUMENT
    summary = ingest(ledger, [OtelSource([str(copy)])])

    # The same span and issues as a line scan finds, without line numbers.
    assert summary.total_records == 1
    assert [(i.line, i.message.split(":")[0]) for i in summary.issues] == [
        (None, "resourceSpans[0].scopeSpans[0].spans[0] ('chat gpt-4o-mini')"),
        (None, "not valid JSON"),
    ]
