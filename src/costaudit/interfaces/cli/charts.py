"""Small terminal charts: a sparkline and horizontal bars, sized to the width
they are given."""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal

from rich.cells import cell_len

from costaudit.interfaces.cli.tables import shorten

Number = Decimal | float | int | None

_LEVELS = "▁▂▃▄▅▆▇█"
_EIGHTHS = " ▏▎▍▌▋▊▉"
LABEL_MAX = 28
BAR_MAX = 40
BAR_MIN = 8


def sparkline(values: Sequence[Number]) -> str:
    """One cell per value; nothing spent is a blank, anything spent at least
    the lowest block, so a cheap day never reads as a gap."""
    numbers = [max(float(v or 0), 0.0) for v in values]
    top = max(numbers, default=0.0)
    cells = []
    for number in numbers:
        if number <= 0:
            cells.append(" ")
        else:
            level = math.ceil(number / top * len(_LEVELS)) - 1
            cells.append(_LEVELS[min(len(_LEVELS) - 1, max(0, level))])
    return "".join(cells)


def axis(first: str, last: str, length: int) -> str:
    """``first`` under the start of a ``length``-cell chart, ``last`` under
    its end; "first to last" when the chart is too short for both."""
    if first == last:
        return first
    gap = length - len(first) - len(last)
    if gap < 1:
        return f"{first} to {last}"
    return first + " " * gap + last


def bar(value: Number, top: Number, width: int) -> str:
    """A bar of up to ``width`` cells drawn in eighths; any value above 0
    shows at least a sliver."""
    if not top or not value or float(value) <= 0:
        return ""
    eighths = round(float(value) / float(top) * width * 8)
    full, part = divmod(max(1, min(eighths, width * 8)), 8)
    return "█" * full + (_EIGHTHS[part] if part else "")


def _pad(text: str, width: int) -> str:
    """``text`` filled with blanks to ``width`` terminal cells: a wide
    character (CJK, some symbols) takes two."""
    return text + " " * max(0, width - cell_len(text))


def bar_lines(
    labels: Sequence[str],
    figures: Sequence[str],
    values: Sequence[Number],
    width: int,
    indent: int = 2,
) -> list[str]:
    """One line per label: the label (cut with an ellipsis), its figure and
    a bar, all within ``width`` cells."""
    if not labels:
        return []
    label_width = min(LABEL_MAX, max(cell_len(label) for label in labels))
    figure_width = max(cell_len(figure) for figure in figures)
    fixed = indent + figure_width + 2
    # A narrow terminal takes cells from the labels before the bars vanish.
    label_width = max(4, min(label_width, width - fixed - BAR_MIN))
    bar_width = max(1, min(BAR_MAX, width - fixed - label_width))
    top = max((float(v) for v in values if v is not None), default=0.0)
    lines = []
    for label, figure, value in zip(labels, figures, values, strict=True):
        name = _pad(shorten(label, label_width), label_width)
        shown = " " * (figure_width - cell_len(figure)) + figure
        drawn = bar(value, top, bar_width)
        line = f"{' ' * indent}{name} {shown} {drawn}"
        lines.append(line.rstrip())
    return lines
