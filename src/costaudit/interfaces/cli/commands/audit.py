"""``costaudit audit``: the one-page cost audit."""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from costaudit.analysis.audit import AuditOptions, build_audit
from costaudit.analysis.report import build_report
from costaudit.analysis.window import Window
from costaudit.interfaces.cli.charts import axis, bar, bar_lines, sparkline
from costaudit.interfaces.cli.commands.advise import COLUMNS as ADVICE_COLUMNS
from costaudit.interfaces.cli.commands.advise import ranking_rows
from costaudit.interfaces.cli.commands.breakeven import API_COLUMNS, summary_lines
from costaudit.interfaces.cli.commands.compare import COLUMNS as COMPARE_COLUMNS
from costaudit.interfaces.cli.commands.report import NUMBERS
from costaudit.interfaces.cli.commands.top import COLUMNS as TOP_COLUMNS
from costaudit.interfaces.cli.context import (
    FormatOption,
    NoScanOption,
    ProfileOption,
    SinceOption,
    TzOption,
    UntilOption,
    note,
    parse_day,
    scan_with_progress,
    state,
)
from costaudit.interfaces.cli.output import (
    Column,
    Format,
    compact,
    console,
    count,
    counted,
    money,
    percent,
    print_csv,
    print_json,
    table,
)
from costaudit.interfaces.cli.text import Lines, indented
from costaudit.workspace import Workspace

PROFILE_COLUMNS = [Column("profile", "profile"), *[
    c for c in NUMBERS
    if c.key in ("calls", "sessions", "total_tokens", "cost_usd",
                 "cost_per_query_usd", "unpriced_calls")
]]  # fmt: skip


LOCAL_VS_API_ROWS = 10
MONTH_TASKS = 5
MONTH_FIGURES = (
    "calls",
    "total_tokens",
    "cost_usd",
    "api_cost_usd",
    "local_cost_usd",
    "cost_per_query_usd",
    "unpriced_calls",
)


def _day(value: Any) -> date:
    return date.fromisoformat(str(value)[:10])


def _share(part: Any, whole: Any) -> Decimal | None:
    if part is None or not whole:
        return None
    return Decimal(part) / Decimal(whole)


def latest_month(
    workspace: Workspace, window: Window, period: dict[str, Any]
) -> dict[str, Any] | None:
    """The calendar month of the audit's last day, within the audit's window:
    what it cost, split by profile, and its costliest tasks.

    "Where did the money go this month" is the first question a reader asks,
    and a window often spans more than one month; the month's figures come
    from the same report as the rest, over the month's days.
    """
    if not period["last_day"]:
        return None
    last, first = _day(period["last_day"]), _day(period["first_day"])
    start = max(last.replace(day=1), first)
    month = replace(window, since=start, until=last)
    infra = workspace.infrastructure()
    by_profile = build_report(workspace.ledger, month, ["profile"], infra)
    by_task = build_report(workspace.ledger, month, ["profile", "task"], infra)
    spend = by_profile.totals["cost_usd"]
    return {
        "month": f"{last:%Y-%m}",
        "first_day": start.isoformat(),
        "last_day": last.isoformat(),
        "days": (last - start).days + 1,
        "days_in_month": calendar.monthrange(last.year, last.month)[1],
        "whole_window": start == first,
        **{key: by_profile.totals.get(key) for key in MONTH_FIGURES},
        "profiles": [_month_row(r, ("profile",), spend) for r in by_profile.rows],
        "tasks": [
            _month_row(r, ("profile", "task"), spend)
            for r in by_task.rows[:MONTH_TASKS]
        ],
    }


def _month_row(
    row: dict[str, Any], names: tuple[str, ...], spend: Any
) -> dict[str, Any]:
    """A profile's or task's part of the month, and its share of spend."""
    figures = ("calls", "cost_usd", "unpriced_calls")
    return {
        **{key: row[key] for key in (*names, *figures)},
        "share": _share(row["cost_usd"], spend),
    }


def build_document(workspace: Workspace, options: AuditOptions) -> dict[str, Any]:
    """The audit document, with the latest calendar month after its period."""
    audit = build_audit(workspace, options)
    month = latest_month(workspace, options.window, audit["period"])
    return {"period": audit.pop("period"), "month": month, **audit}


def month_label(month: dict[str, Any]) -> str:
    """``November 2026 (Nov 1-30)``: the month, and the days of it covered."""
    first, last = _day(month["first_day"]), _day(month["last_day"])
    days = f"{first.day}" if first == last else f"{first.day}-{last.day}"
    return f"{first:%B %Y} ({first:%b} {days})"


def say(
    out: Console, text: str, indent: int = 2, hang: int = 2, style: str = ""
) -> None:
    """A line wrapped under its own indent; never read as markup, since
    names, paths and prompts from logs may hold [brackets]."""
    out.print(Lines(text, indent, hang, style))


def _every_day(rows: list[dict[str, Any]]) -> list[tuple[date, Decimal]]:
    """Spend per day from the first to the last, a day without calls as 0."""
    spent = {
        date.fromisoformat(str(r["day"])[:10]): Decimal(r["cost_usd"] or 0)
        for r in rows
    }
    if not spent:
        return []
    first, last = min(spent), max(spent)
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [(day, spent.get(day, Decimal(0))) for day in days]


def render_overview(out: Console, audit: dict[str, Any]) -> None:
    o, p = audit["overview"], audit["period"]
    out.print(
        Text.assemble(
            ("Cost audit", "bold"),
            f" {p['first_day']} to {p['last_day']} "
            f"({counted(p['days'], 'day')}, {p['timezone']})",
        )
    )
    say(
        out,
        f"spend {money(o['cost_usd'], 2)} (API {money(o['api_cost_usd'], 2)}, "
        f"local energy {money(o['local_cost_usd'], 2)}), plus infrastructure "
        f"{money(o['infra_cost_usd'], 2)}",
    )
    say(
        out,
        f"{counted(o['calls'], 'call')} in {counted(o['sessions'], 'session')}, "
        f"{counted(o['total_tokens'], 'token')}",
    )
    say(
        out,
        f"cost per query {money(o['cost_per_query_usd'], 5)}, local share of "
        f"calls {percent(o['local_call_share'])}",
    )
    if o["unpriced_calls"]:
        unpriced = o["unpriced_calls"]
        say(
            out,
            f"{counted(unpriced, 'call')} {'is' if unpriced == 1 else 'are'} "
            "unpriced (not counted as $0; see below)",
            style="yellow",
        )
    render_month(out, audit.get("month"))


MONTH_PROFILES = 3


def render_month(out: Console, month: dict[str, Any] | None) -> None:
    """The latest month's spend and its split by profile, when the window
    holds more than that month (else the lines above already say it)."""
    if not month or month["whole_window"] or not month["calls"]:
        return
    shown = month["profiles"][:MONTH_PROFILES]
    split = ", ".join(
        f"{p['profile']} {money(p['cost_usd'], 2)} ({percent(p['share'])})"
        for p in shown
    )
    rest = len(month["profiles"]) - len(shown)
    if rest > 0:
        split += f", {rest} more"
    say(
        out,
        f"{month_label(month)}: spend {money(month['cost_usd'], 2)}; {split}",
    )


def render_daily(out: Console, audit: dict[str, Any]) -> None:
    days = _every_day(audit["daily"])
    if not days:
        return
    shown = days[-max(8, out.width - 4) :]
    peak_day, peak = max(shown, key=lambda d: d[1])
    average = sum(cost for _, cost in shown) / len(shown)
    scope = counted(len(days), "day")
    if len(shown) < len(days):
        scope = f"the last {len(shown)} of {len(days)} days"
    out.print()
    say(
        out,
        f"Daily spend over {scope}: most {money(peak, 2)} on {peak_day}, "
        f"average {money(average, 2)} a day",
        indent=0,
    )
    line = sparkline([cost for _, cost in shown])
    out.print(f"  {line}", markup=False)
    first, last = shown[0][0].isoformat(), shown[-1][0].isoformat()
    out.print(f"  {axis(first, last, len(line))}", markup=False)


MODEL_ROWS = 8


def render_models(out: Console, audit: dict[str, Any]) -> None:
    models = audit["models"]
    if not models:
        return
    shown = models[:MODEL_ROWS]
    spend = audit["overview"]["cost_usd"]
    figures = [
        f"{money(m['cost_usd'], 2)} {_share_of(m['cost_usd'], spend):>6}" for m in shown
    ]
    out.print()
    out.print("Cost by model, share of spend", markup=False)
    labels = [str(m["model"]) for m in shown]
    costs = [m["cost_usd"] for m in shown]
    for line in bar_lines(labels, figures, costs, out.width):
        out.print(line, markup=False)
    if len(models) > len(shown):
        say(
            out,
            f"({counted(len(models) - len(shown), 'more model')}: "
            "costaudit report --by model)",
        )


def _share_of(part: Any, whole: Any) -> str:
    if part is None or not whole:
        return ""
    return f"{Decimal(part) / Decimal(whole):.1%}"


def render_provenance(out: Console, audit: dict[str, Any]) -> None:
    out.print()
    out.print("Where prices came from", markup=False)
    rows = audit["provenance"]
    width = max((len(str(r["cost_source"])) for r in rows), default=0)
    for row in rows:
        say(
            out,
            f"{row['cost_source']:<{width}} {count(row['calls']):>9} "
            f"{'call ' if row['calls'] == 1 else 'calls'} "
            f"{money(row['cost_usd'], 4):>12}",
        )
        say(out, f"e.g. {row['example']}", indent=4)
    for row in audit["unpriced"]:
        say(
            out,
            f"unpriced: {row['model']} ({row['provider'] or '?'}), "
            f"{counted(row['calls'], 'call')}: "
            f'add [prices."{row["model"]}"] to config',
            style="yellow",
        )
    for row in audit["disagreements"]:
        say(
            out,
            f"agent estimate for {row['model']}: {money(row['agent_cost_usd'])} vs "
            f"ours {money(row['cost_usd'])} ({percent(row['difference_share'])} "
            "apart)",
        )
    if audit["assumptions"]:
        out.print()
        out.print("Assumptions", markup=False)
        for assumption in audit["assumptions"]:
            say(out, f"- {assumption}")


ADVICE_ROWS = 5


def render_advice(out: Console, audit: dict[str, Any]) -> None:
    advice = audit.get("advice")
    if advice is None:
        return
    out.print()
    if advice.get("error"):
        say(out, f"Ways to spend less: {advice['error']}", indent=0)
        return
    rows = [r for r in ranking_rows(advice) if r["monthly_savings_usd"] > 0]
    combined = advice["combined"]
    out.print(
        table(
            "Ways to spend less, a month (costaudit advise for the evidence)",
            rows[:ADVICE_ROWS],
            ADVICE_COLUMNS,
        )
    )
    say(
        out,
        f"all together, without double counting: "
        f"{money(combined['monthly_savings_usd'], 2)} a month "
        f"({percent(combined['share'])} of spend)",
    )
    idle = [s["id"] for s in advice["strategies"] if s["monthly_savings_usd"] <= 0]
    if idle:
        say(
            out,
            f"nothing to save here from {', '.join(idle)} "
            "(costaudit advise --explain ID says why)",
        )


# Cells in a budget's bar, and a whole percent beside it: a glance at the
# budgets that leaves the rest of the row room at 80 columns.
BUDGET_BAR = 6


def _budget_row(b: dict[str, Any]) -> dict[str, Any]:
    usd = b["limit_usd"] is not None
    spent = money(b["spent_usd"], 2) if usd else compact(b["spent_tokens"])
    limit = money(b["limit_usd"], 2) if usd else f"{compact(b['limit_tokens'])} tok"
    share = min(float(b["share"]), 1.0)
    return {
        **b,
        "spent": f"{spent} of {limit}",
        "used": f"{float(b['share']):.0%} {bar(share, 1.0, BUDGET_BAR)}",
        "level": b["level"]
        + (f", full {b['limit_reached_on']}" if b["limit_reached_on"] else ""),
    }


BUDGET_COLUMNS = [
    Column("name", "budget"),
    Column("period", "period", whole=True),
    Column("spent", "spent", whole=True),
    Column("used", "used", whole=True),
    Column("level", "status", whole=True),
]


def render_budgets(out: Console, audit: dict[str, Any]) -> None:
    budgets = audit.get("budgets") or []
    if not budgets:
        return
    as_of = str(budgets[0]["as_of"])[:16]
    title = f"Budgets as of {as_of} (costaudit budget status: as of now)"
    out.print()
    out.print(table(title, [_budget_row(b) for b in budgets], BUDGET_COLUMNS))


BREAKEVEN_COLUMNS = [
    c for c in API_COLUMNS if c.key not in ("api_usd_per_month", "local_usd_per_month")
]


def render_breakeven(out: Console, audit: dict[str, Any]) -> None:
    breakeven = audit.get("breakeven")
    if breakeven is None:
        return
    out.print()
    if breakeven.get("error"):
        say(out, f"Break-even: {breakeven['error']}", indent=0)
        return
    for line in summary_lines(breakeven):
        indent, body = indented(line)
        say(out, body, indent=indent)
    if breakeven["rows"]:
        out.print(table(None, breakeven["rows"], BREAKEVEN_COLUMNS))


def render_local_vs_api(out: Console, audit: dict[str, Any]) -> None:
    lva = audit["local_vs_api"]
    out.print()
    if lva.get("error"):
        say(out, f"Local versus API: {lva['error']}", indent=0)
        return
    shown = lva["rows"][:LOCAL_VS_API_ROWS]
    title = f"Local versus API ({lva['local_model']} vs {lva['api_model']})"
    out.print(table(title, shown, COMPARE_COLUMNS, lva["totals"]))
    hidden = len(lva["rows"]) - len(shown)
    if hidden > 0:
        say(
            out,
            f"({counted(hidden, 'smaller task')} not shown, counted in the total: "
            f"costaudit compare --api {lva['api_model']})",
        )
    say(out, electricity_only(lva, audit.get("breakeven")))


def electricity_only(lva: dict[str, Any], breakeven: dict[str, Any] | None) -> str:
    """Say that "all local" counts electricity alone, and what the machine
    adds, so the table and the break-even section do not seem to disagree
    (the HTML report says the same)."""
    lead = f"all local: electricity alone, on {lva['local_assumptions']}."
    machine = ((breakeven or {}).get("machine") or {}).get("cost_usd_per_month")
    if machine is None:
        return (
            f"{lead} The machine's rent and idle power are not in it; they are "
            "the infrastructure figure above."
        )
    return (
        f"{lead} The machine itself, running all month whether used or not, "
        f"costs {money(machine, 2)} a month, which is not in it: the break-even "
        "section below adds it and finds where running locally starts to pay."
    )


def render_audit(audit: dict[str, Any]) -> None:
    out = console()
    render_overview(out, audit)
    render_daily(out, audit)
    out.print()
    out.print(table("Per profile", audit["profiles"], PROFILE_COLUMNS))
    render_models(out, audit)
    out.print()
    out.print(table("Top five operations", audit["top"], TOP_COLUMNS))
    render_local_vs_api(out, audit)
    render_advice(out, audit)
    render_budgets(out, audit)
    render_breakeven(out, audit)
    render_provenance(out, audit)


def audit(
    ctx: typer.Context,
    since: SinceOption = None,
    until: UntilOption = None,
    tz: TzOption = None,
    profile: ProfileOption = None,
    compare_api: Annotated[
        str | None, typer.Option("--compare-api", help="API model for local vs API.")
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option("--html", help="Also write a self-contained HTML file."),
    ] = None,
    no_advice: Annotated[
        bool,
        typer.Option("--no-advice", help="Leave out the advisor (the slowest part)."),
    ] = False,
    no_scan: NoScanOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """The one-page audit: overview, profiles, top five, local versus API,
    savings, budgets and break-even."""
    with state(ctx).workspace() as workspace:
        if not no_scan:
            scan_with_progress(workspace)
        window = workspace.window(
            parse_day(since, "--since"), parse_day(until, "--until"), tz,
            tuple(profile or ()),
        )  # fmt: skip
        options = AuditOptions(window, compare_api, advice=not no_advice)
        document = build_document(workspace, options)
        if html is not None:
            from costaudit.interfaces.html import write_html

            write_html(document, html)
            note(f"wrote {html}")
    if fmt is Format.json:
        print_json(document)
    elif fmt is Format.csv:
        print_csv(document["profiles"], PROFILE_COLUMNS)
    else:
        render_audit(document)
