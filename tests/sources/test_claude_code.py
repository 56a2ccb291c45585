"""Claude Code logs: the same totals as ccusage on the same files.

``tests/fixtures/claude_code/ccusage-daily.json`` was produced, offline, by

    cd tests/fixtures/claude_code
    TZ=UTC CLAUDE_CONFIG_DIR=$PWD npx ccusage@20.0.24 claude daily --json \\
        --offline --timezone UTC > ccusage-daily.json

The fixture has streamed messages written as several lines whose output
count grows, a message repeated by a resumed session in another file, a
``<synthetic>`` message, a line cut short in the middle of a file, and a last
line still being written.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costaudit.ledger import Ledger
from costaudit.ledger.ingest import ingest
from costaudit.sources.base import RecordTable
from costaudit.sources.claude_code import (
    ClaudeCodeParser,
    ClaudeCodeSource,
    decode_folder,
    default_roots,
    project_folder,
)
from costaudit.sources.files import complete_lines

FIXTURE = Path(__file__).parent.parent / "fixtures" / "claude_code"
SHOP = FIXTURE / "projects" / "-home-dev-shop-api"
NOTES = FIXTURE / "projects" / "-home-dev-notes-site"


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.open(tmp_path / "l.duckdb")


@pytest.fixture
def scanned(ledger: Ledger) -> Ledger:
    ingest(ledger, [ClaudeCodeSource([str(FIXTURE / "projects")])])
    return ledger


def test_daily_totals_equal_ccusage(scanned: Ledger) -> None:
    expected = json.loads((FIXTURE / "ccusage-daily.json").read_text())
    ours = scanned.fetch(
        "SELECT strftime(started_at AT TIME ZONE 'UTC', '%Y-%m-%d'), model,"
        " sum(input_tokens), sum(cache_write_tokens), sum(cache_read_tokens),"
        " sum(output_tokens) FROM usage GROUP BY ALL ORDER BY 1, 2"
    )
    theirs = sorted(
        (
            day["date"],
            model["modelName"],
            model["inputTokens"],
            model["cacheCreationTokens"],
            model["cacheReadTokens"],
            model["outputTokens"],
        )
        for day in expected["daily"]
        for model in day["modelBreakdowns"]
    )

    assert [tuple(int(v) if isinstance(v, int) else v for v in r) for r in ours] == (
        theirs
    )
    totals = scanned.fetch(
        "SELECT sum(input_tokens), sum(cache_write_tokens), sum(cache_read_tokens),"
        " sum(output_tokens) FROM usage"
    )[0]
    t = expected["totals"]
    assert totals == (
        t["inputTokens"],
        t["cacheCreationTokens"],
        t["cacheReadTokens"],
        t["outputTokens"],
    )


def test_streamed_message_counts_once_with_its_last_usage(scanned: Ledger) -> None:
    rows = scanned.fetch(
        "SELECT record_key, output_tokens, calls FROM usage"
        " WHERE record_key LIKE 'msg_01Q8x7Hq2vXbJ3kR5mN9pL4T:%'"
    )

    assert rows == [
        ("msg_01Q8x7Hq2vXbJ3kR5mN9pL4T:req_011CRmVbV9zJ7k2w3E4r5T6y", 187, 1)
    ]


def test_record_fields(scanned: Ledger) -> None:
    rows = scanned.fetch(
        "SELECT profile, task, session_id, provider, platform, call_kind, model,"
        " started_at = ended_at FROM usage ORDER BY started_at"
    )

    assert rows[0] == (
        "/home/dev/shop-api",
        "shop-api",
        "6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f",
        "anthropic",
        "claude_code",
        "main",
        "claude-sonnet-4-20250514",
        True,
    )
    kinds = {(r[6], r[5]) for r in rows}
    assert ("claude-3-5-haiku-20241022", "subagent") in kinds
    assert "<synthetic>" not in {r[6] for r in rows}
    assert {r[0] for r in rows} == {"/home/dev/shop-api", "/home/dev/notes.site"}


def test_cut_line_is_an_issue_and_last_partial_line_waits(ledger: Ledger) -> None:
    summary = ingest(ledger, [ClaudeCodeSource([str(FIXTURE / "projects")])])

    assert [(Path(i.path).parent.name, i.line) for i in summary.issues] == [
        ("-home-dev-shop-api", 9)
    ]
    notes = next(NOTES.glob("*.jsonl"))
    state = ledger.path_states("claude_code")[str(notes)]
    data = notes.read_bytes()
    assert state.offset == data.rindex(b"\n") + 1 < len(data)


def test_partial_line_is_read_once_complete(ledger: Ledger, tmp_path: Path) -> None:
    copy = tmp_path / "projects"
    shutil.copytree(FIXTURE / "projects", copy)
    source = ClaudeCodeSource([str(copy)])
    ingest(ledger, [source])
    notes = next((copy / NOTES.name).glob("*.jsonl"))
    text = notes.read_text()
    head, _, partial = text.rpartition("\n")
    finished = json.loads(partial + _rest_of_partial_line())
    notes.write_text(head + "\n" + json.dumps(finished) + "\n")

    summary = ingest(ledger, [source])

    assert summary.total_records == 1
    assert summary.issues == []


def _rest_of_partial_line() -> str:
    """The fixture's last line was cut after 180 characters; this completes
    the same JSON text."""
    source = (NOTES / next(NOTES.glob("*.jsonl")).name).read_text()
    partial = source.rpartition("\n")[2]
    full = json.dumps(
        {
            "parentUuid": "b0000000-0000-4000-8000-000000000003",
            "isSidechain": False,
            "userType": "external",
            "cwd": "/home/dev/notes.site",
            "sessionId": "0b9e8d7c-6a5b-4c3d-9e2f-1a0b9c8d7e6f",
            "version": "1.0.51",
            "gitBranch": "main",
            "message": {
                "id": "msg_01Op6Pending",
                "type": "message",
                "role": "assistant",
                "model": "claude-opus-4-1-20250805",
                "content": [{"type": "text", "text": "More"}],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 9,
                    "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": 20780,
                    "output_tokens": 50,
                    "service_tier": "standard",
                },
            },
            "requestId": "req_011CRmXgPending",
            "type": "assistant",
            "uuid": "b0000000-0000-4000-8000-000000000004",
            "timestamp": "2025-08-15T14:02:00.000Z",
        },
        separators=(",", ":"),
    )
    assert full.startswith(partial)
    return full[len(partial) :]


def test_default_roots_follow_claude_config_dir(tmp_path: Path) -> None:
    env = {"CLAUDE_CONFIG_DIR": f"{tmp_path}/a, {tmp_path}/b"}

    assert default_roots(env, tmp_path) == [
        f"{tmp_path}/a/projects",
        f"{tmp_path}/b/projects",
    ]
    assert default_roots({}, tmp_path) == [
        f"{tmp_path}/.config/claude/projects",
        f"{tmp_path}/.claude/projects",
    ]


def test_project_folder_and_its_decoding() -> None:
    path = "/h/.claude/projects/-home-dev-x/abc/subagents/agent-1.jsonl"

    assert project_folder(path) == "-home-dev-x"
    assert decode_folder("-home-dev-x") == "/home/dev/x"


def _assistant_line(template: str, message_id: str, output: int) -> str:
    """A real assistant line of the fixture, made into another message."""
    entry = json.loads(template)
    entry["message"]["id"] = message_id
    entry["requestId"] = f"req_{message_id}"
    entry["uuid"] = f"u-{message_id}"
    entry["message"]["usage"]["output_tokens"] = output
    return json.dumps(entry, separators=(",", ":")) + "\n"


def test_replaced_session_file_adds_only_its_new_message(
    ledger: Ledger, tmp_path: Path
) -> None:
    copy = tmp_path / "projects"
    shutil.copytree(FIXTURE / "projects", copy)
    source = ClaudeCodeSource([str(copy)])
    ingest(ledger, [source])
    before = ledger.fetch("SELECT count(*), sum(output_tokens) FROM usage")[0]
    session = next((copy / SHOP.name).glob("6f1c*.jsonl"))
    text = session.read_text()
    # Rewritten to a new file (a sync tool, an editor): the old lines and one
    # new message, under the same name.
    session.rename(session.with_suffix(".bak"))
    template = text.splitlines()[2]
    session.write_text(text + _assistant_line(template, "msg_01NewAfterRotation", 77))

    summary = ingest(ledger, [source])

    assert (summary.inserted, summary.updated) == (
        {"claude_code": 1},
        {"claude_code": 0},
    )
    assert summary.unchanged["claude_code"] > 0
    after = ledger.fetch("SELECT count(*), sum(output_tokens) FROM usage")[0]
    assert after == (before[0] + 1, before[1] + 77)
    # The cut line is found again in the new file, and kept once.
    assert [(Path(i["path"]).name, i["line"]) for i in ledger.scan_issues()] == [
        (session.name, 9)
    ]


def test_assistant_message_without_usage_is_skipped_with_a_reason(
    ledger: Ledger, log_folder: Path
) -> None:
    template = next(SHOP.glob("6f1c*.jsonl")).read_text().splitlines()[2]
    entry = json.loads(_assistant_line(template, "msg_01NoUsage", 1))
    entry["message"]["usage"] = None
    counted = _assistant_line(template, "msg_01Counted", 5)
    (log_folder / "s.jsonl").write_text(json.dumps(entry) + "\n" + counted)

    summary = ingest(ledger, [ClaudeCodeSource([str(log_folder.parent)])])

    assert summary.total_records == 1
    assert [(i.line, i.message) for i in summary.issues] == [
        (1, "assistant message msg_01NoUsage has no usage: skipped")
    ]


@pytest.fixture
def log_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "projects" / "-home-dev-shop-api"
    folder.mkdir(parents=True)
    return folder


# Parsing only the last line of a message, from the last: what it finds is
# what parsing every line in order finds.

_USER_TURN = {"type": "user", "message": {"role": "user", "content": "x" * 300}}


def _message_lines(
    message: int, parts: int, request: int | None, model: str
) -> list[str]:
    """A streamed message's lines, written compactly as Claude Code does."""
    found = []
    for part in range(parts):
        entry: dict[str, object] = {
            "type": "assistant",
            "sessionId": "s",
            "cwd": "/home/dev/app",
            "uuid": f"u{message}-{part}",
            "timestamp": f"2025-08-14T09:00:{message % 60:02d}.000Z",
            "message": {
                "id": f"msg_{message}",
                "model": model,
                "role": "assistant",
                "usage": {"input_tokens": 1, "output_tokens": 10 * part + message},
            },
        }
        if request is not None:
            entry["requestId"] = f"req_{request}"
        found.append(json.dumps(entry, separators=(",", ":")) + "\n")
    return found


# Few ids, so that messages share request ids and repeat, as a resumed
# session repeats them.
_MESSAGES = st.tuples(
    st.integers(0, 5),
    st.integers(1, 3),
    st.one_of(st.none(), st.integers(0, 2)),
    st.sampled_from(["claude-sonnet-4-20250514", "<synthetic>"]),
).map(lambda m: _message_lines(*m))
_BAD = st.sampled_from([["\n"], ['{"type":"assistant","cut\n'], ["not json\n"]])
_USER = st.just([json.dumps(_USER_TURN, separators=(",", ":")) + "\n"])
# Damaged lines are rare, as in real logs: a block with one is read line by
# line, and the others are parsed from the last.
_LINES = st.integers(0, 19).flatmap(
    lambda n: _BAD if n == 0 else _USER if n < 4 else _MESSAGES
)


def _parse_all(parser: ClaudeCodeParser, text: bytes, chunk: int) -> None:
    lines = 0
    with io.BytesIO(text) as handle:
        for block, start, end in complete_lines(handle, chunk):
            lines += parser.feed_lines(lines + 1, block, start, end)


def _found(parser: ClaudeCodeParser) -> tuple[dict[str, Any], list[Any]]:
    table, _events, issues = parser.take()
    assert isinstance(table, RecordTable)
    rows = {key: tuple(table.columns[c][i] for c in table.columns)
            for i, key in enumerate(table.columns["record_key"])}  # fmt: skip
    return rows, [(i.line, i.message) for i in issues]


@settings(max_examples=150, deadline=None)
@given(st.lists(_LINES, max_size=40), st.sampled_from([300, 4096, 1 << 20]))
def test_lines_parsed_last_first_find_what_every_line_finds(
    parts: list[list[str]], chunk: int
) -> None:
    text = "".join(line for part in parts for line in part).encode()
    path = "/p/projects/-home-dev-app/s.jsonl"
    fast = ClaudeCodeParser(path)
    _parse_all(fast, text, chunk)
    every = ClaudeCodeParser(path)
    for number, line in enumerate(text.split(b"\n")[:-1], start=1):
        every.feed(number, line)

    assert _found(fast) == _found(every)
