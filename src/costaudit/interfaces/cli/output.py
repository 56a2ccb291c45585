"""One way to print rows for every command: a table, JSON or CSV.

Data goes to stdout; notes, warnings and progress go to stderr, so output
pipes cleanly into other tools.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table


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


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    render: Callable[[Any], str] = str
    numeric: bool = False


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
    width = int(os.environ.get("COLUMNS", "0") or 0) or None
    return Console(
        file=sys.stderr if stderr else sys.stdout,
        width=width,
        highlight=False,
        soft_wrap=False,
    )


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


def _fit_names(widths: list[int], columns: Sequence[Column], room: int) -> None:
    """Narrow the name columns, widest first, until the row fits ``room``."""
    # Two cells of padding between columns and a box edge on either side.
    spare = room - (sum(widths) + 2 * (len(widths) - 1) + 2)
    names = [i for i, column in enumerate(columns) if not column.numeric]
    while spare < 0 and names:
        widest = max(names, key=lambda i: widths[i])
        if widths[widest] <= 8:
            break
        widths[widest] -= 1
        spare += 1


def table(
    title: str | None,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    totals: dict[str, Any] | None = None,
) -> Table:
    result = Table(
        title=title,
        title_justify="left",
        show_footer=totals is not None,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    footers: list[str] = []
    widths: list[int] = []
    for column in columns:
        footer = ""
        if totals is not None:
            value = totals.get(column.key)
            footer = column.render(value) if value is not None or column.numeric else ""
            if column is columns[0]:
                footer = "total"
        cells = [column.render(row.get(column.key)) for row in rows]
        widest = max((len(c) for c in cells), default=0)
        footers.append(footer)
        # Numbers keep their width; names get up to 28 before they fold.
        widths.append(
            max(widest, len(footer), len(column.label))
            if column.numeric
            else min(max(widest, len(column.label)), 28)
        )
    _fit_names(widths, columns, console().width)
    for column, footer, width in zip(columns, footers, widths, strict=True):
        result.add_column(
            column.label,
            footer=footer,
            justify="right" if column.numeric else "left",
            no_wrap=column.numeric,
            overflow="fold",
            min_width=width,
        )
    for row in rows:
        result.add_row(*(column.render(row.get(column.key)) for column in columns))
    return result


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
