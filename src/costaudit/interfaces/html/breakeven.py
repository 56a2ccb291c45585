"""The break-even section: monthly cost against monthly volume for the local
machine and each API model, where each pair crosses, and the same as a table.

Both axes are logarithmic: API costs run from cents to thousands of dollars
over the range, and a linear axis would flatten every line but one to zero.
"""

from __future__ import annotations

import math
from typing import Any

from costaudit.interfaces.html.blocks import chart_box, placeholder, section
from costaudit.interfaces.html.markup import element, esc, money, short_count
from costaudit.interfaces.html.plans import BREAKEVEN_COLUMNS
from costaudit.interfaces.html.svg import Crossing, Line, Rule, XAxis, YAxis, line_chart
from costaudit.interfaces.html.tables import sortable_table

MTOK = 1_000_000
TITLE = "Monthly cost against monthly volume"
CAPTION = (
    "Both axes are logarithmic, so a line at a fixed price per token is "
    "straight. The local machine costs its rent and idle power even when "
    "unused, so its line starts flat; each numbered dot is where an API model "
    "starts to cost more than running locally."
)


def volume_domain(breakeven: dict[str, Any]) -> tuple[float, float] | None:
    """Whole powers of ten around your volume and every break-even volume,
    within the range the lines were worked out for."""
    xs = [float(x) for s in breakeven["series"] for x, _ in s["points"] if x > 0]
    marks = [
        float(v)
        for v in [
            breakeven.get("user_volume_tokens"),
            *(r.get("breakeven_tokens_per_month") for r in breakeven.get("rows", [])),
        ]
        if v
    ]
    if not xs or not marks:
        return None
    low = 10 ** math.floor(math.log10(min(marks) / 2))
    high = 10 ** math.ceil(math.log10(max(marks) * 2))
    return max(low, min(xs)), min(high, max(xs))


def crossing_note(row: dict[str, Any]) -> str:
    volume = short_count(float(row["breakeven_tokens_per_month"]))
    note = f"{row['api_model']}: local cheaper above {volume}/month"
    if row.get("breakeven_within_capacity") is False:
        capacity = short_count(float(row["capacity_tokens_per_month"]))
        note += f", beyond one machine ({capacity})"
    return note


def crossings(breakeven: dict[str, Any]) -> list[Crossing]:
    """A dot for each API model that local beats at some volume, on that
    model's line, in the order of their volumes."""
    labels = [str(s["label"]) for s in breakeven["series"]]
    found = []
    for number, row in enumerate(breakeven.get("rows", []), 1):
        volume = row.get("breakeven_tokens_per_month")
        if not volume:
            continue
        label = f"API ({row['api_model']})"
        index = labels.index(label) if label in labels else number
        cost = float(row["api_usd_per_mtok"]) * float(volume) / MTOK
        found.append(Crossing(float(volume), cost, crossing_note(row), index))
    return sorted(found, key=lambda c: c.x)


def _chart(breakeven: dict[str, Any]) -> str:
    lines = [
        Line(str(s["label"]), [(float(x), float(y)) for x, y in s["points"]])
        for s in breakeven["series"]
    ]
    axis = XAxis(
        "tokens a month (log scale)",
        short_count,
        log=True,
        domain=volume_domain(breakeven),
    )
    y_axis = YAxis(
        "US dollars a month (log scale)",
        value_label=lambda v: f"{money(v)} a month",
        log=True,
    )
    volume = breakeven.get("user_volume_tokens")
    markers = (
        [Rule(float(volume), f"you: {short_count(float(volume))}/month")]
        if volume
        else []
    )
    return line_chart(
        "breakeven",
        TITLE,
        lines,
        axis,
        y_axis,
        markers=markers,
        crossings=crossings(breakeven),
    )


def breakeven_section(document: dict[str, Any]) -> str:
    breakeven = document.get("breakeven")
    if not breakeven or not breakeven.get("series"):
        message = "The break-even analysis has not run for this audit."
        return section("breakeven", "Break-even", placeholder("breakeven", message))
    notes = "".join(
        element("li", esc(n))
        for n in breakeven.get("assumptions", [])
        if isinstance(n, str)
    )
    side = element("h3", "Assumptions") + element("ul", notes) if notes else ""
    pair = element(
        "div",
        chart_box(_chart(breakeven), CAPTION, TITLE)
        + element("div", side, class_="column"),
        class_="pair",
    )
    table = sortable_table(
        "breakeven.rows",
        f"Each API model against {breakeven.get('local_model', 'the local model')}",
        breakeven.get("rows", []),
        BREAKEVEN_COLUMNS,
    )
    return section("breakeven", "Break-even: local against API by volume", pair + table)
