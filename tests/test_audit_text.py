"""The audit's terminal text: counts that agree with their nouns, and the
local-versus-API note that says what "all local" leaves out."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rich.console import Console

from costaudit.interfaces.cli.commands.audit import electricity_only, render_advice
from costaudit.interfaces.cli.output import counted

LVA = {"local_assumptions": "qwen2.5-3b: 60 W (config), $0.30/kWh (config)"}


@pytest.mark.parametrize(
    ("value", "noun", "plural", "shown"),
    [
        (1, "day", None, "1 day"),
        (0, "call", None, "0 calls"),
        (2_500, "call", None, "2,500 calls"),
        (Decimal(1), "session", None, "1 session"),
        (3, "more model", None, "3 more models"),
        (2, "entry", "entries", "2 entries"),
    ],
)
def test_counted_agrees_with_its_noun(
    value: int | Decimal, noun: str, plural: str | None, shown: str
) -> None:
    assert counted(value, noun, plural) == shown


def test_all_local_is_electricity_and_the_machine_is_in_the_break_even() -> None:
    breakeven = {"machine": {"cost_usd_per_month": Decimal("3.3125")}}
    text = electricity_only(LVA, breakeven)
    assert text.startswith(
        "all local: electricity alone, on qwen2.5-3b: 60 W (config), $0.30/kWh "
        "(config)."
    )
    assert "costs $3.31 a month, which is not in it: the break-even section" in text


@pytest.mark.parametrize("breakeven", [None, {"error": "no local model"}])
def test_without_a_break_even_the_machine_is_the_infrastructure_figure(
    breakeven: dict[str, str] | None,
) -> None:
    text = electricity_only(LVA, breakeven)
    assert "electricity alone" in text
    assert text.endswith(
        "The machine's rent and idle power are not in it; they are the "
        "infrastructure figure above."
    )


def test_strategies_that_save_nothing_are_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    strategy = {
        "title": "t", "share": Decimal(0), "confidence": "low",
        "applies_to": {"calls": 0},
    }  # fmt: skip
    advice = {
        "strategies": [
            {**strategy, "id": "exact_cache", "monthly_savings_usd": Decimal(2)},
            {**strategy, "id": "batch", "monthly_savings_usd": Decimal(0)},
        ],
        "combined": {"monthly_savings_usd": Decimal(2), "share": Decimal("0.5")},
    }
    render_advice(Console(width=100, force_terminal=False), {"advice": advice})
    out = capsys.readouterr().out
    assert "exact_cache" in out
    assert "nothing to save here from batch (costaudit advise --explain ID" in out
