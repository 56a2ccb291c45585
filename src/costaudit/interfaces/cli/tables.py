"""Tables that fit the terminal.

A name is cut with an ellipsis, never folded over several lines; figures
keep their full width. When the row is still too wide, the columns marked
optional are left out, the least important first, and a line under the
table says which ones and how to see them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from costaudit.interfaces.cli.columns import Column
from costaudit.interfaces.cli.text import Lines

# Below this a cut name says too little to be worth the ellipsis.
NAME_FLOOR = 5
ELLIPSIS = "…"


def cell_width(text: str) -> int:
    return max((cell_len(line) for line in text.split("\n")), default=0)


def shorten(text: str, width: int, keep_end: bool = False) -> str:
    """``text`` in at most ``width`` cells a line, an ellipsis where cut."""
    lines = []
    for line in text.split("\n"):
        if cell_len(line) <= width:
            lines.append(line)
        elif keep_end:
            tail = set_cell_size(line[::-1], width - 1)[::-1]
            lines.append(ELLIPSIS + tail.lstrip())
        else:
            lines.append(set_cell_size(line, width - 1).rstrip() + ELLIPSIS)
    return "\n".join(lines)


@dataclass(frozen=True)
class Layout:
    """The columns kept, their widths, and the ones left out."""

    kept: list[int]
    widths: dict[int, int]
    dropped: list[int]


def overhead(columns: int) -> int:
    # One edge cell on each side and two cells between neighbours.
    return 2 * columns


def layout(columns: Sequence[Column], natural: Sequence[int], room: int) -> Layout:
    """Choose columns and widths so a row fits in ``room`` cells."""
    least = [_least(c, w) for c, w in zip(columns, natural, strict=True)]
    kept = list(range(len(columns)))
    optional = sorted(
        (i for i, c in enumerate(columns) if c.optional),
        key=lambda i: (-columns[i].optional, -i),
    )
    dropped: list[int] = []
    for i in optional:
        if sum(least[k] for k in kept) + overhead(len(kept)) <= room:
            break
        kept.remove(i)
        dropped.append(i)
    widths = {i: least[i] for i in kept}
    spare = room - sum(widths.values()) - overhead(len(kept))
    if spare < 0:
        _squeeze(widths, columns, -spare)
    else:
        caps = {i: _most(columns[i], natural[i]) for i in kept}
        _share(widths, caps, spare)
    return Layout(kept, widths, sorted(dropped))


def _least(column: Column, natural: int) -> int:
    if not column.cut:
        return natural
    return max(cell_len(column.label), min(natural, column.min_width))


def _most(column: Column, natural: int) -> int:
    if not column.cut:
        return natural
    return max(_least(column, natural), min(natural, column.max_width))


def _share(widths: dict[int, int], caps: dict[int, int], spare: int) -> None:
    """Give the spare cells to the narrowed names, evenly, up to their caps."""
    while spare > 0:
        growing = [i for i in widths if widths[i] < caps[i]]
        if not growing:
            return
        step = max(1, spare // len(growing))
        for i in growing:
            grant = min(step, caps[i] - widths[i], spare)
            widths[i] += grant
            spare -= grant


def _squeeze(widths: dict[int, int], columns: Sequence[Column], excess: int) -> None:
    """A terminal too narrow even without the optional columns: cut the
    widest names further, down to a few cells and their header."""
    while excess > 0:
        names = [
            i
            for i in widths
            if columns[i].cut
            and widths[i] > max(NAME_FLOOR, cell_len(columns[i].label))
        ]
        if not names:
            return
        widest = max(names, key=lambda i: widths[i])
        widths[widest] -= 1
        excess -= 1


class FittedTable:
    """Rows under a title, laid out for the width the console offers."""

    def __init__(
        self,
        title: str | None,
        rows: Sequence[dict[str, Any]],
        columns: Sequence[Column],
        totals: dict[str, Any] | None = None,
    ) -> None:
        self.title = title
        self.columns = list(columns)
        self.cells = [[c.render(row.get(c.key)) for c in columns] for row in rows]
        self.footers = None if totals is None else _footers(columns, totals)

    def natural_widths(self) -> list[int]:
        widths = []
        for i, column in enumerate(self.columns):
            texts = [row[i] for row in self.cells] + [column.label]
            if self.footers is not None:
                texts.append(self.footers[i])
            widths.append(max(cell_width(t) for t in texts))
        return widths

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> RenderResult:
        width = options.max_width
        if self.title:
            yield Text(self.title, style="bold")
        plan = layout(self.columns, self.natural_widths(), width)
        lines = [
            _rstrip(line)
            for line in console.render_lines(self._table(plan), options, pad=False)
        ]
        # The box's blank bottom edge goes: callers space their sections.
        while lines and not lines[-1]:
            lines.pop()
        for line in lines:
            yield from line
            yield Segment.line()
        if plan.dropped:
            left_out = ", ".join(
                " ".join(self.columns[i].label.split()) for i in plan.dropped
            )
            yield Lines(
                f"(left out to fit {width} columns: {left_out}; "
                "--format json or csv shows all)",
                indent=1,
                style="dim",
            )

    def _table(self, plan: Layout) -> Table:
        result = Table(
            show_footer=self.footers is not None,
            box=box.SIMPLE_HEAD,
            pad_edge=False,
            collapse_padding=True,
        )
        for i in plan.kept:
            column, width = self.columns[i], plan.widths[i]
            result.add_column(
                column.label,
                footer=self._cut(i, self.footers[i], width) if self.footers else "",
                justify="right" if column.numeric else "left",
                no_wrap=True,
                overflow="ellipsis",
                width=width,
            )
        for row in self.cells:
            result.add_row(*(self._cut(i, row[i], plan.widths[i]) for i in plan.kept))
        return result

    def _cut(self, index: int, value: str, width: int) -> Text:
        # Text, not a markup string: names from logs may hold [brackets].
        column = self.columns[index]
        if column.cut:
            value = shorten(value, width, column.keep_end)
        return Text(value)


def _footers(columns: Sequence[Column], totals: dict[str, Any]) -> list[str]:
    footers = []
    for column in columns:
        value = totals.get(column.key)
        shown = value is not None or column.numeric
        footers.append(column.render(value) if shown else "")
    footers[0] = "total"
    return footers


def _rstrip(line: Iterable[Segment]) -> list[Segment]:
    """The line without trailing blanks, which only pad mail and files."""
    segments = list(line)
    while segments and not segments[-1].control:
        last = segments[-1]
        text = last.text.rstrip(" ")
        if text:
            segments[-1] = Segment(text, last.style, last.control)
            break
        segments.pop()
    return segments


def table(
    title: str | None,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[Column],
    totals: dict[str, Any] | None = None,
) -> FittedTable:
    return FittedTable(title, rows, columns, totals)
