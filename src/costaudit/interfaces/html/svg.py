"""The bar charts of the HTML audit, each drawn as one inline SVG string.

Bar charts and the waterfall run horizontally, so long task and strategy
names stay readable on a phone; spend per day runs vertically (lines over
time are in :mod:`lines`). Every chart has a ``<title>``, a ``<desc>``,
axis titles with units, and a tooltip on each mark that states its value.
Marks drawn from the document carry its key and exact value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from costaudit.interfaces.html.axes import (
    Scale,
    day_label,
    day_ticks,
    money_tick,
    nice_ticks,
)
from costaudit.interfaces.html.drawing import (
    FONT,
    WIDTH,
    Datum,
    axis_title,
    clip,
    colour,
    datum_at,
    frame,
    legend,
    line,
    rect,
    text,
    tick_text,
    value_axis_below,
    value_axis_left,
)
from costaudit.interfaces.html.markup import element, esc, money

BARS_LEFT = 22.0
VALUE_ROOM = 64.0
PLOT_HEIGHT = 200.0
LEFT = 56.0
RIGHT = WIDTH - 14.0


@dataclass(frozen=True)
class Series:
    """Values of one named series, one per category (None: unpriced), and
    where each is in the document."""

    name: str
    values: Sequence[float | None]
    data: Sequence[Datum | None] = ()


def dollars(ticks: Sequence[float]) -> Callable[[float], str]:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return lambda value: money_tick(value, step)


def top_legend(names: Sequence[str], kinds: Sequence[str] = ()) -> tuple[str, float]:
    if len(names) < 2 and not kinds:
        return "", 8.0
    key, used = legend(names, 8.0, kinds)
    return key, 8.0 + used


def _row_label(y: float, label: str) -> str:
    """A bar's name on its own line above it, so long names fit a phone; a
    name cut to fit keeps its whole text as a tooltip."""
    shown = clip(label, WIDTH - BARS_LEFT)
    tip = element("title", esc(label)) if shown != label else ""
    return element("text", tip + esc(shown), x=BARS_LEFT, y=y + FONT, class_="label")


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
    key, top = top_legend([s.name for s in series])
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
            parts.append(_bar(scale, mark, label, one, row))
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


def _bar(scale: Scale, mark: Mark, label: str, series: Series, row: int) -> str:
    """One bar and its value beside it, both carrying the value's source."""
    value = series.values[row]
    source = datum_at(series.data, row)
    start = scale(0.0)
    middle = mark.y + mark.size / 2 + 3.5
    if value is None:
        return text(start + 4, middle, "unpriced", class_="note", **source)
    end = scale(value)
    tip = f"{label}, {series.name}: {money(value)}"
    bar = rect(
        min(start, end),
        mark.y,
        abs(end - start),
        mark.size,
        tip,
        class_=colour(mark.index),
        **source,
    )
    shown = text(max(start, end) + 4, middle, money(value), class_="value", **source)
    return bar + shown


def stacked_bar_chart(
    chart_id: str, title: str, days: Sequence[date], series: Sequence[Series]
) -> str:
    """Spend per day, one bar a day, stacked by series, in US dollars."""
    key, top = top_legend([s.name for s in series])
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
                rect(
                    x,
                    high,
                    slot * 0.8,
                    low - high,
                    tip,
                    class_=colour(index),
                    **datum_at(one.data, i),
                )
            )
            base += value
    parts.append(_day_axis(days[0], days[-1], LEFT + slot / 2, slot, bottom))
    parts.append(axis_title(14, (top + bottom) / 2, "US dollars a day", vertical=True))
    return frame(
        chart_id,
        title,
        f"{len(days)} days",
        bottom + 2 * FONT + 12,
        key + "".join(parts),
    )


def _day_axis(first: date, last: date, start: float, slot: float, y: float) -> str:
    parts = []
    for day in day_ticks(first, last):
        x = start + (day - first).days * slot
        parts.append(line(x, y, x, y + 4, class_="tick-mark"))
        parts.append(tick_text(x, y + FONT + 6, day_label(day), left=LEFT - 2))
    return element("g", "".join(parts), class_="axis")


@dataclass(frozen=True)
class Step:
    """A change in a waterfall: a saving is negative. ``datum`` is the
    document's figure the step shows (a saving there is positive)."""

    label: str
    amount: float
    datum: Datum | None = None


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
        parts.append(_step_bar(scale, y + FONT + 6, step, (low, high), style))
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
    scale: Scale, y: float, step: Step, span: tuple[float, float], style: str
) -> str:
    low, high = span
    shown = money(step.amount)
    if style == "increase":
        shown = "+" + shown
    tip = f"{step.label}: {shown}"
    source = step.datum.attributes() if step.datum is not None else {}
    width = scale(high) - scale(low)
    bar = rect(scale(low), y, width, 16, tip, class_=style, **source)
    return bar + text(scale(high) + 4, y + 12, shown, class_="value")
