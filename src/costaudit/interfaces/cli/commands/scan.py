"""``costaudit scan``: read every source's new data into the ledger."""

from __future__ import annotations

import typer

from costaudit.interfaces.cli.context import (
    FormatOption,
    note,
    scan_with_progress,
    state,
)
from costaudit.interfaces.cli.output import Column, Format, count, emit


def scan(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Scan every source incrementally and price what is new.

    Exits with 1 when a file could not be read (named on stderr); what the
    other files gave is stored all the same."""
    with state(ctx).workspace() as workspace:
        summary = scan_with_progress(workspace, tell=True)
        total = workspace.ledger.record_count()
    rows = [
        {"source": name, "new_records": n, "new_events": summary.events.get(name, 0)}
        for name, n in summary.records.items()
    ]
    columns = [
        Column("source", "source"),
        Column("new_records", "new records", count, True),
        Column("new_events", "new call events", count, True),
    ]
    document = {
        "sources": rows,
        "ledger_records": total,
        "issues": len(summary.issues),
        "errors": summary.errors,
    }
    emit(fmt, document, rows, columns, title="Scan")
    note(f"ledger holds {total:,} usage records")
    if summary.errors:
        # Exit 1: a file was not read, though everything else was stored.
        raise typer.Exit(1)
