"""The charts of the HTML audit, each drawn as one inline SVG string.

Bar charts and the waterfall run horizontally, so long task and strategy
names stay readable on a phone; spend per day and lines over time run
vertically. Every chart has a ``<title>``, a ``<desc>``, axis titles with
units, and a tooltip on each mark that states its value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from costaudit.interfaces.html.axes import (
    Scale,
    day_label,
    day_ticks,
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
    value_axis_below,
    value_axis_left,
)
from costaudit.interfaces.html.markup import element, money

BARS_LEFT = 22.0
VALUE_ROOM = 64.0
PLOT_HEIGHT = 200.0
LEFT = 56.0
RIGHT = WIDTH - 14.0


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
class XAxis:
    """What the x values of a line chart are: days (ordinals) or a count."""

    title: str
    tick_label: Callable[[float], str]
    days: bool = False
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
    chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series]
) -> str:
    """Horizontal bars in US dollars, one group per label, one bar per series."""
    key, top = _top_legend([s.name for s in series])
    band = FONT + 12 + 14 * len(series)
    bottom = top + band * len(labels)
    known = [v for s in series for v in s.values if v is not None]
    ticks = nice_ticks(min([0.0, *known]), max([0.0, *known]), 5)
    scale = Scale(ticks[0], ticks[-1], BARS_LEFT, WIDTH - VALUE_ROOM)
    parts = [value_axis_below(scale, ticks, dollars(ticks), top, bottom)]
    for row, label in enumerate(labels):
        y = top + row * band
        parts.append(_row_label(y, label))
        for index, one in enumerate(series):
            mark_y = y + FONT + 6 + 14 * index
            parts.append(_bar(scale, mark_y, label, one, one.values[row], index))
    middle = (scale.start + scale.end) / 2
    parts.append(axis_title(middle, bottom + 2 * FONT + 8, "US dollars"))
    description = f"{len(labels)} rows: " + ", ".join(s.name for s in series)
    height = bottom + 2 * FONT + 14
    return frame(chart_id, title, description, height, key + "".join(parts))


def _bar(
    scale: Scale, y: float, label: str, series: Series, value: float | None, index: int
) -> str:
    start = scale(0.0)
    if value is None:
        return text(start + 4, y + 10, "unpriced", class_="note")
    end = scale(value)
    tip = f"{label}, {series.name}: {money(value)}"
    bar = rect(min(start, end), y, abs(end - start), 12, tip, class_=colour(index))
    return bar + text(max(start, end) + 4, y + 10, money(value), class_="value")


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
        parts.append(
            text(x, y + FONT + 4, day_label(day), class_="tick", text_anchor="middle")
        )
    return element("g", "".join(parts), class_="axis")


def line_chart(
    chart_id: str,
    title: str,
    lines: Sequence[Line],
    x_axis: XAxis,
    rules: Sequence[Rule] = (),
    markers: Sequence[Rule] = (),
    y_format: Callable[[float], str] | None = None,
) -> str:
    """Lines of US dollars (or what ``y_format`` labels) against days or a
    count, with reference lines.

    ``rules`` are horizontal (a limit), ``markers`` vertical (your volume).
    """
    kinds = ["dash" if one.dashed else "line" for one in lines]
    key, top = _top_legend([one.name for one in lines], kinds)
    bottom = top + PLOT_HEIGHT
    xs = [x for one in lines for x, _ in one.points] + [m.value for m in markers]
    ys = [y for one in lines for _, y in one.points] + [r.value for r in rules]
    x_scale, x_ticks = _x_scale(xs, x_axis)
    y_ticks = nice_ticks(min([0.0, *ys]), max([0.0, *ys]), 4)
    y_scale = Scale(y_ticks[0], y_ticks[-1], bottom, top)
    labels = dollars(y_ticks) if y_format is None else y_format
    parts = [value_axis_left(y_scale, y_ticks, labels, LEFT, RIGHT)]
    for tick in x_ticks:
        x = x_scale(tick)
        parts.append(line(x, bottom, x, bottom + 4, class_="tick-mark"))
        parts.append(
            text(
                x,
                bottom + FONT + 4,
                x_axis.tick_label(tick),
                class_="tick",
                text_anchor="middle",
            )
        )
    for rule in rules:
        y = y_scale(rule.value)
        parts.append(line(LEFT, y, RIGHT, y, class_="rule"))
        parts.append(
            text(RIGHT, y - 4, rule.label, class_="rule-label", text_anchor="end")
        )
    for marker in markers:
        x = x_scale(marker.value)
        parts.append(line(x, top, x, bottom, class_="rule"))
        right = x > (LEFT + RIGHT) / 2
        parts.append(
            text(
                x - 4 if right else x + 4,
                top + FONT,
                marker.label,
                class_="rule-label",
                text_anchor="end" if right else "start",
            )
        )
    for index, one in enumerate(lines):
        parts.append(_polyline(one, index, x_scale, y_scale, x_axis))
    parts.append(axis_title((LEFT + RIGHT) / 2, bottom + 2 * FONT + 8, x_axis.title))
    parts.append(axis_title(14, (top + bottom) / 2, "US dollars", vertical=True))
    description = ", ".join(one.name for one in lines)
    return frame(
        chart_id, title, description, bottom + 2 * FONT + 14, key + "".join(parts)
    )


def _x_scale(xs: Sequence[float], axis: XAxis) -> tuple[Scale, list[float]]:
    low, high = min(xs, default=0.0), max(xs, default=1.0)
    if axis.days:
        first, last = date.fromordinal(int(low)), date.fromordinal(int(high))
        ticks = [float(d.toordinal()) for d in day_ticks(first, last)]
        return Scale(low, max(high, low + 1), LEFT, RIGHT), ticks
    if axis.log and low > 0:
        ticks = log_ticks(low, high)
        return Scale(ticks[0], ticks[-1], LEFT, RIGHT, log=True), ticks
    ticks = nice_ticks(min(0.0, low), high, 5)
    return Scale(ticks[0], ticks[-1], LEFT, RIGHT), ticks


def _polyline(
    one: Line, index: int, x_scale: Scale, y_scale: Scale, axis: XAxis
) -> str:
    points = " ".join(f"{x_scale(x)},{y_scale(y)}" for x, y in one.points)
    style = f"{colour(index)} series-line" + (" dashed" if one.dashed else "")
    marks = "".join(
        element(
            "circle",
            element("title", f"{one.name}: {axis.tick_label(x)}, {money(y)}"),
            cx=x_scale(x),
            cy=y_scale(y),
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
