"""llm's logs.db, read read-only and incrementally by rowid."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from costaudit.ledger import Ledger
from costaudit.ledger.ingest import ingest
from costaudit.sources.llm_logs import LlmLogsSource, default_paths

# The tables as llm's migrations leave them (m010, m013, m014, m019).
SCHEMA = """
CREATE TABLE [conversations] ([id] TEXT PRIMARY KEY, [name] TEXT, [model] TEXT);
CREATE TABLE [schemas] ([id] TEXT PRIMARY KEY, [content] TEXT);
CREATE TABLE "responses" (
   [id] TEXT PRIMARY KEY,
   [model] TEXT,
   [prompt] TEXT,
   [system] TEXT,
   [prompt_json] TEXT,
   [options_json] TEXT,
   [response] TEXT,
   [response_json] TEXT,
   [conversation_id] TEXT REFERENCES [conversations]([id]),
   [duration_ms] INTEGER,
   [datetime_utc] TEXT,
   [input_tokens] INTEGER,
   [output_tokens] INTEGER,
   [token_details] TEXT,
   [schema_id] TEXT REFERENCES [schemas]([id]),
   [resolved_model] TEXT
);
"""

ROWS = [
    # OpenAI: cached tokens are inside input_tokens.
    (
        "01j9x1",
        "gpt-4o-mini",
        None,
        "2025-03-01T10:00:00.123456",
        2048,
        120,
        {"prompt_tokens_details": {"cached_tokens": 1536}},
        "c1",
        "Be brief.",
    ),
    # o-series reasoning inside the output.
    (
        "01j9x2",
        "o3-mini",
        None,
        "2025-03-01T10:05:00",
        500,
        900,
        {"completion_tokens_details": {"reasoning_tokens": 640}},
        "c1",
        None,
    ),
    # Anthropic (llm-anthropic): cache counts on top of input_tokens.
    (
        "01j9x3",
        "anthropic/claude-3-5-sonnet-latest",
        "claude-3-5-sonnet-20241022",
        "2025-03-01T11:00:00",
        12,
        310,
        {"cache_creation_input_tokens": 1800, "cache_read_input_tokens": 24000},
        "c2",
        None,
    ),
    # Gemini: cached content inside the prompt, thoughts already in output.
    (
        "01j9x4",
        "gemini-2.5-flash",
        None,
        "2025-03-01T12:00:00",
        3000,
        700,
        {"cachedContentTokenCount": 2000, "thoughtsTokenCount": 400},
        "c3",
        None,
    ),
    # A plugin that reported no usage.
    ("01j9x5", "markov", None, "2025-03-01T12:30:00", None, None, None, "c3", None),
]


def make_db(
    path: Path, rows: Sequence[tuple[object, ...]], *, wal: bool = False
) -> None:
    db = sqlite3.connect(path)
    if wal:
        db.execute("PRAGMA journal_mode=WAL")
    db.executescript(SCHEMA)
    db.executemany(
        "INSERT OR IGNORE INTO conversations VALUES (?, ?, ?)",
        [
            ("c1", "checkout rounding", "gpt-4o-mini"),
            ("c2", "draft email", None),
            ("c3", None, None),
        ],
    )
    add_rows(db, rows)
    db.close()


def add_rows(db: sqlite3.Connection, rows: Sequence[tuple[object, ...]]) -> None:
    db.executemany(
        "INSERT INTO responses (id, model, resolved_model, datetime_utc, input_tokens,"
        " output_tokens, token_details, conversation_id, system, prompt, response)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'p', 'r')",
        [
            (
                *row[:6],
                json.dumps(row[6]) if isinstance(row[6], dict) else row[6],
                *row[7:],
            )
            for row in rows
        ],
    )
    db.commit()


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(tmp_path / "l.duckdb")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_token_details_of_each_plugin(ledger: Ledger, tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    make_db(db, ROWS)
    summary = ingest(ledger, [LlmLogsSource([str(db)])])
    rows = ledger.fetch(
        "SELECT record_key, model, input_tokens, cache_read_tokens, cache_write_tokens,"
        " output_tokens, reasoning_tokens, session_id, task FROM usage"
        " ORDER BY record_key"
    )

    assert summary.total_records == 5
    assert rows == [
        ("01j9x1", "gpt-4o-mini", 512, 1536, 0, 120, 0, "c1", "checkout rounding"),
        ("01j9x2", "o3-mini", 500, 0, 0, 900, 640, "c1", "checkout rounding"),
        (
            "01j9x3",
            "claude-3-5-sonnet-20241022",
            12,
            24000,
            1800,
            310,
            0,
            "c2",
            "draft email",
        ),
        ("01j9x4", "gemini-2.5-flash", 1000, 2000, 0, 700, 400, "c3", "llm"),
        ("01j9x5", "markov", 0, 0, 0, 0, 0, "c3", "llm"),
    ]
    assert ledger.fetch("SELECT count(*) FROM prompts")[0][0] == 1


def test_rescan_reads_only_new_rows_and_never_writes(
    ledger: Ledger, tmp_path: Path
) -> None:
    folder = tmp_path / "llm"
    folder.mkdir()
    db = folder / "logs.db"
    make_db(db, ROWS[:2])
    files = sorted(p.name for p in folder.iterdir())
    fingerprint = digest(db)
    source = LlmLogsSource([str(db)])

    assert ingest(ledger, [source]).total_records == 2
    assert ingest(ledger, [source]).total_records == 0
    assert digest(db) == fingerprint
    assert sorted(p.name for p in folder.iterdir()) == files

    connection = sqlite3.connect(db)
    add_rows(connection, ROWS[2:])
    connection.close()
    assert ingest(ledger, [source]).total_records == 3
    assert ledger.record_count() == 5
    state = ledger.path_states("llm")[str(db)]
    assert (state.records, state.watermark) == (5, 5.0)


def test_database_in_wal_mode_is_read_unchanged(ledger: Ledger, tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    make_db(db, ROWS, wal=True)
    fingerprint = digest(db)
    files = sorted(p.name for p in tmp_path.iterdir())

    assert ingest(ledger, [LlmLogsSource([str(db)])]).total_records == 5
    assert digest(db) == fingerprint
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        {*files, "l.duckdb", "l.duckdb.wal"}
    )


def test_replaced_database_is_read_again_without_double_counting(
    ledger: Ledger, tmp_path: Path
) -> None:
    db = tmp_path / "logs.db"
    make_db(db, ROWS)
    source = LlmLogsSource([str(db)])
    ingest(ledger, [source])
    db.unlink()
    make_db(db, ROWS[:3])

    summary = ingest(ledger, [source])

    # Its three rows are read again, found the same, and not written again.
    assert (summary.total_records, summary.unchanged["llm"]) == (0, 3)
    assert ledger.record_count() == 5


def test_bad_token_details_is_an_issue_naming_the_row(
    ledger: Ledger, tmp_path: Path
) -> None:
    db = tmp_path / "logs.db"
    bad = (
        "01j9x9",
        "gpt-4o",
        None,
        "2025-03-02T09:00:00",
        10,
        5,
        "{not json",
        "c1",
        None,
    )
    make_db(db, [*ROWS[:1], bad])

    summary = ingest(ledger, [LlmLogsSource([str(db)])])

    assert summary.total_records == 1
    assert [(i.path, i.line) for i in summary.issues] == [(str(db), 2)]
    assert "token_details is not JSON" in summary.issues[0].message


def test_not_a_database_is_an_error_naming_the_file(
    ledger: Ledger, tmp_path: Path
) -> None:
    db = tmp_path / "logs.db"
    db.write_text("this is not sqlite\n" * 100)

    summary = ingest(ledger, [LlmLogsSource([str(db)])])

    assert len(summary.errors) == 1
    assert summary.errors[0].startswith(f"{db}: cannot read")


def test_default_paths(tmp_path: Path) -> None:
    assert default_paths({"LLM_USER_PATH": "/u"}, tmp_path) == ["/u/logs.db"]
    assert default_paths({"XDG_CONFIG_HOME": "/c"}, tmp_path) == [
        "/c/io.datasette.llm/logs.db"
    ]
