"""``costaudit sources``: every path read, with what the ledger kept of it."""

from __future__ import annotations

from typing import Any

import typer

from costaudit.interfaces.cli.context import FormatOption, state
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


def sources(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """List every source path found or read, with records and last scan."""
    with state(ctx).workspace() as workspace:
        rows = describe_sources(workspace.ledger, workspace.sources())
    emit(fmt, {"sources": rows}, rows, COLUMNS, title="Sources")
