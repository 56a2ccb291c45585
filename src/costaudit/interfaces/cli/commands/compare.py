"""``costaudit compare``: billed, all-local and all-on-one-API, per task."""

from __future__ import annotations

from typing import Annotated

import typer

from costaudit.analysis.compare import check_api_model
from costaudit.analysis.compare import compare as run_compare
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
from costaudit.interfaces.cli.notes import (
    bounded_money,
    no_match_note,
    partial_note,
    print_notes,
)
from costaudit.interfaces.cli.output import Column, Format, count, emit, money
from costaudit.pricing.pricer import Pricer

COLUMNS = [
    Column("profile", "profile"),
    Column("task", "task", min_width=16),
    Column("calls", "calls", count, True),
    Column("unpriced_calls", "unpriced", count, True, optional=3),
    Column("billed_usd", "as billed", bounded_money(), True),
    Column("as_local_usd", "all local", money, True, optional=1),
    Column("as_api_usd", "all on API", money, True),
    # The difference of two shown columns: the first to give way.
    Column("api_minus_local_usd", "API - local", money, True, optional=2),
    Column("cheaper", "cheaper", whole=True),
]


def compare(
    ctx: typer.Context,
    api: Annotated[str, typer.Option("--api", help="API model to compare with.")],
    provider: Annotated[
        str | None, typer.Option("--provider", help="Its provider, if ambiguous.")
    ] = None,
    local_model: Annotated[
        str | None,
        typer.Option("--local-model", help="Local model whose throughput to use."),
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    tz: TzOption = None,
    profile: ProfileOption = None,
    no_scan: NoScanOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Cost per profile and task as billed, all local, and all on one API model."""
    with state(ctx).workspace() as workspace:
        # A model with no price is bad usage: said before any scan.
        check_api_model(Pricer(workspace.config).library, api, provider)
        if not no_scan:
            scan_with_progress(workspace)
        window = workspace.window(
            parse_day(since, "--since"), parse_day(until, "--until"), tz,
            tuple(profile or ()),
        )  # fmt: skip
        result = run_compare(
            workspace.ledger, window, workspace.pricer(), api, provider, local_model
        )
        # The local assumptions are printed in full below the table.
        empty = fmt is Format.table and not result.rows
        notes = no_match_note(workspace, window) if empty else []
    document = {
        "api_model": result.api_model,
        "local_model": result.local_model,
        "local_assumptions": result.local_detail,
        "rows": result.rows,
        "totals": result.totals,
    }
    emit(
        fmt, document, result.rows, COLUMNS,
        title=f"As billed, all local ({result.local_model}), all on {api}",
        totals=result.totals,
    )  # fmt: skip
    if fmt is Format.table:
        print_notes(partial_note([*result.rows, result.totals]) + notes)
        note(f"local: {result.local_detail}")
