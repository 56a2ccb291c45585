"""Codex CLI rollout logs: the same totals as ccusage on the same file.

``tests/fixtures/codex/ccusage-codex-daily.json`` was produced, offline, by

    cd tests/fixtures/codex
    TZ=UTC CODEX_HOME=$PWD npx ccusage@20.0.24 codex daily --json \\
        --offline --timezone UTC > ccusage-codex-daily.json
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from costaudit.ledger import Ledger
from costaudit.ledger.ingest import ingest
from costaudit.sources.codex import CodexSource, default_roots

FIXTURE = Path(__file__).parent.parent / "fixtures" / "codex"


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(tmp_path / "l.duckdb")


def by_model(ledger: Ledger) -> dict[str, tuple[int, ...]]:
    rows = ledger.fetch(
        "SELECT model, sum(input_tokens), sum(cache_read_tokens), sum(output_tokens),"
        " sum(reasoning_tokens), count(*) FROM usage GROUP BY model"
    )
    return {r[0]: tuple(int(v) for v in r[1:]) for r in rows}


def test_totals_equal_ccusage(ledger: Ledger) -> None:
    summary = ingest(ledger, [CodexSource([str(FIXTURE / "sessions")])])
    expected = json.loads((FIXTURE / "ccusage-codex-daily.json").read_text())
    models = expected["daily"][0]["models"]

    ours = by_model(ledger)
    for name, figures in models.items():
        assert ours[name][:4] == (
            figures["inputTokens"],
            figures["cacheReadTokens"],
            figures["outputTokens"],
            figures["reasoningOutputTokens"],
        )
    # The event written twice with the same totals counts once.
    assert sum(v[4] for v in ours.values()) == 3
    assert [i.line for i in summary.issues] == [12]


def test_record_fields(ledger: Ledger) -> None:
    ingest(ledger, [CodexSource([str(FIXTURE / "sessions")])])
    rows = ledger.fetch(
        "SELECT DISTINCT profile, task, session_id, provider, platform FROM usage"
    )

    assert rows == [
        (
            "/home/dev/shop-api",
            "shop-api",
            "01992f6e-3c1a-7b52-9d4e-5a6b7c8d9e0f",
            "openai",
            "codex",
        )
    ]


def test_scan_in_the_middle_of_a_file_keeps_session_and_model(
    ledger: Ledger, tmp_path: Path
) -> None:
    original = next((FIXTURE / "sessions").rglob("*.jsonl"))
    lines = original.read_text().splitlines(keepends=True)
    copy = tmp_path / "sessions" / original.name
    copy.parent.mkdir(parents=True)
    source = CodexSource([str(copy.parent)])

    copy.write_text("".join(lines[:9]))
    ingest(ledger, [source])
    with copy.open("a") as handle:
        handle.write("".join(lines[9:]))
    summary = ingest(ledger, [source])

    assert summary.total_records == 2
    whole = Ledger.open(tmp_path / "whole.duckdb")
    shutil.copy(original, tmp_path / "whole.jsonl")
    ingest(whole, [CodexSource([str(tmp_path / "whole.jsonl")])])
    assert by_model(ledger) == by_model(whole)
    assert {r[0] for r in ledger.fetch("SELECT DISTINCT session_id FROM usage")} == {
        "01992f6e-3c1a-7b52-9d4e-5a6b7c8d9e0f"
    }


def test_default_roots(tmp_path: Path) -> None:
    assert default_roots({"CODEX_HOME": "/x"}, tmp_path) == ["/x/sessions"]
    assert default_roots({}, tmp_path) == [f"{tmp_path}/.codex/sessions"]
