"""``costaudit scan`` and ``costaudit sources`` on real-format logs."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from costaudit.ledger import Ledger
from tests.conftest import Result

PROJECTS = Path(__file__).parent.parent / "fixtures" / "claude_code" / "projects"
CUT_LINE = 9
"""The line of the shop-api session cut short in the fixture."""


@pytest.fixture
def base(tmp_path: Path) -> list[str]:
    projects = tmp_path / "projects"
    shutil.copytree(PROJECTS, projects)
    config = tmp_path / "costaudit.toml"
    config.write_text(
        "[sources.hermes]\nenabled = false\n\n"
        f"[sources.claude_code]\npaths = [{json.dumps(str(projects))}]\n"
    )
    return ["--config", str(config), "--ledger", str(tmp_path / "l.duckdb")]


def projects_of(base: list[str]) -> Path:
    return Path(base[1]).parent / "projects"


def cut_session(base: list[str]) -> Path:
    return next((projects_of(base) / "-home-dev-shop-api").glob("6f1c*.jsonl"))


def test_scan_names_each_bad_line_with_its_file_and_line(
    cli: Callable[..., Result], base: list[str]
) -> None:
    result = cli(*base, "scan")

    assert result.code == 0, result.err
    assert f"costaudit: skipped {cut_session(base)}:{CUT_LINE}: " in result.err
    assert result.out  # the table of what was read goes to stdout


def test_sources_lists_paths_with_records_and_last_scan(
    cli: Callable[..., Result], base: list[str]
) -> None:
    assert cli(*base, "scan").code == 0

    result = cli(*base, "sources", "--format", "json")

    assert result.code == 0, result.err
    rows = {r["path"]: r for r in result.json()["sources"]}
    with Ledger.open(base[3]) as ledger:
        stored = dict(
            ledger.fetch("SELECT source_path, count(*) FROM usage GROUP BY 1")
        )
    assert sorted(rows) == sorted(str(p) for p in projects_of(base).rglob("*.jsonl"))
    assert {p: r["records"] for p, r in rows.items()} == {
        p: stored.get(p, 0) for p in rows
    }
    assert all(r["source"] == "claude_code" and r["last_scan"] for r in rows.values())
    assert rows[str(cut_session(base))]["issues"] == 1


def test_sources_table_never_scanned_says_never(
    cli: Callable[..., Result], base: list[str]
) -> None:
    result = cli(*base, "sources")

    assert result.code == 0, result.err
    assert "never" in result.out
    assert "last scan" in result.out


def test_sources_issues_lists_every_bad_line(
    cli: Callable[..., Result], base: list[str]
) -> None:
    session = cut_session(base)
    with session.open("a") as handle:
        handle.write("garbage\n" * 12 + '{"type":"summary"}\n')
    scan = cli(*base, "scan")
    assert "... and 3 more bad lines (costaudit sources --issues" in scan.err

    listed = cli(*base, "sources", "--issues", "--format", "json").json()["issues"]
    assert [(i["path"], i["line"]) for i in listed] == [
        (str(session), line) for line in [CUT_LINE, *range(12, 24)]
    ]
    again = cli(*base, "scan")
    assert again.code == 0 and "skipped" not in again.err
    assert len(cli(*base, "sources", "--issues", "-f", "json").json()["issues"]) == 13

    rows = list(
        csv.reader(io.StringIO(cli(*base, "sources", "--issues", "-f", "csv").out))
    )
    assert rows[0] == ["source", "path", "line", "message", "seen_at"]
    assert len(rows) == 14
    table = cli(*base, "sources", "--issues")
    assert table.code == 0 and "13 bad lines kept" in table.err


def test_scan_says_what_it_changed_on_stderr_off_a_terminal(
    cli: Callable[..., Result], base: list[str]
) -> None:
    first = cli(*base, "scan", "--format", "json")
    stored = first.json()["ledger_records"]
    again = cli(*base, "scan", "--format", "json")

    assert f"costaudit: scan: {stored} new records\n" in first.err
    assert "costaudit: scan: nothing new\n" in again.err
    assert again.json()["sources"][0]["new_records"] == 0
