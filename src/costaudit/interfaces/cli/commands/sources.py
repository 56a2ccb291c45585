"""``costaudit sources``: every path read, with what the ledger kept of it."""

from __future__ import annotations

from typing import Any

import typer

from costaudit.interfaces.cli.context import FormatOption, state
from costaudit.interfaces.cli.output import Column, Format, count, emit
from costaudit.sources.registry import describe_sources


def _when(value: Any) -> str:
    return "never" if value is None else value.strftime("%Y-%m-%d %H:%M:%S %Z")


COLUMNS = [
    Column("source", "source"),
    Column("path", "path"),
    Column("records", "records", count, True),
    Column("events", "call events", count, True),
    Column("issues", "bad lines", count, True),
    Column("last_scan", "last scan", _when),
]


def sources(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """List every source path found or read, with records and last scan."""
    with state(ctx).workspace() as workspace:
        rows = describe_sources(workspace.ledger, workspace.sources())
    emit(fmt, {"sources": rows}, rows, COLUMNS, title="Sources")
