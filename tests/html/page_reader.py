"""Reading back what the HTML page shows: figures and table cells."""

from __future__ import annotations

from dataclasses import dataclass, field
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
        self.tables: list[Table] = []
        self.placeholders: list[str] = []
        self._part = ""
        self._cell: Cell | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "data-key" in found:
            self.figures[str(found["data-key"])] = str(found["data-value"])
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

    def handle_endtag(self, tag: str) -> None:
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
