"""SVG pieces the charts share: the frame, text, legend and axes.

Colours come from the page's style sheet through classes (``c0`` to ``c7``),
so a chart follows the page's print and screen styles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from costaudit.interfaces.html.axes import Scale
from costaudit.interfaces.html.markup import Attribute, data_value, element, esc

WIDTH = 360
FONT = 12
CHAR_WIDTH = FONT * 0.6
COLOURS = 8
SVG_NS = "http://www.w3.org/2000/svg"


@dataclass(frozen=True)
class Datum:
    """Where a drawn value sits in the audit document, and its exact value
    there. A mark carries both as ``data-key`` and ``data-value``, the way
    the page's figures do, so that a chart can be checked against the JSON
    report as well as its tables."""

    key: str
    value: Any

    def attributes(self) -> dict[str, Attribute]:
        return {"data_key": self.key, "data_value": data_value(self.value)}


def datum_at(data: Sequence[Datum | None], index: int) -> dict[str, Attribute]:
    """The data attributes of value ``index``, or none if it has no source."""
    found = data[index] if index < len(data) else None
    return found.attributes() if found is not None else {}


def colour(index: int) -> str:
    return f"c{index % COLOURS}"


def frame(chart_id: str, title: str, description: str, height: float, body: str) -> str:
    """The ``<svg>`` element, titled and described for screen readers."""
    head = element("title", esc(title), id=f"{chart_id}-title") + element(
        "desc", esc(description), id=f"{chart_id}-desc"
    )
    return element(
        "svg",
        head + body,
        xmlns=SVG_NS,
        class_="chart",
        viewBox=f"0 0 {WIDTH} {round(height)}",
        role="img",
        aria_labelledby=f"{chart_id}-title {chart_id}-desc",
        data_chart=chart_id,
    )


def text(x: float, y: float, content: str, **values: Attribute) -> str:
    return element("text", esc(content), x=round(x, 2), y=round(y, 2), **values)


def rect(
    x: float, y: float, width: float, height: float, tip: str, **values: Attribute
) -> str:
    """A rectangle whose tooltip (``<title>``) states its value."""
    return element(
        "rect",
        element("title", esc(tip)),
        x=round(x, 2),
        y=round(y, 2),
        width=round(max(width, 0.0), 2),
        height=round(max(height, 0.0), 2),
        **values,
    )


def line(x1: float, y1: float, x2: float, y2: float, **values: Attribute) -> str:
    return element("line", x1=x1, y1=y1, x2=x2, y2=y2, **values)


def clip(label: str, width: float) -> str:
    """``label`` cut to fit ``width`` units, ending in an ellipsis if cut."""
    room = max(3, int(width / CHAR_WIDTH))
    return label if len(label) <= room else label[: room - 1] + "…"


def swatch(kind: str, x: float, y: float, index: int, name: str) -> str:
    """The key's mark for a series: a box for bars, a stroke for a line (a
    dashed one for a dashed line), a ring for marked points."""
    style = f"{colour(index)} swatch-{kind}"
    tip = element("title", esc(name))
    if kind in ("line", "dash"):
        return element("line", tip, x1=x, y1=y + 7, x2=x + 14, y2=y + 7, class_=style)
    if kind == "ring":
        # Rings take each line's colour, so the key's ring is neutral.
        return element("circle", tip, cx=x + 6, cy=y + 7, r=4, class_="swatch-ring")
    return rect(x, y + 2, 12, 10, name, class_=style)


def legend(
    names: Sequence[str], top: float, kinds: Sequence[str] = ()
) -> tuple[str, float]:
    """Swatches and names in rows across the width; returns the height used."""
    parts, x, y = [], 8.0, top
    for index, name in enumerate(names):
        label = clip(name, WIDTH / 2)
        width = 18 + len(label) * CHAR_WIDTH + 14
        if x + width > WIDTH and x > 8:
            x, y = 8.0, y + FONT + 6
        kind = kinds[index] if index < len(kinds) else "box"
        parts.append(swatch(kind, x, y, index, name))
        parts.append(text(x + 18, y + 11, label, class_="legend"))
        x += width
    return element("g", "".join(parts), class_="legend"), y + FONT + 10 - top


def tick_text(
    x: float, y: float, label: str, size: float = FONT, left: float = 2
) -> str:
    """A tick label centred on ``x``, or held inside the frame at either edge
    so that the first and last labels are never cut off. Nothing starts
    left of ``left``: at a plot's corner the first label of the axis below
    starts there, clear of the lowest label of the axis on the left."""
    half = len(label) * size * 0.33
    if x + half > WIDTH - 2:
        return text(WIDTH - 2, y, label, class_="tick", text_anchor="end")
    if x - half < left:
        return text(max(2, left), y, label, class_="tick", text_anchor="start")
    return text(x, y, label, class_="tick", text_anchor="middle")


def value_axis_below(
    scale: Scale,
    ticks: Sequence[float],
    label: Callable[[float], str],
    top: float,
    bottom: float,
) -> str:
    """Vertical grid lines at ``ticks`` and their labels under the plot."""
    parts = []
    for tick in ticks:
        x = scale(tick)
        parts.append(line(x, top, x, bottom, class_="grid"))
        parts.append(tick_text(x, bottom + FONT + 2, label(tick)))
    return element("g", "".join(parts), class_="axis")


def value_axis_left(
    scale: Scale,
    ticks: Sequence[float],
    label: Callable[[float], str],
    left: float,
    right: float,
) -> str:
    """Horizontal grid lines at ``ticks`` and their labels left of the plot,
    each centred on its line."""
    parts = []
    for tick in ticks:
        y = scale(tick)
        parts.append(line(left, y, right, y, class_="grid"))
        parts.append(
            text(left - 6, y + FONT / 3, label(tick), class_="tick", text_anchor="end")
        )
    return element("g", "".join(parts), class_="axis")


def axis_title(x: float, y: float, content: str, vertical: bool = False) -> str:
    if vertical:
        return text(
            x,
            y,
            content,
            class_="axis-title",
            text_anchor="middle",
            transform=f"rotate(-90 {round(x, 2)} {round(y, 2)})",
        )
    return text(x, y, content, class_="axis-title", text_anchor="middle")
