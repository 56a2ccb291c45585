"""``costaudit audit``: the one-page cost audit."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from costaudit.analysis.audit import AuditOptions, build_audit
from costaudit.interfaces.cli.charts import bar, sparkline
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
    money,
    print_csv,
    print_json,
    table,
)

PROFILE_COLUMNS = [Column("profile", "profile"), *[
    c for c in NUMBERS
    if c.key in ("calls", "sessions", "total_tokens", "cost_usd",
                 "cost_per_query_usd", "unpriced_calls")
]]  # fmt: skip


LOCAL_VS_API_ROWS = 10


def _percent(value: Any) -> str:
    return "n/a" if value is None else f"{float(value) * 100:.1f}%"


def render_overview(out: Console, audit: dict[str, Any]) -> None:
    o, p = audit["overview"], audit["period"]
    out.print(
        f"[bold]Cost audit[/bold] {p['first_day']} to {p['last_day']} "
        f"({p['days']} days, {p['timezone']})"
    )
    out.print(
        f"  spend {money(o['cost_usd'], 2)}  (API {money(o['api_cost_usd'], 2)}, "
        f"local energy {money(o['local_cost_usd'], 2)}), "
        f"plus infrastructure {money(o['infra_cost_usd'], 2)}"
    )
    out.print(
        f"  {count(o['calls'])} calls in {count(o['sessions'])} sessions, "
        f"{count(o['total_tokens'])} tokens, cost per query "
        f"{money(o['cost_per_query_usd'], 5)}, local share of calls "
        f"{_percent(o['local_call_share'])}"
    )
    if o["unpriced_calls"]:
        out.print(
            f"  [yellow]{count(o['unpriced_calls'])} calls are unpriced[/yellow] "
            "(not counted as $0; see below)"
        )


def render_daily(out: Console, audit: dict[str, Any]) -> None:
    days = audit["daily"]
    if not days:
        return
    costs = [d["cost_usd"] for d in days]
    peak = money(max(c or 0 for c in costs), 2)
    out.print(f"\nDaily spend  {sparkline(costs[-60:])}  max {peak}")


def render_models(out: Console, audit: dict[str, Any]) -> None:
    models = audit["models"][:8]
    if not models:
        return
    top = max((m["cost_usd"] or 0) for m in models)
    out.print("\nCost by model")
    for m in models:
        label = m["model"][:28].ljust(28)
        out.print(
            f"  {label} {money(m['cost_usd'], 2):>10} {bar(m['cost_usd'], top, 40)}"
        )


def render_provenance(out: Console, audit: dict[str, Any]) -> None:
    out.print("\nWhere prices came from")
    for row in audit["provenance"]:
        out.print(
            f"  {row['cost_source']:<18} {count(row['calls']):>9} calls  "
            f"{money(row['cost_usd'], 4):>12}  e.g. {row['example']}"
        )
    for row in audit["unpriced"]:
        out.print(
            f"  [yellow]unpriced[/yellow]: {row['model']} ({row['provider'] or '?'}), "
            f'{count(row["calls"])} calls: add [prices."{row["model"]}"] to config'
        )
    for row in audit["disagreements"]:
        out.print(
            f"  agent estimate for {row['model']}: {money(row['agent_cost_usd'])} vs "
            f"ours {money(row['cost_usd'])} ({_percent(row['difference_share'])} apart)"
        )
    out.print("\nAssumptions: " + "; ".join(audit["assumptions"]))


ADVICE_ROWS = 5


def render_advice(out: Console, audit: dict[str, Any]) -> None:
    advice = audit.get("advice")
    if advice is None:
        return
    out.print()
    if advice.get("error"):
        out.print(f"Ways to spend less: {advice['error']}", markup=False)
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
    out.print(
        f"  all together, without double counting: "
        f"{money(combined['monthly_savings_usd'], 2)} a month "
        f"({_percent(combined['share'])} of spend)"
    )


def _budget_row(b: dict[str, Any]) -> dict[str, Any]:
    usd = b["limit_usd"] is not None
    spent = money(b["spent_usd"], 2) if usd else f"{compact(b['spent_tokens'])} tok"
    limit = money(b["limit_usd"], 2) if usd else f"{compact(b['limit_tokens'])} tok"
    share = min(float(b["share"]), 1.0)
    return {
        **b,
        "spent": f"{spent} of {limit}",
        "used": f"{_percent(b['share'])} {bar(share, 1.0, 10)}",
        "level": b["level"]
        + (f", full {b['limit_reached_on']}" if b["limit_reached_on"] else ""),
    }


BUDGET_COLUMNS = [
    Column("name", "budget"),
    Column("period", "period"),
    Column("spent", "spent"),
    Column("used", "used"),
    Column("level", "status"),
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
        out.print(f"Break-even: {breakeven['error']}", markup=False)
        return
    for line in summary_lines(breakeven):
        out.print(line, markup=False)
    if breakeven["rows"]:
        out.print(table(None, breakeven["rows"], BREAKEVEN_COLUMNS))


def render_audit(audit: dict[str, Any]) -> None:
    out = console()
    render_overview(out, audit)
    render_daily(out, audit)
    out.print()
    out.print(table("Per profile", audit["profiles"], PROFILE_COLUMNS))
    render_models(out, audit)
    out.print()
    out.print(table("Top five operations", audit["top"], TOP_COLUMNS))
    lva = audit["local_vs_api"]
    out.print()
    if lva.get("error"):
        out.print(f"Local versus API: {lva['error']}")
    else:
        shown = lva["rows"][:LOCAL_VS_API_ROWS]
        out.print(
            table(
                f"Local versus API ({lva['local_model']} vs {lva['api_model']})",
                shown,
                COMPARE_COLUMNS,
                lva["totals"],
            )
        )
        hidden = len(lva["rows"]) - len(shown)
        if hidden > 0:
            out.print(
                f"  ({hidden} smaller tasks not shown, counted in the total: "
                f"costaudit compare --api {lva['api_model']})"
            )
        out.print(f"  local: {lva['local_assumptions']}")
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
        document = build_audit(workspace, options)
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
