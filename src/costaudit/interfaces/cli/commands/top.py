"""``costaudit top``: the most expensive operations."""

from __future__ import annotations

from typing import Annotated

import typer

from costaudit.analysis.top import Rank, top_operations
from costaudit.interfaces.cli.context import (
    FormatOption,
    NoScanOption,
    ProfileOption,
    SinceOption,
    TzOption,
    UntilOption,
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
from costaudit.interfaces.cli.output import Column, Format, compact, count, emit

COLUMNS = [
    Column("profile", "profile"),
    Column("task", "task"),
    Column("runs", "runs", count, True),
    Column("total_tokens", "tokens", compact, True),
    Column("tokens_per_run", "tokens/run", compact, True, optional=2),
    Column("cost_usd", "cost", bounded_money(), True),
    Column("cost_per_run_usd", "cost/run", bounded_money(), True, optional=1),
    Column("cost_per_month_usd", "cost/month", bounded_money(), True),
    Column("unpriced_calls", "unpriced", count, True, optional=3),
]


def top(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many rows.")] = 5,
    rank: Annotated[
        Rank, typer.Option("--rank", help="Rank by cost or tokens.")
    ] = Rank.cost,
    since: SinceOption = None,
    until: UntilOption = None,
    tz: TzOption = None,
    profile: ProfileOption = None,
    no_scan: NoScanOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """The most expensive operations (a profile's task), with cost per run."""
    with state(ctx).workspace() as workspace:
        if not no_scan:
            scan_with_progress(workspace)
        window = workspace.window(
            parse_day(since, "--since"), parse_day(until, "--until"), tz,
            tuple(profile or ()),
        )  # fmt: skip
        rows = top_operations(workspace.ledger, window, limit, rank)
        notes = table_notes(workspace, window, not rows) if fmt is Format.table else []
    title = f"Top {limit} operations by {rank.value}"
    emit(fmt, {"rows": rows}, rows, COLUMNS, title=title)
    if fmt is Format.table:
        print_notes(partial_note(rows) + notes)
