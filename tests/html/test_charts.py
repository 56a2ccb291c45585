"""Axis ticks, money labels and the savings waterfall's steps."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from costaudit.interfaces.html.axes import money_tick, nice_ticks
from costaudit.interfaces.html.plans import savings_steps
from costaudit.interfaces.html.svg import Step, waterfall_chart


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
    assert savings_steps(advice) == [Step("Route", -4.0), Step("Cache", -3.0)]
    del advice["combined"]["steps"]
    assert savings_steps(advice) == [
        Step("Cache", -5.0),
        Step("Route", -4.0),
        Step("counted twice above", 2.0),
    ]


def test_waterfall_ends_at_the_optimised_spend() -> None:
    svg = waterfall_chart(
        "w", "Savings", Step("current", 10.0), [Step("x", -4.0)], "optimised"
    )
    assert "<title" in svg and "US dollars a month" in svg
    assert "optimised: $6.00" in svg
