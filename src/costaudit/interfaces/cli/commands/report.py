"""``costaudit report``: usage and cost grouped by the keys asked for."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from costaudit.analysis.provenance import estimate_disagreements
from costaudit.analysis.report import Report, build_report, parse_group_keys
from costaudit.interfaces.cli.context import (
    FormatOption,
    ModelOption,
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
    count,
    emit,
    money,
)

# The token kinds are optional: on a narrow terminal they give way, reasoning
# first, so the names and the total, cost and unpriced columns stay.
NUMBERS = [
    Column("calls", "calls", count, True),
    Column("sessions", "sess", count, True),
    Column("input_tokens", "input", compact, True, optional=2),
    Column("cache_read_tokens", "c.read", compact, True, optional=3),
    Column("cache_write_tokens", "c.write", compact, True, optional=4),
    Column("output_tokens", "output", compact, True, optional=1),
    Column("reasoning_tokens", "reason", compact, True, optional=5),
    Column("total_tokens", "total", compact, True),
    Column("cost_usd", "cost", money, True),
    Column("cost_per_query_usd", "$/query", lambda v: money(v, 6), True),
    Column("unpriced_calls", "unpriced", count, True),
]

ALWAYS_SHOWN = {"calls", "sessions", "cost_usd", "cost_per_query_usd", "unpriced_calls"}

JSON_FIELDS = (
    "calls",
    "sessions",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "total_tokens",
    "cost_usd",
    "api_cost_usd",
    "local_cost_usd",
    "infra_cost_usd",
    "unpriced_calls",
    "cost_per_query_usd",
)


def report_document(report: Report) -> dict[str, Any]:
    def shape(row: dict[str, Any], keys: list[str]) -> dict[str, Any]:
        return {**{k: row[k] for k in keys}, **{f: row.get(f) for f in JSON_FIELDS}}

    return {
        "group_by": report.group_by,
        "rows": [shape(r, report.group_by) for r in report.rows],
        "totals": shape(report.totals, []),
        "days": report.days,
        "infrastructure_monthly_usd": report.infrastructure.monthly_usd,
    }


def report(
    ctx: typer.Context,
    by: Annotated[
        str, typer.Option("--by", help="Group keys, comma-separated: profile,task,...")
    ] = "profile",
    since: SinceOption = None,
    until: UntilOption = None,
    tz: TzOption = None,
    profile: ProfileOption = None,
    model: ModelOption = None,
    no_scan: NoScanOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Tokens and cost grouped by profile, task, model, provider, platform,
    day, week or month."""
    keys = parse_group_keys(by)
    with state(ctx).workspace() as workspace:
        if not no_scan:
            scan_with_progress(workspace)
        window = workspace.window(
            parse_day(since, "--since"),
            parse_day(until, "--until"),
            tz,
            tuple(profile or ()),
            tuple(model or ()),
        )
        result = build_report(
            workspace.ledger, window, keys, workspace.infrastructure()
        )
        disagreements = estimate_disagreements(workspace.ledger, window)
    # Token columns with nothing in them are left out of the table only;
    # JSON and CSV always carry every column.
    numbers = [
        c for c in NUMBERS
        if fmt is not Format.table or c.key in ALWAYS_SHOWN or result.totals.get(c.key)
    ]  # fmt: skip
    columns = [Column(k, k) for k in keys] + numbers
    document = report_document(result)
    document["estimate_disagreements"] = disagreements
    emit(
        fmt,
        document,
        result.rows,
        columns,
        title=f"Usage by {', '.join(keys)}",
        totals=result.totals,
    )
    if fmt is Format.table:
        for row in disagreements:
            note(
                f"note: the agent estimated {money(row['agent_cost_usd'])} for "
                f"{row['model']}, {row['priced_with']} gives "
                f"{money(row['cost_usd'])} ({float(row['difference_share']):+.0%})"
            )
    infra = result.infrastructure
    if fmt is Format.table and infra.monthly_usd:
        note(
            f"cost/query includes ${infra.monthly_usd}/month of infrastructure "
            f"spread over {result.totals['calls'] or 0:,} calls in {result.days} days"
        )
