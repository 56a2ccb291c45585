"""One audit across the agents one user runs, found where they keep their logs.

A home with Hermes (the bundled sample home), Claude Code, Codex and an
OpenAI-compatible JSONL log: every source lands in the same ledger, each
with the same totals it has alone, the audit runs over them together, and
a second scan reads only what was added.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from costaudit.ledger import Ledger
from tests.conftest import Result

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = Path(__file__).parent.parent / "samples"
SOURCES = ("hermes", "claude_code", "codex", "openai_jsonl")
TOKENS = ("calls", "input_tokens", "cache_read_tokens", "output_tokens")


@pytest.fixture
def user(tmp_path: Path) -> Path:
    """The user's home (``HOME`` is a fresh folder in every test)."""
    home = Path.home()
    shutil.copytree(SAMPLES / "hermes-home", home / ".hermes")
    shutil.copytree(FIXTURES / "claude_code" / "projects", home / ".claude/projects")
    shutil.copytree(FIXTURES / "codex" / "sessions", home / ".codex/sessions")
    (home / "logs").mkdir()
    shutil.copy(FIXTURES / "openai_jsonl" / "calls.jsonl", home / "logs")
    return home


def config_for(home: Path, folder: Path, only: str | None = None) -> Path:
    """A config reading the usual places, and the JSONL log; with ``only``,
    that source alone."""
    off = [name for name in SOURCES if only is not None and name != only]
    text = "".join(
        f"[sources.{name}]\nenabled = false\n" for name in off if name != "openai_jsonl"
    )
    if "openai_jsonl" in off:
        text += "[sources.openai_jsonl]\nenabled = false\n"
    else:
        text += (
            f"[sources.openai_jsonl]\npaths = [{json.dumps(str(home / 'logs'))}]\n"
            "[sources.openai_jsonl.fields]\n"
            'timestamp = "meta.ts"\nprofile = "meta.app"\ntask = "meta.task"\n'
        )
    path = folder / f"config-{only or 'all'}.toml"
    path.write_text(text)
    return path


def by_source(cli: Callable[..., Result], *base: str) -> dict[str, dict[str, Any]]:
    done = cli(*base, "report", "--by", "source", "--format", "json")
    assert done.code == 0, done.err
    return {row["source"]: row for row in done.json()["rows"]}


def test_one_audit_across_hermes_claude_code_codex_and_a_jsonl_log(
    cli: Callable[..., Result], user: Path, tmp_path: Path
) -> None:
    base = ["--config", str(config_for(user, tmp_path)),
            "--ledger", str(tmp_path / "all.duckdb")]  # fmt: skip
    together = by_source(cli, *base)
    assert set(SOURCES) <= set(together)

    # Each source has, among the others, the totals it has alone.
    for name in SOURCES:
        alone_base = [
            "--config", str(config_for(user, tmp_path, only=name)),
            "--ledger", str(tmp_path / f"{name}.duckdb"),
        ]  # fmt: skip
        alone = by_source(cli, *alone_base)
        assert list(alone) == [name]
        for key in TOKENS:
            assert together[name][key] == alone[name][key], (name, key)
        assert together[name]["cost_usd"] == alone[name]["cost_usd"], name

    audit = cli(*base, "audit", "--no-scan")
    assert audit.code == 0, audit.err
    for profile in ("ayva", "codi", "support-bot"):
        assert profile in audit.out


def test_a_second_scan_reads_only_what_was_added(
    cli: Callable[..., Result], user: Path, tmp_path: Path
) -> None:
    ledger = tmp_path / "all.duckdb"
    base = ["--config", str(config_for(user, tmp_path)), "--ledger", str(ledger)]
    first = cli(*base, "scan", "--format", "json")
    assert first.code == 0, first.err
    stored = first.json()["ledger_records"]

    again = cli(*base, "scan", "--format", "json")
    assert "costaudit: scan: nothing new\n" in again.err
    assert again.json()["ledger_records"] == stored

    log = user / "logs" / "calls.jsonl"
    before = log.stat().st_size
    added = {
        "meta": {"ts": "2025-09-11T09:00:00Z", "app": "support-bot", "task": "triage"},
        "response": {
            "id": "chatcmpl-added-after-the-first-scan",
            "object": "chat.completion",
            "created": 1757581200,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [],
            "usage": {"prompt_tokens": 700, "completion_tokens": 50,
                      "total_tokens": 750},
        },
    }  # fmt: skip
    with log.open("a") as handle:
        handle.write(json.dumps(added) + "\n")

    third = cli(*base, "scan", "--format", "json")
    assert third.code == 0, third.err
    assert "costaudit: scan: 1 new record\n" in third.err
    assert third.json()["ledger_records"] == stored + 1
    rows = {row["source"]: row for row in third.json()["sources"]}
    assert rows["openai_jsonl"]["new_records"] == 1
    assert sum(row["new_records"] for row in third.json()["sources"]) == 1

    # The log's state: read up to its new end, from where the last scan left.
    with Ledger.open(ledger) as opened:
        state = opened.path_states("openai_jsonl")[str(log)]
    assert state.offset == log.stat().st_size > before
