"""The whole page: head, headline block, sections, and the inlined style
sheet and sorting script, so the file opens with no network at all."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from importlib import resources
from typing import Any

from costaudit.interfaces.html.axes import day_label
from costaudit.interfaces.html.blocks import figure, placeholder, stat
from costaudit.interfaces.html.breakeven import breakeven_section
from costaudit.interfaces.html.markup import (
    count,
    data_value,
    element,
    esc,
    money,
    percent,
    void,
)
from costaudit.interfaces.html.plans import (
    advice_section,
    budgets_section,
    strategies_by_saving,
)
from costaudit.interfaces.html.sections import (
    OTHER_PROFILES,
    breakdown_section,
    daily_section,
    fold_profiles,
    local_vs_api_section,
    overview_section,
    provenance_section,
    spent,
    task_label,
    top_section,
)

# Only inline styles and scripts may run, and nothing may be fetched.
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; "
    "script-src 'unsafe-inline'; img-src data:"
)
CONTENTS = (
    ("overview", "Overview"),
    ("daily", "Per day"),
    ("breakdown", "Tasks and models"),
    ("top", "Top five"),
    ("local-vs-api", "Local vs API"),
    ("advice", "Savings"),
    ("budgets", "Budgets"),
    ("breakeven", "Break-even"),
    ("provenance", "Prices"),
)


def asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def period_text(document: dict[str, Any]) -> str:
    p = document["period"]
    if not p["first_day"]:
        return f"No usage recorded (times in {p['timezone']})."
    return (
        f"{p['first_day']} to {p['last_day']}: {p['days']} days, "
        f"times in {p['timezone']}"
    )


def _with_share(name: str, part: Any, whole: Any, of: str = "spend") -> str:
    """``name``, and the share of ``of`` that ``part`` is when both are known."""
    if part is None or not whole:
        return name
    return f"{name}, {percent(Decimal(part) / Decimal(whole))} of {of}"


def _biggest_saving(document: dict[str, Any]) -> str:
    advice = document.get("advice") or {}
    ranked = strategies_by_saving(advice)
    label = "Biggest saving a month"
    if not ranked or ranked[0].get("monthly_savings_usd") is None:
        return element(
            "div",
            element("div", label, class_="stat-label")
            + placeholder("headline-advice", "Not estimated: the advisor has not run."),
            class_="stat",
        )
    best = ranked[0]
    index = advice["strategies"].index(best)
    combined = advice.get("combined", {}).get("monthly_savings_usd")
    note = str(best["title"])
    if combined is not None:
        note += f"; all strategies together {money(combined)} a month"
    value = best["monthly_savings_usd"]
    confidence = best.get("confidence")
    badge = (
        element(
            "div",
            esc(f"{confidence} confidence"),
            class_=f"confidence confidence-{confidence}",
        )
        if confidence
        else ""
    )
    return stat(
        f"advice.strategies.{index}.monthly_savings_usd",
        label,
        value,
        money(value),
        note,
        extra=badge,
    )


def _window_card(document: dict[str, Any], label: str) -> str:
    """What the whole window cost, and the same as a monthly rate, so it can
    be set against the savings, which are a month."""
    o = document["overview"]
    monthly = ((document.get("advice") or {}).get("period") or {}).get(
        "monthly_spend_usd"
    )
    rate = (
        figure(
            "advice.period.monthly_spend_usd",
            monthly,
            money(monthly),
            " a month",
            "stat-rate",
        )
        if monthly is not None and o["calls"]
        else ""
    )
    notes = ["at this rate"] if rate else []
    if o["calls"]:
        per_query = spent(o, "cost_per_query_usd")
        notes.append(f"{per_query} a query, infrastructure included")
    return stat(
        "overview.cost_usd",
        label,
        o["cost_usd"],
        spent(o, "cost_usd"),
        "; ".join(notes),
        extra=rate,
    )


def _whole_day(day: date) -> str:
    """``Nov 1`` that a narrow card never splits over two lines."""
    return day_label(day).replace(" ", "\u00a0")


def span_text(first: Any, last: Any) -> str:
    """``Nov 1-30``, ``Oct 27 - Nov 30``: days as a reader says them."""
    start, end = date.fromisoformat(str(first)), date.fromisoformat(str(last))
    if start == end:
        return _whole_day(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{_whole_day(start)}\u2013{end.day}"
    return f"{_whole_day(start)} \u2013 {_whole_day(end)}"


def month_name(month: dict[str, Any]) -> str:
    return f"{date.fromisoformat(str(month['first_day'])):%B %Y}"


def _month_cards(document: dict[str, Any], month: dict[str, Any]) -> list[str]:
    """The latest month first: its spend, the whole window beside it (or,
    when the month is the whole window, its costliest profile), and its
    costliest task."""
    name = month_name(month)
    days = span_text(month["first_day"], month["last_day"])
    cards = [
        stat(
            "month.cost_usd",
            f"Spent in {name}",
            month["cost_usd"],
            money(month["cost_usd"]),
            f"{days}; {count(month['calls'])} calls",
        )
    ]
    if not month["whole_window"]:
        p = document["period"]
        label = f"Spent {span_text(p['first_day'], p['last_day'])}, {p['days']} days"
        cards.append(_window_card(document, label))
    elif month["profiles"]:
        top = str(month["profiles"][0]["profile"])
        cards.append(_month_top(month, "profiles", "profile", top))
    if month["tasks"]:
        costliest = task_label(month["tasks"][0])
        cards.append(_month_top(month, "tasks", "task", costliest))
    return cards


def _month_top(month: dict[str, Any], part: str, noun: str, label: str) -> str:
    """The month's costliest profile or task, named ``label``, and its share
    of the month."""
    top = month[part][0]
    return stat(
        f"month.{part}.0.cost_usd",
        f"Costliest {noun} in {month_name(month)}",
        top["cost_usd"],
        money(top["cost_usd"]),
        _with_share(label, top["cost_usd"], month["cost_usd"], "the month"),
    )


def _window_cards(document: dict[str, Any]) -> list[str]:
    """Without a month to lead with (nothing recorded): the window's own."""
    spend = document["overview"]["cost_usd"]
    cards = [_window_card(document, "Spent in this period")]
    if document["tasks"]:
        task = document["tasks"][0]
        note = _with_share(task_label(task), task["cost_usd"], spend)
        cards.append(
            stat(
                "tasks.0.cost_usd",
                "Costliest task",
                task["cost_usd"],
                money(task["cost_usd"]),
                note,
            )
        )
    return cards


def profile_strip(
    profiles: list[dict[str, Any]], where: str, title: str, order: list[str]
) -> str:
    """Spend split by profile as one bar; ``where`` is the profiles' place in
    the document. Colours follow ``order`` (the daily chart's profiles), so
    a profile has one colour on the page; the rest share the last."""
    spend = sum((p["cost_usd"] or Decimal(0) for p in profiles), Decimal(0))
    if not spend:
        return ""
    kept = fold_profiles(order)
    colours = {name: index for index, name in enumerate(kept)}
    shares, rest = [], Decimal(0)
    for index, p in enumerate(profiles):
        cost, name = p["cost_usd"] or Decimal(0), str(p["profile"])
        if name in colours:
            shares.append((name, cost, f"{where}.{index}.cost_usd", colours[name]))
        else:
            rest += cost
    if rest or len(kept) < len(order):
        shares.append((OTHER_PROFILES, rest, "", len(kept)))
    bar = "".join(_strip_part(spend, *share) for share in shares)
    key = "".join(_strip_key(spend, *share) for share in shares)
    return element(
        "div",
        element("div", esc(title), class_="stat-label")
        + element("div", bar, class_="strip-bar", aria_hidden="true")
        + element("ul", key, class_="strip-key"),
        class_="strip",
    )


def _strip_part(spend: Decimal, name: str, cost: Decimal, _: str, colour: int) -> str:
    share = cost / spend
    tip = f"{name}: {money(cost)}, {percent(share)}"
    width = f"width:{share * 100:.2f}%"
    return element("span", class_=f"c{colour}", style=width, title=tip)


def _strip_key(
    spend: Decimal, name: str, cost: Decimal, source: str, colour: int
) -> str:
    """A profile's entry under the bar; its amount carries its source."""
    shown = element(
        "span",
        esc(money(cost)),
        data_key=source or None,
        data_value=data_value(cost) if source else None,
    )
    text = esc(f"{name}: ") + shown + esc(f", {percent(cost / spend)}")
    return element("li", element("i", class_=f"c{colour}") + text)


def headline(document: dict[str, Any]) -> str:
    """The first screen: what was spent this month and in the whole window,
    where it went, and what to save first."""
    month = document.get("month")
    order = [str(p["profile"]) for p in document["profiles"]]
    if month and month.get("calls"):
        cards = _month_cards(document, month)
        title = f"Where the money went in {month_name(month)}, by profile"
        strip = profile_strip(month["profiles"], "month.profiles", title, order)
    else:
        cards = _window_cards(document)
        title = "Where the money went, by profile"
        strip = profile_strip(document["profiles"], "profiles", title, order)
    cards.append(_biggest_saving(document))
    return element(
        "section",
        element("div", "".join(cards), class_="stats headline-stats") + strip,
        id="headline",
        class_="headline",
        aria_label="Where the money went",
    )


def masthead(document: dict[str, Any]) -> str:
    links = "".join(
        element("li", element("a", esc(label), href=f"#{target}"))
        for target, label in CONTENTS
    )
    return element(
        "header",
        element("h1", "LLM cost audit")
        + element("p", esc(period_text(document)), class_="period")
        + element("nav", element("ul", links), aria_label="Sections"),
        class_="masthead",
    )


def render_page(document: dict[str, Any]) -> str:
    """The audit document as one self-contained HTML page."""
    body = "".join(
        [
            masthead(document),
            headline(document),
            overview_section(document),
            daily_section(document),
            breakdown_section(document),
            top_section(document),
            local_vs_api_section(document),
            advice_section(document),
            budgets_section(document),
            breakeven_section(document),
            provenance_section(document),
        ]
    )
    head = "".join(
        [
            void("meta", charset="utf-8"),
            void(
                "meta", name="viewport", content="width=device-width, initial-scale=1"
            ),
            void("meta", http_equiv="Content-Security-Policy", content=POLICY),
            element("title", esc(f"LLM cost audit, {period_text(document)}")),
            void("link", rel="icon", href="data:,"),
            element("style", asset("style.css")),
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        + element(
            "html",
            element("head", head)
            + element(
                "body", element("main", body) + element("script", asset("sort.js"))
            ),
            lang="en",
        )
        + "\n"
    )
