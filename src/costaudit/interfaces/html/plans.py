"""The sections on spending less: the advisor's savings, budgets and the
break-even volume. Each comes from its own analysis; when the document has
no such part, the section says so instead of showing an empty chart."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from costaudit.interfaces.html.axes import day_label
from costaudit.interfaces.html.blocks import chart_box, number, placeholder, section
from costaudit.interfaces.html.markup import element, money, short_count
from costaudit.interfaces.html.svg import (
    Line,
    Rule,
    Step,
    XAxis,
    YAxis,
    line_chart,
    waterfall_chart,
)
from costaudit.interfaces.html.tables import Column, sortable_table

NO_ADVICE = "The advisor has not run for this audit, so no saving is estimated yet."
STRATEGY_COLUMNS = [
    Column("title", "Strategy"),
    Column("monthly_savings_usd", "Saving a month", "money"),
    Column("share", "Share of spend", "percent"),
    Column("confidence", "Confidence"),
]


def _usd_budget(row: dict[str, Any]) -> bool:
    return row.get("limit_usd") is not None


def _token_budget(row: dict[str, Any]) -> bool:
    return row.get("limit_tokens") is not None


BUDGET_COLUMNS = [
    Column("name", "Budget", "name"),
    Column("period_start", "From", "name"),
    Column("period_end", "To", "name"),
    Column("limit_usd", "Limit", "money", applies=_usd_budget),
    Column("spent_usd", "Spent", "money"),
    Column("forecast_usd", "Forecast", "money", applies=_usd_budget),
    Column("limit_tokens", "Token limit", "volume", applies=_token_budget),
    Column("spent_tokens", "Tokens", "volume"),
    Column("forecast_tokens", "Token forecast", "volume", applies=_token_budget),
    Column("share", "Share of limit", "percent"),
    Column("limit_reached_on", "Limit reached", "name"),
    Column("level", "Status"),
]
BREAKEVEN_COLUMNS = [
    Column("api_model", "API model", "name"),
    Column("api_usd_per_mtok", "API $/Mtok", "money"),
    Column("local_usd_per_mtok", "Local $/Mtok", "money"),
    Column(
        "breakeven_tokens_per_month", "Break-even a month", "volume", missing="never"
    ),
    Column("capacity_tokens_per_month", "One machine serves", "volume"),
    Column("your_tokens_per_month", "You a month", "volume"),
    Column("api_usd_per_month", "API a month", "money"),
    Column("local_usd_per_month", "Local a month", "money"),
    Column("cheaper", "Cheaper for you"),
]


def strategies_by_saving(advice: dict[str, Any]) -> list[dict[str, Any]]:
    """The strategies, largest monthly saving first (unpriced ones last)."""
    return sorted(
        advice.get("strategies", []),
        key=lambda s: -(s.get("monthly_savings_usd") or Decimal(-1)),
    )


def monthly_spend(advice: dict[str, Any]) -> float:
    """Current spend a month, from the combined figures or the advice period."""
    combined = advice.get("combined", {})
    value = combined.get("monthly_spend_usd")
    if value is None:
        value = advice.get("period", {}).get("monthly_spend_usd")
    return number(value) or 0.0


def savings_steps(advice: dict[str, Any]) -> list[Step]:
    """The waterfall's steps, each a saving a month (negative).

    The combined figures apply the strategies one after another to what is
    left, so their steps add up to the combined saving. Without them, each
    strategy's own saving is a step, and a last step gives back what they
    count twice.
    """
    titles = {s["id"]: str(s["title"]) for s in advice.get("strategies", [])}
    combined = advice.get("combined", {})
    if combined.get("steps"):
        return [
            Step(titles.get(step["id"], str(step["id"])), -amount)
            for step in combined["steps"]
            if (amount := number(step.get("monthly_savings_usd")))
        ]
    steps = [
        Step(str(s["title"]), -amount)
        for s in strategies_by_saving(advice)
        if (amount := number(s.get("monthly_savings_usd")))
    ]
    total = number(combined.get("monthly_savings_usd"))
    if total is not None:
        overlap = round(-total - sum(step.amount for step in steps), 6)
        if abs(overlap) >= 0.005:
            steps.append(Step("counted twice above", overlap))
    return steps


def _advice_missing(advice: dict[str, Any] | None) -> str | None:
    """Why there is no advice to draw, or None when there is."""
    if not advice:
        return NO_ADVICE
    if advice.get("error"):
        return f"No advice: {advice['error']}"
    if not advice.get("period", {}).get("calls"):
        return "No usage to advise on in this period."
    return None


def _waterfall_caption(advice: dict[str, Any]) -> str:
    """How to read the waterfall, and why a step can differ from the table."""
    combined = advice.get("combined", {})
    if not combined.get("steps"):
        return (
            "Each strategy's own saving; the last step gives back what two "
            "strategies would both save on the same calls."
        )
    alone = {s["id"]: s for s in advice.get("strategies", [])}
    differ = []
    for step in combined["steps"]:
        strategy = alone.get(step["id"], {})
        own, here = strategy.get("monthly_savings_usd"), step.get("monthly_savings_usd")
        if own is not None and here and money(here) != money(own):
            differ.append(
                f"{strategy['title']}: {money(here)} here, {money(own)} on its own"
            )
    caption = (
        "Current spend is this period's spend as a monthly rate. Strategies "
        "apply one after another, each to what the ones before it left, so the "
        "steps add up to the combined saving"
    )
    if differ:
        caption += (
            " and a step can be smaller than the same strategy in the table ("
            + "; ".join(differ)
            + ")"
        )
    return caption + "."


def advice_section(document: dict[str, Any]) -> str:
    advice = document.get("advice")
    message = _advice_missing(advice)
    if message is not None:
        body = placeholder("advice", message)
        return section("advice", "Savings the advisor found", body)
    assert advice is not None
    title = "From current to optimised monthly spend"
    chart = waterfall_chart(
        "advice",
        title,
        Step("current spend", monthly_spend(advice)),
        savings_steps(advice),
        "optimised spend",
    )
    table = sortable_table(
        "advice.strategies",
        "Each strategy on its own",
        advice.get("strategies", []),
        STRATEGY_COLUMNS,
    )
    box = chart_box(chart, _waterfall_caption(advice), title)
    body = element("div", box + table, class_="pair")
    return section("advice", "Savings the advisor found", body)


def _ordinal(day: Any) -> float:
    return float(date.fromisoformat(str(day)).toordinal())


def _tokens(value: Any) -> str:
    return "n/a" if value is None else f"{short_count(float(value))} tokens"


def _budget_unit(budget: dict[str, Any]) -> tuple[str, Any]:
    """``usd`` or ``tokens`` (a budget with both is drawn in USD), and a
    formatter for its figures."""
    if budget.get("limit_usd") is not None:
        return "usd", money
    return "tokens", _tokens


def _budget_chart(index: int, budget: dict[str, Any], title: str) -> str:
    """Spend so far and the forecast to the period's end, under the limit."""
    unit, show = _budget_unit(budget)
    spent = [
        (_ordinal(d["day"]), float(d[f"cumulative_{unit}"])) for d in budget["daily"]
    ]
    lines = [Line("spent so far", spent)]
    if budget.get(f"forecast_{unit}") is not None:
        end = (_ordinal(budget["period_end"]), float(budget[f"forecast_{unit}"]))
        lines.append(Line("forecast", [spent[-1], end], dashed=True))
    limit = float(budget[f"limit_{unit}"])
    axis = XAxis("day", lambda x: day_label(date.fromordinal(int(x))), days=True)
    y_axis = (
        YAxis("US dollars")
        if unit == "usd"
        else YAxis("tokens", tick_label=short_count, value_label=_tokens)
    )
    return line_chart(
        f"budget-{index}",
        title,
        lines,
        axis,
        y_axis,
        rules=[Rule(limit, f"limit {show(limit)}")],
    )


def _budget_box(index: int, budget: dict[str, Any]) -> str:
    if not budget.get("daily"):
        message = f"{budget['name']}: nothing spent in its period."
        return placeholder(f"budget-{index}", message)
    unit, show = _budget_unit(budget)
    limit = show(budget[f"limit_{unit}"])
    noun = "spend" if unit == "usd" else "tokens"
    title = f"{budget['name']}: {noun} against the {limit} limit"
    return chart_box(
        _budget_chart(index, budget, title), _budget_caption(budget), title
    )


def budgets_section(document: dict[str, Any]) -> str:
    budgets = document.get("budgets")
    if not budgets:
        body = placeholder(
            "budgets", "No budget was checked for this audit, so there is no burn-down."
        )
        return section("budgets", "Budgets", body)
    charts = "".join(_budget_box(i, b) for i, b in enumerate(budgets))
    table = sortable_table("budgets", "Budgets", budgets, BUDGET_COLUMNS)
    return section(
        "budgets", "Budget burn-down", element("div", charts, class_="grid") + table
    )


def _budget_caption(budget: dict[str, Any]) -> str:
    unit, show = _budget_unit(budget)
    spent, limit = budget.get(f"spent_{unit}"), budget.get(f"limit_{unit}")
    left = None if spent is None or limit is None else Decimal(limit) - Decimal(spent)
    return (
        f"{budget['period_start']} to {budget['period_end']}: spent {show(spent)}, "
        f"{show(left)} left; forecast {show(budget.get(f'forecast_{unit}'))}."
    )
