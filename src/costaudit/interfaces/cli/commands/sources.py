"""``costaudit sources``: every path read, with what the ledger kept of it.

With ``--issues``: every bad line or row the ledger keeps, with its file and
line number, rather than the first ten a scan prints.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from costaudit.interfaces.cli.context import FormatOption, note, state
from costaudit.interfaces.cli.output import Column, Format, count, emit
from costaudit.sources.registry import describe_sources


def _when(value: Any) -> str:
    return "never" if value is None else value.strftime("%Y-%m-%d %H:%M %Z")


COLUMNS = [
    Column("source", "source"),
    # A path is cut from the left: its end names the file.
    Column("path", "path", keep_end=True, min_width=40, max_width=72),
    Column("records", "records", count, True),
    Column("events", "call events", count, True),
    Column("issues", "bad lines", count, True),
    Column("last_scan", "last scan", _when, whole=True, optional=1),
]

ISSUE_COLUMNS = [
    Column("source", "source", optional=2),
    Column("path", "path", keep_end=True, min_width=30, max_width=60),
    Column("line", "line", count, True),
    Column("message", "problem", min_width=30, max_width=100),
    Column("seen_at", "first seen", _when, whole=True, optional=1),
]

IssuesOption = Annotated[
    bool,
    typer.Option(
        "--issues", help="List every bad line kept, with its file and line number."
    ),
]


def sources(
    ctx: typer.Context, fmt: FormatOption = Format.table, issues: IssuesOption = False
) -> None:
    """List every source path found or read, with records and last scan."""
    with state(ctx).workspace() as workspace:
        if issues:
            found = workspace.ledger.scan_issues()
        else:
            rows = describe_sources(workspace.ledger, workspace.sources())
    if issues:
        _print_issues(fmt, found)
    else:
        emit(fmt, {"sources": rows}, rows, COLUMNS, title="Sources")


def _print_issues(fmt: Format, found: list[dict[str, Any]]) -> None:
    emit(fmt, {"issues": found}, found, ISSUE_COLUMNS, title="Bad lines")
    if fmt is Format.table:
        note(f"{len(found):,} bad lines kept")
