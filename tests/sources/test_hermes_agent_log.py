"""Hermes' agent.log: one call event per API call line, never usage.

The fixture lines were written by Hermes' own logging setup
(``hermes_logging.setup_logging`` with its ``RedactingFormatter``), with the
dates then moved to September 2025.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from costaudit.ledger import Ledger
from costaudit.ledger.ingest import ingest
from costaudit.sources.hermes_agent_log import (
    HermesAgentLogSource,
    default_patterns,
    profile_of,
)

HOME = Path(__file__).parent.parent / "fixtures" / "hermes_agent_log" / "home"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(tmp_path / "l.duckdb")


def source(home: Path) -> HermesAgentLogSource:
    return HermesAgentLogSource(default_patterns(home), zone=BERLIN)


def test_api_call_lines_become_events_only(ledger: Ledger) -> None:
    summary = ingest(ledger, [source(HOME)])
    rows = ledger.fetch(
        'SELECT profile, session_id, "at", model, provider, prompt_tokens,'
        " cache_read_tokens, output_tokens, latency_s FROM call_events"
        ' ORDER BY "at"'
    )

    assert summary.total_records == 0
    assert ledger.record_count() == 0
    assert len(rows) == 6
    assert rows[0][:2] == ("default", "20250909_183000_1a2b3c")
    assert rows[0][2].astimezone(UTC) == datetime(2025, 9, 9, 16, 30, 12, 331000, UTC)
    assert rows[2][3:] == (
        "anthropic/claude-sonnet-4",
        "openrouter",
        13020,
        11904,
        230,
        2.0,
    )
    assert {(r[0], r[3]) for r in rows[4:]} == {
        ("work", "qwen2.5-coder:14b"),
        ("work", "gpt-4o-mini"),
    }
    assert rows[5][1] is None
    assert [(Path(i.path).name, i.line) for i in summary.issues] == [("agent.log", 12)]


def test_rotation_does_not_count_a_line_twice(ledger: Ledger, tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(HOME, home)
    ingest(ledger, [source(home)])
    logs = home / "logs"
    (logs / "agent.log.1").rename(logs / "agent.log.2")
    (logs / "agent.log").rename(logs / "agent.log.1")
    (logs / "agent.log").write_text(
        "2025-09-10 12:30:00,001 INFO [20250910_123000_77aa00] agent.conversation_loop:"
        " API call #1: model=gpt-4o provider=openai in=100 out=10 total=110"
        " latency=0.5s\n"
    )

    summary = ingest(ledger, [source(home)])

    # The old agent.log, now .1, and the old .1, now .2, are read again and
    # found the same: only the new line is new.
    assert summary.events["hermes_agent_log"] == 1
    assert summary.headline() == "1 new or updated call event"
    assert ledger.fetch("SELECT count(*) FROM call_events")[0][0] == 7


def test_a_folder_given_finds_rotated_logs(ledger: Ledger) -> None:
    folder = HermesAgentLogSource([str(HOME / "logs")])

    assert [Path(p).name for p in folder.locations()] == ["agent.log", "agent.log.1"]
    ingest(ledger, [folder])
    assert ledger.fetch("SELECT count(DISTINCT path) FROM call_events")[0][0] == 2


def test_profile_of() -> None:
    assert profile_of("/h/.hermes/logs/agent.log") == "default"
    assert profile_of("/h/.hermes/profiles/work/logs/agent.log.1") == "work"


def test_every_api_call_of_the_generated_sample_home_is_read(ledger: Ledger) -> None:
    samples = Path(__file__).parents[2] / "samples" / "hermes-home"
    if not samples.is_dir():
        pytest.skip("samples/hermes-home not generated here")
    logs = sorted(samples.glob("**/logs/agent.log*"))
    calls = sum(
        1
        for log in logs
        for text in log.read_text(errors="replace").splitlines()
        if "agent.conversation_loop: API call #" in text
    )

    summary = ingest(ledger, [source(samples)])

    assert summary.issues == []
    assert summary.events["hermes_agent_log"] == calls > 0
    assert ledger.record_count() == 0
