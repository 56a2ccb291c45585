"""One way to print rows for every command: a table, JSON or CSV.

Data goes to stdout; notes, warnings and progress go to stderr, so output
pipes cleanly into other tools. Rich, which draws the tables, is imported
only when a table is printed: JSON and CSV start faster without it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from costaudit.interfaces.cli.columns import Column

if TYPE_CHECKING:
    from rich.console import Console

    from costaudit.interfaces.cli.tables import FittedTable

__all__ = [
    "Column",
    "Format",
    "compact",
    "console",
    "count",
    "counted",
    "emit",
    "money",
    "print_csv",
    "print_json",
    "table",
    "to_jsonable",
]


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def money(value: Any, places: int = 4) -> str:
    if value is None:
        return "unpriced"
    amount = Decimal(value)
    if amount and abs(amount) < Decimal("0.0001"):
        return f"${amount:.6f}"
    return f"${amount:,.{places}f}"


def count(value: Any) -> str:
    return "" if value is None else f"{int(value):,}"


def percent(value: Any) -> str:
    """A share (0.123) as a percentage (12.3%); n/a when there is none."""
    return "n/a" if value is None else f"{float(value) * 100:.1f}%"


def counted(value: Any, noun: str, plural: str | None = None) -> str:
    """``1 call``, ``9 calls``, ``1,200 days``: a count and its noun, agreed."""
    number = int(value)
    return f"{number:,} {noun if number == 1 else plural or noun + 's'}"


def compact(value: Any) -> str:
    """A token count in few characters: 950, 12.3k, 4.56M."""
    if value is None:
        return ""
    number = int(value)
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if abs(number) >= size:
            scaled = number / size
            return (
                f"{scaled:.3g}{suffix}" if scaled < 1000 else f"{scaled:,.0f}{suffix}"
            )
    return str(number)


def to_jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(round(value, 10))
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    width = int(os.environ.get("COLUMNS", "0") or 0) or None
    return Console(
        file=sys.stderr if stderr else sys.stdout,
        width=width,
        highlight=False,
        soft_wrap=False,
    )


def table(
    title: str | None,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    totals: dict[str, Any] | None = None,
) -> FittedTable:
    """``rows`` as a table that fits the console (see :mod:`tables`)."""
    from costaudit.interfaces.cli.tables import table as fitted

    return fitted(title, rows, columns, totals)


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(to_jsonable(document), indent=2) + "\n")


def print_csv(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.key for c in columns])
    for row in rows:
        writer.writerow([_csv_value(row.get(c.key)) for c in columns])
    sys.stdout.write(buffer.getvalue())


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{round(value, 10):f}"
    return value


def emit(
    fmt: Format,
    document: dict[str, Any],
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    title: str | None = None,
    totals: dict[str, Any] | None = None,
) -> None:
    """Print ``rows`` as a table or CSV, or ``document`` as JSON."""
    if fmt is Format.json:
        print_json(document)
    elif fmt is Format.csv:
        print_csv(
            list(rows) + ([{**totals, columns[0].key: "total"}] if totals else []),
            columns,
        )
    else:
        console().print(table(title, rows, columns, totals))
