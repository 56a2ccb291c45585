"""The figures and tables on the page are the JSON report's, value for value."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from costaudit.analysis.audit import AuditOptions, build_audit
from costaudit.interfaces.cli.app import run
from costaudit.interfaces.cli.commands.audit import build_document
from costaudit.interfaces.cli.output import to_jsonable
from costaudit.interfaces.html import render_page, write_html
from costaudit.interfaces.html.sections import CHART_ROWS, STACKED_PROFILES
from costaudit.workspace import Options, Workspace
from tests.html.page_reader import Cell, PageReader, read_page, shown_number

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


NOT_NUMBERS = {"—", "unpriced", "n/a", "never"}


def check_value(value: str | None, text: str, expected: Any, where: str) -> None:
    """The exact value a cell or mark carries, and the text a reader sees,
    against the document's value."""
    if value is None:
        return
    if expected is None:
        assert value == "", where
    else:
        assert float(value) == pytest.approx(expected, rel=1e-9, abs=1e-12), where
    if not text.strip():
        return
    shown = shown_number(text)
    if shown is None or expected is None:
        assert text.strip() in NOT_NUMBERS or shown is None, (where, text)
        return
    assert shown.agrees(expected), (where, text, expected)


def check_text(cell: Cell, expected: Any, where: str) -> None:
    """A text cell shows the document's text, or its start and an ellipsis
    with the whole of it as the tooltip."""
    whole = "—" if expected in (None, "") else str(expected)
    if cell.title is None:
        assert cell.text == whole, where
        return
    assert cell.title == whole, where
    assert cell.text.endswith("…") and len(cell.text) < len(whole), where
    assert whole.startswith(cell.text[:-1]), where


def check_cell(cell: Cell, expected: Any, where: str) -> None:
    if cell.value is None:
        check_text(cell, expected, where)
    else:
        check_value(cell.value, cell.text, expected, where)


def check_page(reader: PageReader, report: dict[str, Any]) -> None:
    """Every figure, chart mark and cell against the report as ``--format
    json`` prints it: the exact value each carries, and what a reader sees."""
    assert reader.marks
    for mark in reader.marks:
        text = mark.figure if mark.figure is not None else mark.text
        check_value(mark.value, text, lookup(report, mark.key), mark.key)
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


def best_saving(document: dict[str, Any]) -> str:
    strategies = document["advice"]["strategies"]
    best = max(
        range(len(strategies)), key=lambda i: strategies[i]["monthly_savings_usd"]
    )
    return f"advice.strategies.{best}.monthly_savings_usd"


def test_page_matches_document(document: dict[str, Any]) -> None:
    reader = read_page(render_page(document))
    check_page(reader, to_jsonable(document))
    sources = {t.source for t in reader.tables}
    assert sources == expected_tables(document)
    assert {"advice.strategies", "budgets", "daily", "breakeven.rows"} <= sources
    assert reader.placeholders == []


def test_headline_leads_with_the_latest_month(document: dict[str, Any]) -> None:
    """The sample spans two months: the headline names the latest, shows
    what it cost and where it went, and the whole window beside it."""
    month = document["month"]
    assert month["month"] == str(document["period"]["last_day"])[:7]
    assert not month["whole_window"]
    reader = read_page(render_page(document))
    headline = {m.key for m in reader.marks if m.chart is None}
    profiles = {f"month.profiles.{i}.cost_usd" for i in range(len(month["profiles"]))}
    wanted = {"month.cost_usd", "month.tasks.0.cost_usd", "overview.cost_usd"}
    assert wanted | profiles | {best_saving(document)} <= headline
    page = render_page(document)
    assert "Spent in November 2026" in page
    assert "Where the money went in November 2026, by profile" in page
    by_profile = sum(p["cost_usd"] for p in month["profiles"])
    assert by_profile == pytest.approx(month["cost_usd"])


def chart_keys(reader: PageReader, chart: str) -> set[str]:
    return {m.key for m in reader.marks if m.chart == chart}


def test_charts_carry_the_documents_values(document: dict[str, Any]) -> None:
    """Each bar and point says which figure of the document it draws;
    ``check_page`` has compared each one's value with the JSON."""
    reader = read_page(render_page(document))
    tasks = min(CHART_ROWS, len(document["tasks"]))
    assert chart_keys(reader, "by-task") == {
        f"tasks.{i}.cost_usd" for i in range(tasks)
    }
    models = min(CHART_ROWS, len(document["models"]))
    assert chart_keys(reader, "by-model") == {
        f"models.{i}.cost_usd" for i in range(models)
    }
    compared = min(CHART_ROWS, len(document["local_vs_api"]["rows"]))
    assert chart_keys(reader, "local-vs-api") == {
        f"local_vs_api.rows.{i}.{key}"
        for i in range(compared)
        for key in ("billed_usd", "as_local_usd", "as_api_usd")
    }
    spent = [r for r in document["daily_by_profile"] if r["cost_usd"]]
    assert len(document["profiles"]) <= STACKED_PROFILES
    assert len(chart_keys(reader, "daily")) == len(spent)
    advice = document["advice"]
    steps = advice["combined"]["steps"]
    start = next(
        f"advice.{part}.monthly_spend_usd"
        for part in ("combined", "period")
        if advice.get(part, {}).get("monthly_spend_usd") is not None
    )
    assert chart_keys(reader, "advice") == {start} | {
        f"advice.combined.steps.{i}.monthly_savings_usd"
        for i, step in enumerate(steps)
        if step["monthly_savings_usd"]
    }
    for index, budget in enumerate(document["budgets"]):
        unit = "usd" if budget["limit_usd"] is not None else "tokens"
        days = {
            f"budgets.{index}.daily.{j}.cumulative_{unit}"
            for j in range(len(budget["daily"]))
        }
        assert days <= chart_keys(reader, f"budget-{index}")
    rows = document["breakeven"]["rows"]
    rings = {f"breakeven.rows.{i}.your_tokens_per_month" for i in range(len(rows))}
    assert rings <= chart_keys(reader, "breakeven")


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


def test_a_window_inside_one_month_leads_with_its_costliest_profile(
    filled: Options,
) -> None:
    with Workspace(filled) as workspace:
        window = workspace.window(since=date(2026, 11, 10), until=date(2026, 11, 20))
        document = build_document(workspace, AuditOptions(window, advice=False))
    month = document["month"]
    assert month["whole_window"] and month["first_day"] == "2026-11-10"
    assert month["cost_usd"] == document["overview"]["cost_usd"]
    page = render_page(document)
    reader = read_page(page)
    check_page(reader, to_jsonable(document))
    assert "Spent in November 2026" in page and "Nov\u00a010\u201320" in page
    assert "Costliest profile in November 2026" in page
    assert "overview.cost_usd" not in {m.key for m in reader.marks if m.chart is None}
    assert "headline-advice" in reader.placeholders


def test_a_profile_has_one_colour_on_the_page(document: dict[str, Any]) -> None:
    """The month's strip orders profiles by the month's spend, but colours
    each as the daily chart does."""
    page = render_page(document)
    strip = dict(
        (name, colour)
        for colour, name in re.findall(r'<li><i class="(c\d)"></i>([^:<]+): ', page)
    )
    daily = page[page.index('data-chart="daily"') :]
    legend = dict(
        (name, colour)
        for colour, name in re.findall(
            r'class="(c\d) swatch-box"><title>([^<]+)</title>',
            daily[: daily.index("</svg>")],
        )
    )
    assert set(strip) == {str(p["profile"]) for p in document["month"]["profiles"]}
    assert all(legend[name] == colour for name, colour in strip.items())
