"""The charts of the HTML audit, each drawn as one inline SVG string.

Bar charts and the waterfall run horizontally, so long task and strategy
names stay readable on a phone; spend per day and lines over time run
vertically. Every chart has a ``<title>``, a ``<desc>``, axis titles with
units, and a tooltip on each mark that states its value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from costaudit.interfaces.html.axes import (
    Scale,
    day_label,
    day_ticks,
    log_money_tick,
    log_ticks,
    money_tick,
    nice_ticks,
)
from costaudit.interfaces.html.drawing import (
    FONT,
    WIDTH,
    axis_title,
    clip,
    colour,
    frame,
    legend,
    line,
    rect,
    text,
    tick_text,
    value_axis_below,
    value_axis_left,
)
from costaudit.interfaces.html.markup import element, money

BARS_LEFT = 22.0
VALUE_ROOM = 64.0
PLOT_HEIGHT = 200.0
LEFT = 56.0
RIGHT = WIDTH - 14.0
NOTE_FONT = 11.0


@dataclass(frozen=True)
class Series:
    """Values of one named series, one per category (None: unpriced)."""

    name: str
    values: Sequence[float | None]


@dataclass(frozen=True)
class Line:
    name: str
    points: Sequence[tuple[float, float]]
    dashed: bool = False


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


def dollars(ticks: Sequence[float]) -> Callable[[float], str]:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return lambda value: money_tick(value, step)


def _top_legend(names: Sequence[str], kinds: Sequence[str] = ()) -> tuple[str, float]:
    if len(names) < 2 and not kinds:
        return "", 8.0
    key, used = legend(names, 8.0, kinds)
    return key, 8.0 + used


def _row_label(y: float, label: str) -> str:
    """A bar's name on its own line above it, so long names fit a phone."""
    return text(BARS_LEFT, y + FONT, clip(label, WIDTH - BARS_LEFT), class_="label")


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    value_title: str = "US dollars",
) -> str:
    """Horizontal bars in US dollars, one group per label, one bar per series.

    With several series the bars are thinner, so a group stays compact.
    """
    key, top = _top_legend([s.name for s in series])
    pitch = 14.0 if len(series) == 1 else 11.0
    band = FONT + 10 + pitch * len(series)
    bottom = top + band * len(labels)
    known = [v for s in series for v in s.values if v is not None]
    ticks = nice_ticks(min([0.0, *known]), max([0.0, *known]), 5)
    scale = Scale(ticks[0], ticks[-1], BARS_LEFT, WIDTH - VALUE_ROOM)
    parts = [value_axis_below(scale, ticks, dollars(ticks), top, bottom)]
    for row, label in enumerate(labels):
        y = top + row * band
        parts.append(_row_label(y, label))
        for index, one in enumerate(series):
            mark = Mark(y + FONT + 5 + pitch * index, pitch - 2, index)
            parts.append(_bar(scale, mark, label, one, one.values[row]))
    middle = (scale.start + scale.end) / 2
    parts.append(axis_title(middle, bottom + 2 * FONT + 8, value_title))
    description = f"{len(labels)} rows: " + ", ".join(s.name for s in series)
    height = bottom + 2 * FONT + 14
    return frame(chart_id, title, description, height, key + "".join(parts))


@dataclass(frozen=True)
class Mark:
    """Where one bar goes: its top, its thickness and its series."""

    y: float
    size: float
    index: int


def _bar(
    scale: Scale, mark: Mark, label: str, series: Series, value: float | None
) -> str:
    start = scale(0.0)
    middle = mark.y + mark.size / 2 + 3.5
    if value is None:
        return text(start + 4, middle, "unpriced", class_="note")
    end = scale(value)
    tip = f"{label}, {series.name}: {money(value)}"
    bar = rect(
        min(start, end),
        mark.y,
        abs(end - start),
        mark.size,
        tip,
        class_=colour(mark.index),
    )
    return bar + text(max(start, end) + 4, middle, money(value), class_="value")


def stacked_bar_chart(
    chart_id: str, title: str, days: Sequence[date], series: Sequence[Series]
) -> str:
    """Spend per day, one bar a day, stacked by series, in US dollars."""
    key, top = _top_legend([s.name for s in series])
    bottom = top + PLOT_HEIGHT
    totals = [sum(s.values[i] or 0.0 for s in series) for i in range(len(days))]
    ticks = nice_ticks(0.0, max([0.0, *totals]), 4)
    y_scale = Scale(ticks[0], ticks[-1], bottom, top)
    parts = [value_axis_left(y_scale, ticks, dollars(ticks), LEFT, RIGHT)]
    slot = (RIGHT - LEFT) / max(1, len(days))
    for i, day in enumerate(days):
        base = 0.0
        for index, one in enumerate(series):
            value = one.values[i] or 0.0
            if value <= 0:
                continue
            low, high = y_scale(base), y_scale(base + value)
            tip = f"{day.isoformat()}, {one.name}: {money(value)}"
            x = LEFT + i * slot + slot * 0.1
            parts.append(
                rect(x, high, slot * 0.8, low - high, tip, class_=colour(index))
            )
            base += value
    parts.append(_day_axis(days[0], days[-1], LEFT + slot / 2, slot, bottom))
    parts.append(axis_title(14, (top + bottom) / 2, "US dollars a day", vertical=True))
    return frame(
        chart_id,
        title,
        f"{len(days)} days",
        bottom + 2 * FONT + 10,
        key + "".join(parts),
    )


def _day_axis(first: date, last: date, start: float, slot: float, y: float) -> str:
    parts = []
    for day in day_ticks(first, last):
        x = start + (day - first).days * slot
        parts.append(line(x, y, x, y + 4, class_="tick-mark"))
        parts.append(tick_text(x, y + FONT + 4, day_label(day)))
    return element("g", "".join(parts), class_="axis")


@dataclass(frozen=True)
class Plot:
    """A line chart's scales and where its plot area lies."""

    x: Scale
    y: Scale
    top: float
    bottom: float


def line_chart(
    chart_id: str,
    title: str,
    lines: Sequence[Line],
    x_axis: XAxis,
    y_axis: YAxis | None = None,
    rules: Sequence[Rule] = (),
    markers: Sequence[Rule] = (),
    crossings: Sequence[Crossing] = (),
) -> str:
    """Lines against days or a count, with reference lines.

    ``rules`` are horizontal (a limit), ``markers`` vertical (your volume),
    ``crossings`` numbered dots explained in notes under the chart.
    """
    y_axis = y_axis or YAxis()
    kinds = ["dash" if one.dashed else "line" for one in lines]
    key, top = _top_legend([one.name for one in lines], kinds)
    x_scale, x_ticks = _x_scale(lines, markers, x_axis)
    lines = [_within(one, x_scale) for one in lines]
    ys = [y for one in lines for _, y in one.points] + [r.value for r in rules]
    y_scale, y_ticks = _y_scale(ys, y_axis, top + PLOT_HEIGHT, top)
    plot = Plot(x_scale, y_scale, top, top + PLOT_HEIGHT)
    labels = y_axis.tick_label or (log_money_tick if y_axis.log else dollars(y_ticks))
    parts = [value_axis_left(y_scale, y_ticks, labels, LEFT, RIGHT)]
    parts.append(_count_axis(plot, x_ticks, x_axis.tick_label))
    parts += [_rule(plot, rule) for rule in rules]
    parts += [_marker(plot, marker) for marker in markers]
    for index, one in enumerate(lines):
        parts.append(_polyline(one, index, plot, x_axis, y_axis))
    parts += [_crossing(plot, number, c) for number, c in enumerate(crossings, 1)]
    bottom = plot.bottom + 2 * FONT + 8
    parts.append(axis_title((LEFT + RIGHT) / 2, bottom, x_axis.title))
    parts.append(axis_title(14, (top + plot.bottom) / 2, y_axis.title, vertical=True))
    notes, used = _crossing_notes(crossings, bottom + 8)
    description = ", ".join(one.name for one in lines)
    body = key + "".join(parts) + notes
    return frame(chart_id, title, description, bottom + 6 + used, body)


def _count_axis(
    plot: Plot, ticks: Sequence[float], label: Callable[[float], str]
) -> str:
    parts = []
    for tick in ticks:
        x = plot.x(tick)
        parts.append(line(x, plot.bottom, x, plot.bottom + 4, class_="tick-mark"))
        parts.append(tick_text(x, plot.bottom + FONT + 4, label(tick)))
    return element("g", "".join(parts), class_="axis")


def _rule(plot: Plot, rule: Rule) -> str:
    y = plot.y(rule.value)
    return line(LEFT, y, RIGHT, y, class_="rule") + text(
        RIGHT, y - 4, rule.label, class_="rule-label", text_anchor="end"
    )


def _marker(plot: Plot, marker: Rule) -> str:
    x = plot.x(marker.value)
    right = x > (LEFT + RIGHT) / 2
    label = text(
        x - 4 if right else x + 4,
        plot.top + FONT,
        marker.label,
        class_="rule-label",
        text_anchor="end" if right else "start",
    )
    return line(x, plot.top, x, plot.bottom, class_="rule") + label


def _crossing(plot: Plot, number: int, crossing: Crossing) -> str:
    x, y = plot.x(crossing.x), plot.y(crossing.y)
    dot = element(
        "circle",
        element("title", f"{number}: {crossing.note}"),
        cx=x,
        cy=y,
        r=4.5,
        class_=f"{colour(crossing.line)} crossing",
    )
    # Alternate above and below the line, so that close crossings stay apart.
    label_y = y - 8 if number % 2 else y + 8 + FONT * 0.7
    return dot + text(
        x, label_y, str(number), class_="crossing-label", text_anchor="middle"
    )


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
        return Scale(low, max(high, low + 1), LEFT, RIGHT), ticks
    if axis.log and low > 0:
        ticks = log_ticks(low, high)
        return Scale(ticks[0], ticks[-1], LEFT, RIGHT, log=True), ticks
    ticks = nice_ticks(min(0.0, low), high, 5)
    return Scale(ticks[0], ticks[-1], LEFT, RIGHT), ticks


def _within(one: Line, scale: Scale) -> Line:
    """The points of ``one`` inside the x range the chart shows."""
    slack = (scale.high - scale.low) * 1e-9
    kept = [
        (x, y) for x, y in one.points if scale.low - slack <= x <= scale.high + slack
    ]
    return Line(one.name, kept, one.dashed)


def _y_scale(
    ys: Sequence[float], axis: YAxis, bottom: float, top: float
) -> tuple[Scale, list[float]]:
    positive = [y for y in ys if y > 0]
    if axis.log and positive:
        ticks = log_ticks(min(positive), max(positive))
        return Scale(ticks[0], ticks[-1], bottom, top, log=True), ticks
    ticks = nice_ticks(min([0.0, *ys]), max([0.0, *ys]), 4)
    return Scale(ticks[0], ticks[-1], bottom, top), ticks


def _polyline(one: Line, index: int, plot: Plot, x_axis: XAxis, y_axis: YAxis) -> str:
    points = " ".join(f"{plot.x(x)},{plot.y(y)}" for x, y in one.points)
    style = f"{colour(index)} series-line" + (" dashed" if one.dashed else "")
    marks = "".join(
        element(
            "circle",
            element(
                "title",
                f"{one.name}: {x_axis.tick_label(x)}, {y_axis.value_label(y)}",
            ),
            cx=plot.x(x),
            cy=plot.y(y),
            r=2.5,
            class_=colour(index),
        )
        for x, y in one.points
    )
    return element("polyline", points=points, class_=style) + marks


@dataclass(frozen=True)
class Step:
    """A change in a waterfall: a saving is negative."""

    label: str
    amount: float


def waterfall_chart(
    chart_id: str,
    title: str,
    start: Step,
    steps: Sequence[Step],
    end_label: str,
) -> str:
    """From ``start`` through each step to the total left: horizontal bars."""
    running = [start.amount]
    for step in steps:
        running.append(running[-1] + step.amount)
    rows = [start, *steps, Step(end_label, running[-1])]
    band, top = FONT + 28.0, 8.0
    bottom = top + band * len(rows)
    ticks = nice_ticks(min([0.0, *running]), max([0.0, *running]), 5)
    scale = Scale(ticks[0], ticks[-1], BARS_LEFT, WIDTH - VALUE_ROOM)
    parts = [value_axis_below(scale, ticks, dollars(ticks), top, bottom)]
    for row, step in enumerate(rows):
        y = top + row * band
        if row in (0, len(rows) - 1):
            low, high, style = 0.0, step.amount, "total"
        else:
            low, high = sorted((running[row - 1], running[row]))
            style = "saving" if step.amount < 0 else "increase"
        parts.append(_row_label(y, step.label))
        parts.append(_step_bar(scale, y + FONT + 6, step, low, high, style))
        if row < len(rows) - 1:
            x = scale(running[row])
            parts.append(
                line(x, y + FONT + 22, x, y + band + FONT + 6, class_="connector")
            )
    middle = (scale.start + scale.end) / 2
    parts.append(axis_title(middle, bottom + 2 * FONT + 8, "US dollars a month"))
    description = f"{money(start.amount)} to {money(running[-1])} a month"
    return frame(chart_id, title, description, bottom + 2 * FONT + 14, "".join(parts))


def _step_bar(
    scale: Scale, y: float, step: Step, low: float, high: float, style: str
) -> str:
    shown = money(step.amount)
    if style == "increase":
        shown = "+" + shown
    tip = f"{step.label}: {shown}"
    bar = rect(scale(low), y, scale(high) - scale(low), 16, tip, class_=style)
    return bar + text(scale(high) + 4, y + 12, shown, class_="value")
