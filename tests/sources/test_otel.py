"""OTLP JSON files of GenAI spans: one document, or JSON lines of them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from costaudit.ledger import Ledger
from costaudit.ledger.ingest import ingest
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

    assert ingest(ledger, [source]).total_records == 3
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
