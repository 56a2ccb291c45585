"""JSON lines of API responses from several providers."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from costaudit.ledger import Ledger
from costaudit.ledger.ingest import ingest
from costaudit.sources.openai_jsonl import OpenAIJsonlSource, Tokens, normalize_usage

FIXTURE = Path(__file__).parent.parent / "fixtures" / "openai_jsonl" / "calls.jsonl"
FIELDS = {"timestamp": "meta.ts", "profile": "meta.app", "task": "meta.task"}


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(tmp_path / "l.duckdb")


def test_each_provider_shape(ledger: Ledger) -> None:
    summary = ingest(ledger, [OpenAIJsonlSource([str(FIXTURE)], fields=FIELDS)])
    rows = ledger.fetch(
        "SELECT model, provider, profile, task, input_tokens, cache_read_tokens,"
        " cache_write_tokens, output_tokens, reasoning_tokens, is_local, started_at"
        " FROM usage ORDER BY started_at"
    )

    def at(text: str) -> datetime:
        return datetime.fromisoformat(text).astimezone(UTC)

    assert [r[:10] for r in rows] == [
        ("deepseek-reasoner", "deepseek", "coder", "", 440, 2560, 0, 800, 500, None),
        (
            "gpt-4o-mini-2024-07-18",
            None,
            "support-bot",
            "triage",
            512,
            1536,
            0,
            120,
            0,
            None,
        ),
        (
            "o4-mini-2025-04-16",
            None,
            "support-bot",
            "summarise",
            904,
            4096,
            0,
            900,
            640,
            None,
        ),
        (
            "claude-sonnet-4-20250514",
            "anthropic",
            "coder",
            "",
            12,
            24000,
            1800,
            310,
            0,
            None,
        ),
        ("llama3.2:3b", "ollama", "local", "", 26, 0, 0, 298, 0, True),
    ]
    assert [r[10].astimezone(UTC) for r in rows] == [
        at("2025-09-10T06:15:00Z"),
        at("2025-09-10T08:00:00Z"),
        at("2025-09-10T08:05:00Z"),
        at("2025-09-10T08:10:00Z"),
        at("2025-09-10T08:20:00.123456Z"),
    ]
    assert [(i.line, i.message.split(":")[0]) for i in summary.issues] == [
        (7, "no token usage found in the line"),
        (8, "not valid JSON"),
    ]


def test_ollama_durations_become_a_call_event(ledger: Ledger) -> None:
    ingest(ledger, [OpenAIJsonlSource([str(FIXTURE)], fields=FIELDS)])
    events = ledger.fetch(
        "SELECT model, prompt_tokens, output_tokens, latency_s, prompt_eval_s, eval_s"
        " FROM call_events"
    )

    assert events == [("llama3.2:3b", 26, 298, 5.191566416, 0.383809, 4.799921)]


def test_rescan_and_append(ledger: Ledger, tmp_path: Path) -> None:
    copy = tmp_path / "calls.jsonl"
    shutil.copy(FIXTURE, copy)
    source = OpenAIJsonlSource([str(copy)], fields=FIELDS)
    ingest(ledger, [source])

    assert ingest(ledger, [source]).total_records == 0
    with copy.open("a") as handle:
        handle.write(FIXTURE.read_text().splitlines()[0] + "\n")
    # The same response again (same id) is read, but not counted twice.
    again = ingest(ledger, [source])
    assert (again.total_records, again.unchanged) == (0, {"openai_jsonl": 1})
    assert ledger.record_count() == 5


def test_normalize_usage_keeps_the_prompt_whole() -> None:
    assert normalize_usage({"prompt_tokens": 10, "completion_tokens": 2}) == Tokens(
        10, 0, 0, 2, 0
    )
    assert normalize_usage(
        {
            "promptTokenCount": 100,
            "candidatesTokenCount": 20,
            "thoughtsTokenCount": 30,
            "cachedContentTokenCount": 60,
        }
    ) == Tokens(40, 60, 0, 50, 30)
    assert normalize_usage({"total": 3}) is None
    with pytest.raises(ValueError, match="whole number"):
        normalize_usage({"prompt_tokens": -1})


def test_platform_is_api_unless_the_mapping_names_it(
    ledger: Ledger, tmp_path: Path
) -> None:
    lines = FIXTURE.read_text().splitlines()
    first = json.loads(lines[0])
    first["meta"]["via"] = "batch-proxy"
    copy = tmp_path / "calls.jsonl"
    copy.write_text(json.dumps(first) + "\n" + "\n".join(lines[1:]) + "\n")
    fields = {**FIELDS, "platform": "meta.via"}

    ingest(ledger, [OpenAIJsonlSource([str(copy)], fields=fields)])
    platforms = ledger.fetch(
        "SELECT platform, count(*) FROM usage GROUP BY 1 ORDER BY 1"
    )

    assert platforms[0][0] == "api" and platforms[0][1] > 1
    assert platforms[1] == ("batch-proxy", 1)
