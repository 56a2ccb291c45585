"""The sections on spending less: the advisor's savings, budgets and the
break-even volume. Each comes from its own analysis; when the document has
no such part, the section says so instead of showing an empty chart."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from costaudit.interfaces.html.axes import day_label
from costaudit.interfaces.html.blocks import chart_box, number, placeholder, section
from costaudit.interfaces.html.markup import element, esc, money, short_count
from costaudit.interfaces.html.svg import (
    Line,
    Rule,
    Step,
    XAxis,
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
BUDGET_COLUMNS = [
    Column("name", "Budget"),
    Column("period_start", "From"),
    Column("period_end", "To"),
    Column("limit_usd", "Limit", "money"),
    Column("spent_usd", "Spent", "money"),
    Column("forecast_usd", "Forecast", "money"),
    Column("limit_tokens", "Token limit", "count"),
    Column("spent_tokens", "Tokens", "count"),
    Column("share", "Share", "percent"),
    Column("level", "Status"),
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


def advice_section(document: dict[str, Any]) -> str:
    advice = document.get("advice")
    message = _advice_missing(advice)
    if message is not None:
        body = placeholder("advice", message)
        return section("advice", "Savings the advisor found", body)
    assert advice is not None
    chart = waterfall_chart(
        "advice",
        "From current to optimised monthly spend",
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
    caption = (
        "Strategies applied one after another: each saves on what the ones "
        "before it left, so the steps add up to the combined saving."
        if advice.get("combined", {}).get("steps")
        else "Each strategy's own saving; the last step gives back what two "
        "strategies would both save on the same calls."
    )
    body = element("div", chart_box(chart, caption) + table, class_="pair")
    return section("advice", "Savings the advisor found", body)


def _ordinal(day: Any) -> float:
    return float(date.fromisoformat(str(day)).toordinal())


def _budget_unit(budget: dict[str, Any]) -> tuple[str, Any]:
    """``usd`` or ``tokens`` (a budget with both is drawn in USD), and a
    formatter for its figures."""
    if budget.get("limit_usd") is not None:
        return "usd", money
    return "tokens", lambda v: "n/a" if v is None else f"{short_count(float(v))} tok"


def _budget_chart(index: int, budget: dict[str, Any]) -> str:
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
    return line_chart(
        f"budget-{index}",
        f"{budget['name']}: {'spend' if unit == 'usd' else 'tokens'} against the "
        f"{show(limit)} limit",
        lines,
        axis,
        rules=[Rule(limit, f"limit {show(limit)}")],
        y_format=None if unit == "usd" else short_count,
    )


def budgets_section(document: dict[str, Any]) -> str:
    budgets = document.get("budgets")
    if not budgets:
        body = placeholder(
            "budgets", "No budget was checked for this audit, so there is no burn-down."
        )
        return section("budgets", "Budgets", body)
    charts = "".join(
        chart_box(_budget_chart(i, b), _budget_caption(b))
        if b.get("daily")
        else placeholder(f"budget-{i}", f"{b['name']}: nothing spent in its period.")
        for i, b in enumerate(budgets)
    )
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


def breakeven_section(document: dict[str, Any]) -> str:
    breakeven = document.get("breakeven")
    if not breakeven or not breakeven.get("series"):
        message = "The break-even analysis has not run for this audit."
        return section("breakeven", "Break-even", placeholder("breakeven", message))
    lines = [
        Line(str(s["label"]), [(float(x), float(y)) for x, y in s["points"]])
        for s in breakeven["series"]
    ]
    xs = [x for one in lines for x, _ in one.points if x > 0]
    wide = bool(xs) and max(xs) / min(xs) > 100
    axis = XAxis(
        "tokens a month" + (" (log scale)" if wide else ""),
        short_count,
        log=wide,
    )
    volume = breakeven.get("user_volume_tokens")
    markers = (
        [Rule(float(volume), f"you: {short_count(float(volume))}")] if volume else []
    )
    chart = line_chart(
        "breakeven",
        "Monthly cost against monthly volume",
        lines,
        axis,
        markers=markers,
    )
    notes = "".join(
        element("li", esc(n))
        for n in breakeven.get("assumptions", [])
        if isinstance(n, str)
    )
    body = chart_box(chart, "Where the lines cross, the cheaper option changes.")
    if notes:
        body += element("ul", notes)
    return section("breakeven", "Break-even: local against API by volume", body)
