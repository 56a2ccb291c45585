"""Reading back what the HTML page shows: figures and table cells."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser


@dataclass
class Cell:
    column: str
    value: str | None
    """``data-value`` of a number cell; None for a text cell."""
    text: str = ""


@dataclass
class Table:
    source: str
    rows: list[list[Cell]] = field(default_factory=list)
    totals: list[Cell] = field(default_factory=list)


class PageReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self.figure_texts: dict[str, str] = {}
        """What a reader sees of each figure (its number, without the unit)."""
        self.tables: list[Table] = []
        self.placeholders: list[str] = []
        self._part = ""
        self._cell: Cell | None = None
        self._key = ""
        self._in_figure = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "data-key" in found:
            self._key = str(found["data-key"])
            self.figures[self._key] = str(found["data-value"])
        if tag == "span" and found.get("class") == "figure":
            self._in_figure = True
            self.figure_texts[self._key] = ""
        if "data-placeholder" in found:
            self.placeholders.append(str(found["data-placeholder"]))
        if tag == "table":
            self.tables.append(Table(str(found["data-table"])))
        elif tag in ("tbody", "tfoot", "thead"):
            self._part = tag
        elif tag == "tr" and self._part == "tbody":
            self.tables[-1].rows.append([])
        elif tag in ("td", "th") and "data-col" in found:
            self._cell = Cell(str(found["data-col"]), found.get("data-value"))

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.text += data
        if self._in_figure:
            self.figure_texts[self._key] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._in_figure = False
        if tag in ("td", "th") and self._cell is not None:
            table = self.tables[-1]
            target = table.totals if self._part == "tfoot" else table.rows[-1]
            target.append(self._cell)
            self._cell = None


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
    """Shown as ``<$0.0001``: the value is above zero and below ``value``."""

    def agrees(self, exact: float) -> bool:
        true = Decimal(repr(exact))
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
