"""The sections on spending less: the advisor's savings, budgets and the
break-even volume. Each comes from its own analysis; when the document has
no such part, the section says so instead of showing an empty chart."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from costaudit.interfaces.html.axes import day_label
from costaudit.interfaces.html.blocks import chart_box, number, placeholder, section
from costaudit.interfaces.html.drawing import Datum
from costaudit.interfaces.html.lines import (
    Line,
    Overlays,
    Rule,
    XAxis,
    YAxis,
    line_chart,
)
from costaudit.interfaces.html.markup import element, esc, money, short_count
from costaudit.interfaces.html.svg import Step, waterfall_chart
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


def monthly_spend(advice: dict[str, Any]) -> Step:
    """Current spend a month, from the combined figures or the advice period."""
    for part in ("combined", "period"):
        value = advice.get(part, {}).get("monthly_spend_usd")
        if value is not None:
            datum = Datum(f"advice.{part}.monthly_spend_usd", value)
            return Step("current spend", number(value) or 0.0, datum)
    return Step("current spend", 0.0)


def savings_steps(advice: dict[str, Any]) -> list[Step]:
    """The waterfall's steps, each a saving a month (negative).

    The combined figures apply the strategies one after another to what is
    left, so their steps add up to the combined saving; a step that saves
    nothing once combined is left out of the chart and named under it.
    Without them, each strategy's own saving is a step, and a last step
    gives back what they count twice.
    """
    strategies = advice.get("strategies", [])
    combined = advice.get("combined", {})
    if combined.get("steps"):
        titles = {s["id"]: str(s["title"]) for s in strategies}
        return [
            _step(
                titles.get(step["id"], str(step["id"])),
                f"advice.combined.steps.{i}",
                step,
            )
            for i, step in enumerate(combined["steps"])
            if number(step.get("monthly_savings_usd"))
        ]
    steps = [
        _step(str(s["title"]), f"advice.strategies.{strategies.index(s)}", s)
        for s in strategies_by_saving(advice)
        if number(s.get("monthly_savings_usd"))
    ]
    total = number(combined.get("monthly_savings_usd"))
    if total is not None:
        overlap = round(-total - sum(step.amount for step in steps), 6)
        if abs(overlap) >= 0.005:
            steps.append(Step("counted twice above", overlap))
    return steps


def _step(title: str, where: str, part: dict[str, Any]) -> Step:
    """A saving of ``part`` (a strategy or a combined step) at ``where``."""
    saved = part["monthly_savings_usd"]
    return Step(
        title, -(number(saved) or 0.0), Datum(f"{where}.monthly_savings_usd", saved)
    )


def _advice_missing(advice: dict[str, Any] | None) -> str | None:
    """Why there is no advice to draw, or None when there is."""
    if not advice:
        return NO_ADVICE
    if advice.get("error"):
        return f"No advice: {advice['error']}"
    if not advice.get("period", {}).get("calls"):
        return "No usage to advise on in this period."
    return None


ORDER_NOTE = (
    "Current spend is this period's spend as a monthly rate. The steps follow "
    "the order in which the advisor combines the strategies, not their size: "
    "calls that need not happen first, then calls a cache answers, then fewer "
    "or cheaper tokens, then where the remaining calls run. Each saves on what "
    "the ones before it left, so the steps add up to the combined saving "
    "without counting a call twice"
)


def _waterfall_caption(advice: dict[str, Any]) -> str:
    """How to read the waterfall, and why a step can differ from the table."""
    combined = advice.get("combined", {})
    if not combined.get("steps"):
        return (
            "Each strategy's own saving, largest first; the last step gives back "
            "what two strategies would both save on the same calls."
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
    caption = ORDER_NOTE + "."
    if differ:
        caption += (
            " That is why a step can be smaller than the same strategy in the "
            "table (" + "; ".join(differ) + ")."
        )
    return caption


def _overtaken(strategy: dict[str, Any], earlier: list[dict[str, Any]]) -> str:
    """Why a strategy that saves on its own saves nothing once combined."""
    group = strategy.get("group")
    before = [s for s in earlier if group and s.get("group") == group]
    if before:
        names = " and ".join(str(s["title"]) for s in before)
        cause = f"{names}, applied before it, already changed the same calls"
    else:
        cause = "the strategies applied before it already changed the calls"
    return f"{money(strategy['monthly_savings_usd'])} a month on its own, but {cause}"


def _nothing_items(idle: list[dict[str, Any]]) -> list[str]:
    """Strategies that save nothing even on their own, those that give the
    same reason together."""
    reasons: dict[str, list[str]] = {}
    for strategy in idle:
        why = strategy.get("confidence_why") or "nothing to change in this period"
        reasons.setdefault(str(why), []).append(str(strategy["title"]))
    return [
        element("li", element("b", esc(", ".join(titles))) + esc(f": {why}."))
        for why, titles in reasons.items()
    ]


def zero_steps(advice: dict[str, Any]) -> str:
    """The strategies the waterfall leaves out because, combined, they save
    nothing, each with the reason, so that none seems forgotten."""
    combined = advice.get("combined", {})
    alone = {s["id"]: s for s in advice.get("strategies", [])}
    earlier: list[dict[str, Any]] = []
    items, idle = [], []
    for step in combined.get("steps", []):
        strategy = alone.get(step["id"], {"title": step["id"]})
        if number(step.get("monthly_savings_usd")):
            earlier.append(strategy)
        elif number(strategy.get("monthly_savings_usd")):
            why = _overtaken(strategy, earlier)
            items.append(
                element("li", element("b", esc(strategy["title"])) + esc(f": {why}."))
            )
        else:
            idle.append(strategy)
    items += _nothing_items(idle)
    if not items:
        return ""
    return element(
        "div",
        element("p", "Left out of the chart, since combined they save $0:")
        + element("ul", "".join(items)),
        class_="zero-steps",
    )


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
        monthly_spend(advice),
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
    left = element("div", box + zero_steps(advice), class_="column")
    body = element("div", left + table, class_="pair")
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


def forecast_drawn(budget: dict[str, Any]) -> bool:
    """Whether the forecast can be drawn: it is known, and neither below what
    is already spent nor on or before the last day spent (the period's end
    is later). A forecast below spend is wrong, and a line down to it would
    read as money coming back."""
    unit, _ = _budget_unit(budget)
    forecast, daily = budget.get(f"forecast_{unit}"), budget.get("daily") or []
    if forecast is None or not daily:
        return False
    last = daily[-1]
    return Decimal(str(forecast)) >= Decimal(str(last[f"cumulative_{unit}"])) and (
        _ordinal(budget["period_end"]) > _ordinal(last["day"])
    )


def _budget_lines(index: int, budget: dict[str, Any]) -> list[Line]:
    """Spend so far, day by day, and the forecast from the last day spent."""
    unit, _ = _budget_unit(budget)
    key = f"cumulative_{unit}"
    where = f"budgets.{index}"
    spent = [(_ordinal(d["day"]), float(d[key])) for d in budget["daily"]]
    data = [
        Datum(f"{where}.daily.{j}.{key}", d[key]) for j, d in enumerate(budget["daily"])
    ]
    lines = [Line("spent so far", spent, data=data)]
    if forecast_drawn(budget):
        value = budget[f"forecast_{unit}"]
        end = (_ordinal(budget["period_end"]), float(value))
        lines.append(
            Line(
                "forecast",
                [spent[-1], end],
                dashed=True,
                data=[None, Datum(f"{where}.forecast_{unit}", value)],
                start_mark=False,
            )
        )
    return lines


def _budget_chart(index: int, budget: dict[str, Any], title: str) -> str:
    """Spend so far and the forecast to the period's end, under the limit,
    over the whole period of the budget."""
    unit, show = _budget_unit(budget)
    limit = float(budget[f"limit_{unit}"])
    period = (_ordinal(budget["period_start"]), _ordinal(budget["period_end"]))
    axis = XAxis(
        "day", lambda x: day_label(date.fromordinal(int(x))), days=True, domain=period
    )
    y_axis = (
        YAxis("US dollars")
        if unit == "usd"
        else YAxis("tokens", tick_label=short_count, value_label=_tokens)
    )
    return line_chart(
        f"budget-{index}",
        title,
        _budget_lines(index, budget),
        axis,
        y_axis,
        Overlays(rules=[Rule(limit, f"limit {show(limit)}")]),
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
    forecast = budget.get(f"forecast_{unit}")
    left = None if spent is None or limit is None else Decimal(limit) - Decimal(spent)
    caption = (
        f"{budget['period_start']} to {budget['period_end']}: spent {show(spent)}, "
        f"{show(left)} left"
    )
    if forecast is None:
        return caption + "; no forecast."
    if spent is not None and Decimal(str(forecast)) < Decimal(str(spent)):
        return (
            caption + f"; the forecast, {show(forecast)}, is below what is already "
            "spent, so it is not drawn."
        )
    return caption + f"; forecast {show(forecast)} by the period's end."
