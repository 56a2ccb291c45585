"""The break-even section: monthly cost against monthly volume for the local
machine and each API model, where each pair crosses, and the same as a table.

Both axes are logarithmic: API costs run from cents to thousands of dollars
over the range, and a linear axis would flatten every line but one to zero.
"""

from __future__ import annotations

import math
from typing import Any

from costaudit.interfaces.html.blocks import chart_box, placeholder, section
from costaudit.interfaces.html.drawing import Datum
from costaudit.interfaces.html.lines import (
    Crossing,
    Line,
    Overlays,
    Spot,
    XAxis,
    YAxis,
    line_chart,
)
from costaudit.interfaces.html.markup import element, esc, money, short_count
from costaudit.interfaces.html.plans import BREAKEVEN_COLUMNS
from costaudit.interfaces.html.tables import sortable_table

MTOK = 1_000_000
TITLE = "Monthly cost against monthly volume"
CAPTION = (
    "Both axes are logarithmic, so a line at a fixed price per token is "
    "straight. The local machine costs its rent and idle power even when "
    "unused, so its line starts flat; each numbered dot is where an API model "
    "starts to cost more than running locally, and each ring is the volume "
    "you send to that model now."
)
RINGS = "you now, per model"


def volume_domain(breakeven: dict[str, Any]) -> tuple[float, float] | None:
    """Whole powers of ten around your volumes and every break-even volume,
    within the range the lines were worked out for."""
    xs = [float(x) for s in breakeven["series"] for x, _ in s["points"] if x > 0]
    rows = breakeven.get("rows", [])
    marks = [
        float(v)
        for key in ("breakeven_tokens_per_month", "your_tokens_per_month")
        for v in (r.get(key) for r in rows)
        if v
    ]
    if not xs or not marks:
        return None
    low = 10 ** math.floor(math.log10(min(marks) / 2))
    high = 10 ** math.ceil(math.log10(max(marks) * 2))
    return max(low, min(xs)), min(high, max(xs))


def cost_floor(breakeven: dict[str, Any], lines: list[Line]) -> float | None:
    """The power of ten under the lowest cost worth reading: your cost on
    each model, the crossings and the local line. The API lines run on down
    to fractions of a cent at small volumes; showing all of that would
    squeeze the part that matters."""
    rows = breakeven.get("rows", [])
    costs = [float(r["api_usd_per_month"]) for r in rows if r.get("api_usd_per_month")]
    costs += [c.y for c in crossings(breakeven)]
    local = [y for one in lines if one.name.startswith("local") for _, y in one.points]
    costs += [min(local)] if local else []
    positive = [c for c in costs if c > 0]
    if not positive:
        return None
    return float(10 ** math.floor(math.log10(min(positive) / 2)))


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
    found = []
    for number, row in enumerate(breakeven.get("rows", [])):
        volume = row.get("breakeven_tokens_per_month")
        if not volume:
            continue
        cost = float(row["api_usd_per_mtok"]) * float(volume) / MTOK
        datum = Datum(f"breakeven.rows.{number}.breakeven_tokens_per_month", volume)
        index = _line_of(breakeven, row, number + 1)
        found.append(Crossing(float(volume), cost, crossing_note(row), index, datum))
    return sorted(found, key=lambda c: c.x)


def _line_of(breakeven: dict[str, Any], row: dict[str, Any], fallback: int) -> int:
    """The index of the series drawn for ``row``'s API model."""
    labels = [str(s["label"]) for s in breakeven["series"]]
    label = f"API ({row['api_model']})"
    return labels.index(label) if label in labels else fallback


def spots(breakeven: dict[str, Any]) -> list[Spot]:
    """A ring on each API model's line at the volume you send it now: the
    chart's answer for you is where each ring sits against the local line,
    not where all your tokens together would be."""
    found = []
    for number, row in enumerate(breakeven.get("rows", [])):
        volume, cost = row.get("your_tokens_per_month"), row.get("api_usd_per_month")
        if not volume or cost is None:
            continue
        tip = (
            f"you on {row['api_model']}: {short_count(float(volume))} tokens "
            f"a month, {money(cost)} a month"
        )
        datum = Datum(f"breakeven.rows.{number}.your_tokens_per_month", volume)
        index = _line_of(breakeven, row, number + 1)
        found.append(Spot(float(volume), float(cost), index, tip, datum))
    return found


def _chart(breakeven: dict[str, Any]) -> str:
    lines = [
        Line(
            str(s["label"]),
            [(float(x), float(y)) for x, y in s["points"]],
            data=[
                Datum(f"breakeven.series.{k}.points.{j}.1", y)
                for j, (_, y) in enumerate(s["points"])
            ],
        )
        for k, s in enumerate(breakeven["series"])
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
        floor=cost_floor(breakeven, lines),
    )
    overlays = Overlays(
        crossings=crossings(breakeven), spots=spots(breakeven), spots_name=RINGS
    )
    return line_chart("breakeven", TITLE, lines, axis, y_axis, overlays)


def total_note(breakeven: dict[str, Any]) -> str:
    """Your volume over every model, said in words rather than drawn: one
    line at the total would sit beside crossings that each need one model's
    volume, and read as if the total could move to one model."""
    volume = breakeven.get("user_volume_tokens")
    if not volume:
        return ""
    return (
        f" You send {short_count(float(volume))} tokens a month over all "
        "models together; each model's own share is what its ring shows."
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
        chart_box(_chart(breakeven), CAPTION + total_note(breakeven), TITLE)
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
