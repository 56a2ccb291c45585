"""Tables the reader can sort: numbers carry their exact value in ``data-value``.

The sorting script reads ``data-value`` for number columns, and the tests
read the same attribute to check the page against the JSON report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from costaudit.interfaces.html.markup import (
    count,
    data_value,
    element,
    esc,
    money,
    percent,
)

TALL_ROWS = 12
"""Longer tables scroll inside a box of about this many rows."""
FORMATS = {"money": money, "count": count, "percent": percent}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"
    """``text``, ``long`` (text that needs room), ``name`` (kept on one line),
    or a number kind: ``money``, ``count`` or ``percent``."""

    @property
    def numeric(self) -> bool:
        return self.kind in FORMATS

    def cell(self, row: dict[str, Any], tag: str = "td") -> str:
        value = row.get(self.key)
        if not self.numeric:
            shown = "—" if value is None or value == "" else esc(value)
            style = self.kind if self.kind in ("long", "name") else None
            return element(tag, shown, class_=style, data_col=self.key)
        return element(
            tag,
            esc(FORMATS[self.kind](value)),
            class_="num" + (" unpriced" if value is None else ""),
            data_col=self.key,
            data_value=data_value(value),
        )


def sortable_table(
    source: str,
    caption: str,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    totals: dict[str, Any] | None = None,
) -> str:
    """A table of ``rows``; ``source`` names where they are in the document."""
    if not rows:
        return element("p", esc(f"{caption}: none in this period."), class_="empty")
    head = "".join(
        element(
            "th",
            element("button", esc(c.label), type="button"),
            scope="col",
            class_="num" if c.numeric else None,
            data_type="number" if c.numeric else "text",
            aria_sort="none",
        )
        for c in columns
    )
    body = "".join(element("tr", "".join(c.cell(row) for c in columns)) for row in rows)
    parts = [
        element("caption", esc(caption)),
        element("thead", element("tr", head)),
        element("tbody", body),
    ]
    if totals is not None:
        foot = element("th", "total", scope="row") + "".join(
            c.cell(totals) for c in columns[1:]
        )
        parts.append(element("tfoot", element("tr", foot)))
    table = element("table", "".join(parts), class_="sortable", data_table=source)
    tall = " tall" if len(rows) > TALL_ROWS else ""
    return element("div", table, class_="table-wrap" + tall)
