"""Line charts: budgets over the days of their period, and monthly cost
against monthly volume for the break-even.

Beside the lines a chart can hold horizontal rules (a limit), vertical
markers, numbered crossings explained in notes under the plot, and rings
that mark single points (your volume on each model).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from costaudit.interfaces.html.axes import (
    Scale,
    day_ticks,
    log_money_tick,
    log_ticks,
    nice_ticks,
)
from costaudit.interfaces.html.drawing import (
    CHAR_WIDTH,
    FONT,
    Datum,
    axis_title,
    colour,
    datum_at,
    frame,
    line,
    text,
    tick_text,
    value_axis_left,
)
from costaudit.interfaces.html.markup import element, esc, money
from costaudit.interfaces.html.svg import LEFT, PLOT_HEIGHT, RIGHT, dollars, top_legend

NOTE_FONT = 11.0
DOT = 2.5
LONE_DOT = 4.5
"""A line of one point has no stroke to see, so its dot is drawn larger."""
CROSSING_DOT = 4.5
LABEL_HEIGHT = 10.0
LABEL_CHAR = 6.5


@dataclass(frozen=True)
class Line:
    """A named series of (x, y) points; ``data`` says where each point is in
    the document. A line that continues another (a forecast from the last
    day spent) leaves its first dot to that one: ``start_mark`` False."""

    name: str
    points: Sequence[tuple[float, float]]
    dashed: bool = False
    data: Sequence[Datum | None] = ()
    start_mark: bool = True


@dataclass(frozen=True)
class Rule:
    """A reference line across the plot at ``value``, named ``label``."""

    value: float
    label: str


@dataclass(frozen=True)
class Crossing:
    """Where line ``line`` crosses another: a numbered dot and a note."""

    x: float
    y: float
    note: str
    line: int
    datum: Datum | None = None


@dataclass(frozen=True)
class Spot:
    """One point marked on line ``line`` with a ring, and what it is."""

    x: float
    y: float
    line: int
    tip: str
    datum: Datum | None = None


@dataclass(frozen=True)
class Overlays:
    """What is drawn over the lines; ``spots_name`` names the rings in the
    key."""

    rules: Sequence[Rule] = ()
    markers: Sequence[Rule] = ()
    crossings: Sequence[Crossing] = ()
    spots: Sequence[Spot] = ()
    spots_name: str = ""


@dataclass(frozen=True)
class XAxis:
    """What the x values of a line chart are: days (ordinals) or a count.

    ``domain`` narrows a count axis to part of the lines' range.
    """

    title: str
    tick_label: Callable[[float], str]
    days: bool = False
    log: bool = False
    domain: tuple[float, float] | None = None


@dataclass(frozen=True)
class YAxis:
    """What the y values are: US dollars unless told otherwise.

    ``tick_label`` None labels ticks in dollars at the ticks' precision;
    ``value_label`` states a point's value in its tooltip.
    """

    title: str = "US dollars"
    tick_label: Callable[[float], str] | None = None
    value_label: Callable[[float], str] = field(default=money)
    log: bool = False
    floor: float | None = None
    """The lowest value a log axis shows; lines below it are cut off."""


@dataclass(frozen=True)
class Plot:
    """A line chart's scales and where its plot area lies: ``left`` leaves
    room for the widest label of the value axis."""

    x: Scale
    y: Scale
    top: float
    bottom: float
    left: float


def line_chart(
    chart_id: str,
    title: str,
    lines: Sequence[Line],
    x_axis: XAxis,
    y_axis: YAxis | None = None,
    overlays: Overlays | None = None,
) -> str:
    """Lines against days or a count, with what ``overlays`` adds."""
    y_axis = y_axis or YAxis()
    extra = overlays or Overlays()
    names = [one.name for one in lines]
    kinds = ["dash" if one.dashed else "line" for one in lines]
    if extra.spots and extra.spots_name:
        names.append(extra.spots_name)
        kinds.append("ring")
    key, top = top_legend(names, kinds)
    x_scale, x_ticks = _x_scale(lines, extra.markers, x_axis)
    lines = [_within(one, x_scale) for one in lines]
    spots = [s for s in extra.spots if x_scale.low <= s.x <= x_scale.high]
    ys = [y for one in lines for _, y in one.points] + [r.value for r in extra.rules]
    y_scale, y_ticks = _y_scale(ys, y_axis, top + PLOT_HEIGHT, top)
    labels = y_axis.tick_label or (log_money_tick if y_axis.log else dollars(y_ticks))
    # The value axis's title sits at the frame's edge; its labels end 6
    # units left of the plot, so the plot starts where the widest one fits.
    widest = max((len(labels(t)) for t in y_ticks), default=0) * CHAR_WIDTH * 0.95
    left = max(LEFT, round(25 + widest, 1))
    x_scale = replace(x_scale, start=left)
    plot = Plot(x_scale, y_scale, top, top + PLOT_HEIGHT, left)
    parts = [value_axis_left(y_scale, y_ticks, labels, left, RIGHT)]
    parts.append(_count_axis(plot, x_ticks, x_axis.tick_label))
    parts += [_rule(plot, rule) for rule in extra.rules]
    parts += [_marker(plot, marker) for marker in extra.markers]
    parts.append(_series(chart_id, plot, lines, (x_axis, y_axis), spots))
    parts.append(_crossings(plot, extra.crossings, spots))
    bottom = plot.bottom + 2 * FONT + 10
    parts.append(axis_title((left + RIGHT) / 2, bottom, x_axis.title))
    parts.append(axis_title(14, (top + plot.bottom) / 2, y_axis.title, vertical=True))
    notes, used = _crossing_notes(extra.crossings, bottom + 8)
    description = ", ".join(one.name for one in lines)
    body = key + "".join(parts) + notes
    return frame(chart_id, title, description, bottom + 6 + used, body)


def _series(
    chart_id: str,
    plot: Plot,
    lines: Sequence[Line],
    axes: tuple[XAxis, YAxis],
    spots: Sequence[Spot],
) -> str:
    """The lines and rings, clipped to the plot (and a dot's width around
    it): a value axis that starts above a line's lowest values cuts the line
    at its edge rather than drawing it over the labels."""
    clip_id = f"{chart_id}-plot"
    edge = LONE_DOT + 2
    area = element(
        "clipPath",
        element(
            "rect",
            x=plot.left - edge,
            y=plot.top - edge,
            width=round(RIGHT - plot.left + 2 * edge, 2),
            height=plot.bottom - plot.top + 2 * edge,
        ),
        id=clip_id,
    )
    drawn = [_polyline(one, i, plot, *axes) for i, one in enumerate(lines)]
    drawn += [_spot(plot, spot) for spot in spots]
    return area + element("g", "".join(drawn), clip_path=f"url(#{clip_id})")


def _count_axis(
    plot: Plot, ticks: Sequence[float], label: Callable[[float], str]
) -> str:
    parts = []
    for tick in ticks:
        x = plot.x(tick)
        parts.append(line(x, plot.bottom, x, plot.bottom + 4, class_="tick-mark"))
        parts.append(
            tick_text(x, plot.bottom + FONT + 6, label(tick), left=plot.left - 2)
        )
    return element("g", "".join(parts), class_="axis")


def _rule(plot: Plot, rule: Rule) -> str:
    y = plot.y(rule.value)
    return line(plot.left, y, RIGHT, y, class_="rule") + text(
        RIGHT, y - 4, rule.label, class_="rule-label", text_anchor="end"
    )


def _marker(plot: Plot, marker: Rule) -> str:
    x = plot.x(marker.value)
    right = x > (plot.left + RIGHT) / 2
    label = text(
        x - 4 if right else x + 4,
        plot.top + FONT,
        marker.label,
        class_="rule-label",
        text_anchor="end" if right else "start",
    )
    return line(x, plot.top, x, plot.bottom, class_="rule") + label


def _spot(plot: Plot, spot: Spot) -> str:
    source = spot.datum.attributes() if spot.datum is not None else {}
    return element(
        "circle",
        element("title", esc(spot.tip)),
        cx=plot.x(spot.x),
        cy=plot.y(spot.y),
        r=5,
        class_=f"{colour(spot.line)} spot",
        **source,
    )


Box = tuple[float, float, float, float]
"""left, top, right, bottom"""


def _overlaps(one: Box, other: Box) -> bool:
    return not (
        one[2] <= other[0] or other[2] <= one[0] or one[3] <= other[1]
        or other[3] <= one[1]
    )  # fmt: skip


def _label_box(x: float, y: float, label: str) -> Box:
    half = len(label) * LABEL_CHAR / 2
    return (x - half - 1, y - LABEL_HEIGHT, x + half + 1, y + 1)


def _label_places(x: float, y: float) -> list[tuple[float, float]]:
    """Where a crossing's number may go, nearest first: above, below, then
    further out and to either side."""
    below = y + CROSSING_DOT + LABEL_HEIGHT + 2
    above = y - CROSSING_DOT - 3
    side = y + LABEL_HEIGHT / 2 - 1
    return [
        (x, above),
        (x, below),
        (x + 12, side),
        (x - 12, side),
        (x, above - 11),
        (x, below + 11),
        (x + 12, above - 4),
        (x - 12, below + 4),
    ]


def _crossings(plot: Plot, crossings: Sequence[Crossing], spots: Sequence[Spot]) -> str:
    """Each crossing's dot and number; a number goes where it covers no dot,
    ring or other number, so that close crossings stay readable."""
    points = [(plot.x(c.x), plot.y(c.y)) for c in crossings]
    points += [(plot.x(s.x), plot.y(s.y)) for s in spots]
    taken: list[Box] = [(x - 5, y - 5, x + 5, y + 5) for x, y in points]
    parts = []
    for number, crossing in enumerate(crossings, 1):
        x, y = plot.x(crossing.x), plot.y(crossing.y)
        source = crossing.datum.attributes() if crossing.datum is not None else {}
        parts.append(
            element(
                "circle",
                element("title", esc(f"{number}: {crossing.note}")),
                cx=x,
                cy=y,
                r=CROSSING_DOT,
                class_=f"{colour(crossing.line)} crossing",
                **source,
            )
        )
        label = str(number)
        places = _label_places(x, y)
        free = [
            (px, py)
            for px, py in places
            if plot.top <= py - LABEL_HEIGHT
            and not any(_overlaps(_label_box(px, py, label), b) for b in taken)
        ]
        px, py = (free or places)[0]
        taken.append(_label_box(px, py, label))
        parts.append(text(px, py, label, class_="crossing-label", text_anchor="middle"))
    return "".join(parts)


def _crossing_notes(crossings: Sequence[Crossing], top: float) -> tuple[str, float]:
    """One line per crossing under the chart: its number and what it means."""
    parts = []
    for number, crossing in enumerate(crossings, 1):
        y = top + (number - 1) * (NOTE_FONT + 5) + NOTE_FONT
        parts.append(
            element(
                "circle", cx=12, cy=round(y - 4, 2), r=4, class_=colour(crossing.line)
            )
            + text(22, y, f"{number} {crossing.note}", class_="crossing-note")
        )
    used = len(crossings) * (NOTE_FONT + 5) + (4 if crossings else 0)
    return element("g", "".join(parts), class_="notes") if parts else "", used


def _x_scale(
    lines: Sequence[Line], markers: Sequence[Rule], axis: XAxis
) -> tuple[Scale, list[float]]:
    xs = [x for one in lines for x, _ in one.points] + [m.value for m in markers]
    low, high = axis.domain or (min(xs, default=0.0), max(xs, default=1.0))
    if axis.days:
        first, last = date.fromordinal(int(low)), date.fromordinal(int(high))
        ticks = [float(d.toordinal()) for d in day_ticks(first, last)]
        # Half a day either side: the first day's dot and label stand clear
        # of the axis on the left, and the last day's of the frame.
        return Scale(low - 0.5, high + 0.5, LEFT, RIGHT), ticks
    if axis.log and low > 0:
        ticks = log_ticks(low, high)
        return Scale(ticks[0], ticks[-1], LEFT, RIGHT, log=True), ticks
    ticks = nice_ticks(min(0.0, low), high, 5)
    return Scale(ticks[0], ticks[-1], LEFT, RIGHT), ticks


def _within(one: Line, scale: Scale) -> Line:
    """The points of ``one`` inside the x range the chart shows."""
    slack = (scale.high - scale.low) * 1e-9
    kept = [
        i
        for i, (x, _) in enumerate(one.points)
        if scale.low - slack <= x <= scale.high + slack
    ]
    data = [one.data[i] if i < len(one.data) else None for i in kept]
    start_mark = one.start_mark or (bool(kept) and kept[0] > 0)
    return Line(one.name, [one.points[i] for i in kept], one.dashed, data, start_mark)


def _y_scale(
    ys: Sequence[float], axis: YAxis, bottom: float, top: float
) -> tuple[Scale, list[float]]:
    positive = [y for y in ys if y > 0 and (axis.floor is None or y >= axis.floor)]
    if axis.floor is not None:
        positive.append(axis.floor)
    if axis.log and positive:
        ticks = log_ticks(min(positive), max(positive))
        return Scale(ticks[0], ticks[-1], bottom, top, log=True), ticks
    ticks = nice_ticks(min([0.0, *ys]), max([0.0, *ys]), 4)
    return Scale(ticks[0], ticks[-1], bottom, top), ticks


def _polyline(one: Line, index: int, plot: Plot, x_axis: XAxis, y_axis: YAxis) -> str:
    points = " ".join(f"{plot.x(x)},{plot.y(y)}" for x, y in one.points)
    style = f"{colour(index)} series-line" + (" dashed" if one.dashed else "")
    radius = LONE_DOT if len(one.points) == 1 else DOT
    marks = "".join(
        element(
            "circle",
            element(
                "title",
                esc(f"{one.name}: {x_axis.tick_label(x)}, {y_axis.value_label(y)}"),
            ),
            cx=plot.x(x),
            cy=plot.y(y),
            r=radius,
            class_=colour(index),
            **datum_at(one.data, number),
        )
        for number, (x, y) in enumerate(one.points)
        if number or one.start_mark
    )
    return element("polyline", points=points, class_=style) + marks
