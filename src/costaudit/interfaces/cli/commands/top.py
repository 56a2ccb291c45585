"""``costaudit top``: the most expensive operations."""

from __future__ import annotations

from typing import Annotated

import typer

from costaudit.analysis.top import top_operations
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
from costaudit.interfaces.cli.output import (
    Column,
    Format,
    compact,
    count,
    emit,
    money,
)

COLUMNS = [
    Column("profile", "profile"),
    Column("task", "task"),
    Column("runs", "runs", count, True),
    Column("total_tokens", "tokens", compact, True),
    Column("tokens_per_run", "tokens/run", compact, True, optional=2),
    Column("cost_usd", "cost", money, True),
    Column("cost_per_run_usd", "cost/run", money, True, optional=1),
    Column("cost_per_month_usd", "cost/month", money, True),
]


def top(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many rows.")] = 5,
    rank: Annotated[
        str, typer.Option("--rank", help="Rank by cost or tokens.")
    ] = "cost",
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
    emit(fmt, {"rows": rows}, rows, COLUMNS, title=f"Top {limit} operations by {rank}")
