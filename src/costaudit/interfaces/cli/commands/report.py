"""``costaudit report``: usage and cost grouped by the keys asked for."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from costaudit.analysis.provenance import describe_disagreement, estimate_disagreements
from costaudit.analysis.report import (
    GROUP_KEYS,
    Report,
    build_report,
    parse_group_keys,
)
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
from costaudit.interfaces.cli.notes import (
    bounded_money,
    partial_note,
    print_notes,
    table_notes,
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
    Column("cost_usd", "cost", bounded_money(), True),
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
        str,
        typer.Option(
            "--by", help=f"Group keys, comma-separated, from: {', '.join(GROUP_KEYS)}."
        ),
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
    cost source, day, week or month."""
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
        notes = []
        if fmt is Format.table:
            empty = not result.totals["calls"]
            notes = table_notes(workspace, window, empty)
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
            note(f"note: {describe_disagreement(row, money)}")
        print_notes(partial_note([*result.rows, result.totals]) + notes)
        infra_note(result)


def infra_note(result: Report) -> None:
    """How the infrastructure's cost enters the cost per query."""
    infra = result.infrastructure
    if not infra.monthly_usd or not result.totals["calls"]:
        return
    note(
        f"cost/query includes {money(infra.monthly_usd, 2)}/month of infrastructure "
        f"shared over the {result.window_calls:,} calls of {result.days} days"
    )
