"""Axis ticks, money labels and the savings waterfall's steps."""

from __future__ import annotations

import re
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costaudit.interfaces.html.axes import money_tick, nice_ticks
from costaudit.interfaces.html.drawing import FONT, Datum
from costaudit.interfaces.html.lines import (
    LONE_DOT,
    Crossing,
    Line,
    Overlays,
    XAxis,
    YAxis,
    line_chart,
)
from costaudit.interfaces.html.markup import esc, money
from costaudit.interfaces.html.plans import (
    budgets_section,
    forecast_drawn,
    savings_steps,
    zero_steps,
)
from costaudit.interfaces.html.svg import Step, waterfall_chart
from costaudit.interfaces.html.tables import LONG_TEXT, Column, shorten


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0, 10.01, [0, 2.5, 5, 7.5, 10, 12.5]),
        (0, 0.93, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0, 0, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0, 600, [0, 200, 400, 600]),
    ],
)
def test_nice_ticks_cover_the_range(
    low: float, high: float, ticks: list[float]
) -> None:
    assert nice_ticks(low, high, 5) == pytest.approx(ticks)


@pytest.mark.parametrize(
    ("value", "step", "label"),
    [
        (0, 2.5, "$0.00"),
        (7.5, 2.5, "$7.50"),
        (20, 5, "$20"),
        (0.05, 0.05, "$0.05"),
        (0.002, 0.001, "$0.002"),
        (1500, 500, "$1.5k"),
    ],
)
def test_money_ticks(value: float, step: float, label: str) -> None:
    assert money_tick(value, step) == label


def test_waterfall_follows_the_combined_steps() -> None:
    advice: dict[str, Any] = {
        "strategies": [
            {"id": "a", "title": "Cache", "monthly_savings_usd": Decimal(5)},
            {"id": "b", "title": "Route", "monthly_savings_usd": Decimal(4)},
        ],
        "combined": {
            "monthly_savings_usd": Decimal(7),
            "steps": [
                {"id": "b", "monthly_savings_usd": Decimal(4)},
                {"id": "a", "monthly_savings_usd": Decimal(3)},
            ],
        },
    }
    steps = savings_steps(advice)
    assert [(s.label, s.amount) for s in steps] == [("Route", -4.0), ("Cache", -3.0)]
    assert [s.datum for s in steps] == [
        Datum("advice.combined.steps.0.monthly_savings_usd", Decimal(4)),
        Datum("advice.combined.steps.1.monthly_savings_usd", Decimal(3)),
    ]
    del advice["combined"]["steps"]
    steps = savings_steps(advice)
    assert [(s.label, s.amount) for s in steps] == [
        ("Cache", -5.0),
        ("Route", -4.0),
        ("counted twice above", 2.0),
    ]
    assert steps[1].datum == Datum(
        "advice.strategies.1.monthly_savings_usd", Decimal(4)
    )


def test_waterfall_ends_at_the_optimised_spend() -> None:
    svg = waterfall_chart(
        "w", "Savings", Step("current", 10.0), [Step("x", -4.0)], "optimised"
    )
    assert "<title" in svg and "US dollars a month" in svg
    assert "optimised: $6.00" in svg


def test_strategies_that_save_nothing_combined_are_named_with_why() -> None:
    advice: dict[str, Any] = {
        "strategies": [
            {"id": "a", "title": "Cache", "monthly_savings_usd": Decimal(5)},
            {"id": "b", "title": "Cache again", "monthly_savings_usd": Decimal(2)},
            {
                "id": "c",
                "title": "Batch",
                "monthly_savings_usd": Decimal(0),
                "confidence_why": "no job can wait",
            },
        ],
        "combined": {
            "steps": [
                {"id": "a", "monthly_savings_usd": Decimal(5)},
                {"id": "b", "monthly_savings_usd": Decimal(0)},
                {"id": "c", "monthly_savings_usd": Decimal(0)},
            ],
        },
    }
    listed = zero_steps(advice)
    assert "<b>Cache again</b>: $2.00 a month on its own, but the strategies" in listed
    assert "<b>Batch</b>: no job can wait." in listed
    assert [s.label for s in savings_steps(advice)] == ["Cache"]
    advice["strategies"][0]["group"] = advice["strategies"][1]["group"] = "cache"
    assert "Cache, applied before it, already changed the same calls" in zero_steps(
        advice
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "$0.00"),
        (Decimal("4.0849"), "$4.08"),
        (Decimal("13.8"), "$13.80"),
        (Decimal("1234.567"), "$1,234.57"),
        (Decimal("0.44807"), "$0.448"),
        (Decimal("0.0071199"), "$0.00712"),
        (Decimal("0.009996"), "$0.0100"),
        (Decimal("0.99996"), "$1.00"),
        (Decimal("-2.3838"), "-$2.38"),
        (Decimal("0.0000001"), "<$0.000001"),
        (None, "unpriced"),
    ],
)
def test_one_money_rule(value: Any, shown: str) -> None:
    assert money(value) == shown


@given(st.decimals(min_value=Decimal("0.000001"), max_value=10**7, places=8))
def test_money_keeps_three_digits_and_cents(value: Decimal) -> None:
    text = money(value)
    digits = text.removeprefix("$").replace(",", "")
    assert len(digits.split(".")[1]) >= 2
    assert len(digits.replace(".", "").lstrip("0")) >= 3
    assert abs(Decimal(digits) - value) <= abs(value) * Decimal("0.005")


def test_long_names_are_cut_with_an_ellipsis() -> None:
    name = "Weekly digest: what's new this week in retrieval-augmented g"
    cut = shorten(name)
    assert cut.endswith("…") and len(cut) <= LONG_TEXT
    assert name.startswith(cut[:-1])
    assert shorten("Parcel tracker") == "Parcel tracker"
    cell = Column("task", "Task", "long").cell({"task": name}, str)
    assert f'title="{esc(name)}"' in cell and esc(cut) in cell


def budget(forecast: float, end: str = "2026-12-06") -> dict[str, Any]:
    return {
        "name": "weekly",
        "limit_usd": 1.5,
        "spent_usd": 0.16,
        "forecast_usd": forecast,
        "period_start": "2026-11-30",
        "period_end": end,
        "daily": [{"day": "2026-11-30", "usd": 0.16, "cumulative_usd": 0.16}],
    }


def test_a_forecast_below_spend_is_not_drawn() -> None:
    assert forecast_drawn(budget(1.18))
    assert not forecast_drawn(budget(0.0))
    assert not forecast_drawn(budget(1.18, end="2026-11-30"))
    page = budgets_section({"budgets": [budget(0.0)]})
    assert "forecast</text>" not in page
    assert "is below what is already spent, so it is not drawn" in page


def test_one_day_of_spend_is_a_visible_dot_and_the_forecast_is_dashed() -> None:
    page = budgets_section({"budgets": [budget(1.18)]})
    dots = re.findall(r'<circle[^>]*data-key="budgets.0.daily.0.cumulative_usd"', page)
    assert len(dots) == 1 and f'r="{LONE_DOT}"' in dots[0]
    assert 'class="c1 swatch-dash"' in page
    assert page.count('data-key="budgets.0.forecast_usd"') == 1
    css = resources.files("costaudit.interfaces.html").joinpath("style.css")
    assert ".swatch-dash { stroke-dasharray" in css.read_text(encoding="utf-8")


def test_corner_labels_stand_apart() -> None:
    """The first day under the plot starts right of where the lowest value
    label, left of the plot, ends."""
    svg = budgets_section({"budgets": [budget(1.18)]})
    tick = r'<text x="([0-9.]+)" y="[0-9.]+" class="tick" text-anchor="(\w+)">'
    first_day = re.search(tick + "Nov 30<", svg)
    zero = re.search(tick + r"\$0\.00<", svg)
    assert first_day and zero and zero.group(2) == "end"
    x, anchor = float(first_day.group(1)), first_day.group(2)
    half = len("Nov 30") * FONT * 0.33
    left_edge = {"start": x, "middle": x - half, "end": x - 2 * half}[anchor]
    assert left_edge >= float(zero.group(1)) + 2


def test_crossing_numbers_do_not_overlap() -> None:
    lines = [
        Line("local", [(1.0, 10.0), (1000.0, 12.0)]),
        Line("api a", [(1.0, 0.1), (1000.0, 100.0)]),
        Line("api b", [(1.0, 0.12), (1000.0, 120.0)]),
    ]
    near = [Crossing(100.0, 10.2, "a", 1), Crossing(104.0, 10.3, "b", 2)]
    svg = line_chart(
        "x",
        "t",
        lines,
        XAxis("volume", str, log=True),
        YAxis(log=True),
        Overlays(crossings=near),
    )
    found = re.findall(
        r'<text x="([0-9.]+)" y="([0-9.]+)" class="crossing-label"[^>]*>(\d)<', svg
    )
    assert len(found) == 2
    (x1, y1, _), (x2, y2, _) = found
    assert abs(float(x1) - float(x2)) >= 8 or abs(float(y1) - float(y2)) >= 10
