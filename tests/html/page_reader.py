"""Reading back what the HTML page shows: figures, chart marks and table
cells, each with the exact value it carries and the text a reader sees."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser

# Elements with no end tag; every other element the page builds is closed.
VOID = {"meta", "link", "br", "img", "input", "hr", "col", "wbr"}


@dataclass
class Cell:
    column: str
    value: str | None
    """``data-value`` of a number cell; None for a text cell."""
    text: str = ""
    title: str | None = None
    """The whole text of a cell cut to fit (its tooltip)."""


@dataclass
class Table:
    source: str
    rows: list[list[Cell]] = field(default_factory=list)
    totals: list[Cell] = field(default_factory=list)


@dataclass
class Mark:
    """Anything on the page that carries a document value: a headline
    figure, a bar or point of a chart, a figure in a sentence."""

    key: str
    value: str
    tag: str
    text: str = ""
    """What a reader sees: a figure's number without its unit, a chart
    label's text; empty for a shape (a bar, a dot), whose value is drawn."""
    figure: str | None = None
    chart: str | None = None
    """The ``data-chart`` of the chart the mark is drawn in, if any."""


@dataclass
class _Open:
    tag: str
    mark: Mark | None = None
    cell: Cell | None = None
    figure: bool = False
    chart: str | None = None


class PageReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.marks: list[Mark] = []
        self.tables: list[Table] = []
        self.placeholders: list[str] = []
        self._part = ""
        self._open: list[_Open] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        here = _Open(tag, chart=found.get("data-chart") if tag == "svg" else None)
        if "data-key" in found:
            chart = next((o.chart for o in self._open if o.chart), None)
            key, value = str(found["data-key"]), str(found["data-value"])
            here.mark = Mark(key, value, tag, chart=chart)
            self.marks.append(here.mark)
        if tag == "span" and found.get("class") == "figure":
            here.figure = True
        if "data-placeholder" in found:
            self.placeholders.append(str(found["data-placeholder"]))
        if tag == "table":
            self.tables.append(Table(str(found["data-table"])))
        elif tag in ("tbody", "tfoot", "thead"):
            self._part = tag
        elif tag == "tr" and self._part == "tbody":
            self.tables[-1].rows.append([])
        elif tag in ("td", "th") and "data-col" in found:
            here.cell = Cell(
                str(found["data-col"]),
                found.get("data-value"),
                title=found.get("title"),
            )
        if tag not in VOID:
            self._open.append(here)

    def handle_data(self, data: str) -> None:
        in_figure = any(o.figure for o in self._open)
        in_title = any(o.tag == "title" for o in self._open)
        for opened in self._open:
            if opened.cell is not None:
                opened.cell.text += data
            mark = opened.mark
            if mark is None or in_title:
                continue
            mark.text += data
            if in_figure:
                mark.figure = (mark.figure or "") + data

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            opened = self._open.pop()
            if opened.cell is not None:
                table = self.tables[-1]
                target = table.totals if self._part == "tfoot" else table.rows[-1]
                target.append(opened.cell)
            if opened.tag == tag:
                break


def read_page(text: str) -> PageReader:
    reader = PageReader()
    reader.feed(text)
    reader.close()
    return reader


SUFFIXES = {"k": 3, "M": 6, "B": 9, "T": 12}
NUMBER = re.compile(r"^(<)?(-)?(\$)?([0-9][0-9,]*(?:\.([0-9]+))?)([kMBT%])?$")


@dataclass(frozen=True)
class Shown:
    """A number as the page shows it, and how far the true value may be from
    it given the places shown (half the last place)."""

    value: Decimal
    slack: Decimal
    below: bool = False
    """Shown as ``<$0.000001``: the value is above zero and below ``value``."""

    def agrees(self, exact: float) -> bool:
        true = Decimal(repr(float(exact)))
        if self.below:
            return 0 < abs(true) < self.value
        return abs(true - self.value) <= self.slack + Decimal("1e-12")


def shown_number(text: str) -> Shown | None:
    """``$2.57``, ``-$0.0101``, ``12.5%``, ``113.1M``, ``2,523``; None if the
    text is not a number (``unpriced``, ``—``)."""
    found = NUMBER.match(text.strip())
    if found is None:
        return None
    below, minus, _, digits, places, suffix = found.groups()
    value = Decimal(digits.replace(",", ""))
    slack = Decimal(5).scaleb(-len(places or "") - 1)
    scale = -2 if suffix == "%" else SUFFIXES.get(suffix or "", 0)
    value, slack = value.scaleb(scale), slack.scaleb(scale)
    return Shown(-value if minus else value, slack, below=bool(below))
