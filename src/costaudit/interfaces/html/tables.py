"""Tables the reader can sort: numbers carry their exact value in ``data-value``.

The sorting script reads ``data-value`` for number columns, and the tests
read the same attribute to check the page against the JSON report. Money
follows the page's one rule (see ``markup.money``), so an amount reads the
same in every table, chart and headline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from costaudit.interfaces.html.markup import (
    count,
    data_value,
    element,
    esc,
    money,
    percent,
    short_count,
)

TALL_ROWS = 12
"""Longer tables scroll inside a box of about this many rows."""
LONG_TEXT = 48
"""Characters of a long text cell (a task named after a prompt) shown before
an ellipsis; the whole text is the cell's tooltip."""
NUMBER_KINDS = ("money", "count", "percent", "volume")
NOT_APPLICABLE = "—"

Row = dict[str, Any]


def _volume(value: Any) -> str:
    return "" if value is None else short_count(float(value))


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"
    """``text``, ``long`` (text that needs room), ``name`` (kept on one line),
    or a number kind: ``money``, ``count``, ``percent`` or ``volume`` (a token
    count shown short, as 12.5M)."""
    applies: Callable[[Row], bool] | None = None
    """Whether the figure means anything for a row; where not, "—" is shown
    (a token budget has no dollar limit, which is not an unpriced one)."""
    drop_if_zero: bool = False
    """Leave the column out when every row and the totals have 0 in it."""
    missing: str = NOT_APPLICABLE
    """What an empty figure shows, outside money columns (where it is unpriced)."""

    @property
    def numeric(self) -> bool:
        return self.kind in NUMBER_KINDS

    def formatter(self) -> Callable[[Any], str]:
        """How this column shows a value."""
        if self.kind == "money":
            return money
        if self.kind == "count":
            return count
        if self.kind == "percent":
            return percent
        return _volume

    def _text_cell(self, value: Any, tag: str) -> str:
        """A text cell; a long text is cut, and whole in its ``title``."""
        if value is None or value == "":
            return element(tag, NOT_APPLICABLE, data_col=self.key)
        whole = str(value)
        style = self.kind if self.kind in ("long", "name") else None
        shown = shorten(whole) if self.kind == "long" else whole
        title = whole if shown != whole else None
        return element(tag, esc(shown), class_=style, data_col=self.key, title=title)

    def cell(self, row: Row, show: Callable[[Any], str], tag: str = "td") -> str:
        value = row.get(self.key)
        if not self.numeric:
            return self._text_cell(value, tag)
        if self.applies is not None and not self.applies(row):
            return element(
                tag, NOT_APPLICABLE, class_="num na", data_col=self.key, data_value=""
            )
        unpriced = value is None and self.kind == "money"
        return element(
            tag,
            esc(show(value) if value is not None or unpriced else self.missing),
            class_="num" + (" unpriced" if unpriced else ""),
            data_col=self.key,
            data_value=data_value(value),
        )


def shorten(text: str, room: int = LONG_TEXT) -> str:
    """``text`` cut to ``room`` characters at a word where one is near the
    end, with an ellipsis; text that fits is left whole."""
    if len(text) <= room:
        return text
    cut = text[: room - 1]
    word = cut.rfind(" ")
    if word >= room * 2 // 3:
        cut = cut[:word]
    return cut.rstrip(" ,;:-") + "…"


def _shown_columns(
    columns: Sequence[Column], rows: Sequence[Row], totals: Row | None
) -> list[Column]:
    everything = [*rows, *([totals] if totals is not None else [])]
    return [
        c
        for c in columns
        if not c.drop_if_zero or any(r.get(c.key) not in (0, None) for r in everything)
    ]


def _header(column: Column) -> str:
    return element(
        "th",
        element("button", esc(column.label), type="button"),
        scope="col",
        class_="num" if column.numeric else None,
        data_type="number" if column.numeric else "text",
        aria_sort="none",
    )


def sortable_table(
    source: str,
    caption: str,
    rows: Sequence[Row],
    columns: Sequence[Column],
    totals: Row | None = None,
) -> str:
    """A table of ``rows``; ``source`` names where they are in the document.

    The caption sits above the scrolling box, so it stays in view on a phone
    while the table scrolls sideways under it.
    """
    if not rows:
        return element("p", esc(f"{caption}: none in this period."), class_="empty")
    shown = _shown_columns(columns, rows, totals)
    formats = [c.formatter() for c in shown]
    body = "".join(
        element(
            "tr", "".join(c.cell(row, f) for c, f in zip(shown, formats, strict=True))
        )
        for row in rows
    )
    parts = [
        element("thead", element("tr", "".join(_header(c) for c in shown))),
        element("tbody", body),
    ]
    if totals is not None:
        foot = element("th", "total", scope="row") + "".join(
            c.cell(totals, f) for c, f in zip(shown[1:], formats[1:], strict=True)
        )
        parts.append(element("tfoot", element("tr", foot)))
    title_id = "table-" + source.replace(".", "-")
    table = element(
        "table",
        "".join(parts),
        class_="sortable",
        data_table=source,
        aria_labelledby=title_id,
    )
    tall = len(rows) > TALL_ROWS
    note = (
        element("p", f"{len(rows)} rows; scroll the table for more.", class_="more")
        if tall
        else ""
    )
    return element(
        "div",
        element("h3", esc(caption), class_="table-title", id=title_id)
        + element("div", table, class_="table-wrap" + (" tall" if tall else ""))
        + note,
        class_="table-block",
    )
