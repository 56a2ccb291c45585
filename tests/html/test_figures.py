"""The figures and tables on the page are the JSON report's, value for value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from costaudit.analysis.audit import AuditOptions, build_audit
from costaudit.interfaces.cli.app import run
from costaudit.interfaces.cli.output import to_jsonable
from costaudit.interfaces.html import render_page, write_html
from costaudit.workspace import Options, Workspace
from tests.html.page_reader import Cell, PageReader, read_page

CORE_TABLES = {"profiles", "tasks", "models", "top", "local_vs_api.rows", "provenance"}


def expected_tables(report: dict[str, Any]) -> set[str]:
    optional = {name for name in ("unpriced", "disagreements") if report[name]}
    if report.get("advice", {}).get("strategies"):
        optional.add("advice.strategies")
    if report.get("budgets"):
        optional.add("budgets")
    if report.get("daily"):
        optional.add("daily")
    if (report.get("breakeven") or {}).get("series"):
        optional.add("breakeven.rows")
    return CORE_TABLES | optional


def lookup(document: Any, path: str) -> Any:
    for part in path.split("."):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


def check_cell(cell: Cell, expected: Any, where: str) -> None:
    if cell.value is None:
        shown = "—" if expected in (None, "") else str(expected)
        assert cell.text == shown, where
    elif expected is None:
        assert cell.value == "", where
    else:
        assert float(cell.value) == pytest.approx(expected, rel=1e-9, abs=1e-12), where


def check_page(reader: PageReader, report: dict[str, Any]) -> None:
    """Every figure and cell against the report as ``--format json`` prints it."""
    assert reader.figures
    for key, value in reader.figures.items():
        check_cell(Cell(key, value), lookup(report, key), key)
    for table in reader.tables:
        rows = lookup(report, table.source)
        assert len(table.rows) == len(rows), table.source
        for number, (cells, row) in enumerate(zip(table.rows, rows, strict=True)):
            for cell in cells:
                where = f"{table.source}.{number}.{cell.column}"
                check_cell(cell, row.get(cell.column), where)
        if table.totals:
            totals = lookup(report, table.source.rsplit(".", 1)[0] + ".totals")
            for cell in table.totals:
                check_cell(cell, totals.get(cell.column), f"{table.source} totals")


def test_page_matches_document(document: dict[str, Any]) -> None:
    reader = read_page(render_page(document))
    check_page(reader, to_jsonable(document))
    sources = {t.source for t in reader.tables}
    assert sources == expected_tables(document)
    assert {"advice.strategies", "budgets", "daily", "breakeven.rows"} <= sources
    assert reader.placeholders == []
    assert {"overview.cost_usd", "profiles.0.cost_usd", "tasks.0.cost_usd"} <= set(
        reader.figures
    )
    best = max(
        range(len(document["advice"]["strategies"])),
        key=lambda i: document["advice"]["strategies"][i]["monthly_savings_usd"],
    )
    assert f"advice.strategies.{best}.monthly_savings_usd" in reader.figures


def test_cli_html_matches_cli_json(
    filled: Options,
    document: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = tmp_path / "audit.html"
    code = run(
        [
            "--config",
            str(filled.config_path),
            "--ledger",
            str(filled.ledger_path),
            "--hermes-home",
            str(filled.hermes_home),
            "audit",
            "--no-scan",
            "--html",
            str(target),
            "--format",
            "json",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert f"wrote {target}" in out.err
    reader = read_page(target.read_text(encoding="utf-8"))
    check_page(reader, json.loads(out.out))
    assert {t.source for t in reader.tables} == expected_tables(document)


def test_absent_analyses_show_placeholders(
    document: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "plain.html"
    later = ("advice", "budgets", "breakeven")
    write_html({k: v for k, v in document.items() if k not in later}, target)
    reader = read_page(target.read_text(encoding="utf-8"))
    assert {"headline-advice", "advice", "budgets", "breakeven"} <= set(
        reader.placeholders
    )
    assert "has not run" in target.read_text(encoding="utf-8")


def test_text_from_logs_is_escaped(document: dict[str, Any]) -> None:
    hostile = "<script>alert(1)</script>"
    changed = dict(document)
    changed["profiles"] = [dict(document["profiles"][0], profile=hostile)]
    page = render_page(changed)
    assert hostile not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_empty_ledger_gives_a_page_of_placeholders(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    options = Options(config, tmp_path / "ledger.duckdb", tmp_path / "no-home")
    with Workspace(options) as workspace:
        document = build_audit(workspace, AuditOptions(workspace.window()))
    reader = read_page(render_page(document))
    assert {"daily", "breakdown", "local-vs-api", "advice"} <= set(reader.placeholders)
    check_page(reader, to_jsonable(document))
