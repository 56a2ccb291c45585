"""The whole page: head, headline block, sections, and the inlined style
sheet and sorting script, so the file opens with no network at all."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from typing import Any

from costaudit.interfaces.html.blocks import figure, placeholder, stat
from costaudit.interfaces.html.breakeven import breakeven_section
from costaudit.interfaces.html.markup import element, esc, money, percent, void
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


def _with_share(name: str, part: Any, whole: Any) -> str:
    """``name``, and the share of spend ``part`` is when both are known."""
    if part is None or not whole:
        return name
    return f"{name}, {percent(Decimal(part) / Decimal(whole))} of spend"


def _biggest_saving(document: dict[str, Any]) -> str:
    advice = document.get("advice") or {}
    ranked = strategies_by_saving(advice)
    if not ranked or ranked[0].get("monthly_savings_usd") is None:
        return element(
            "div",
            element("div", "Biggest saving", class_="stat-label")
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
        "Biggest saving",
        value,
        money(value),
        note,
        unit=" a month",
        extra=badge,
    )


def _spend_card(document: dict[str, Any]) -> str:
    """What the period cost, and the same as a monthly rate, so it can be set
    against the savings, which are a month."""
    o = document["overview"]
    days = document["period"]["days"]
    monthly = ((document.get("advice") or {}).get("period") or {}).get(
        "monthly_spend_usd"
    )
    rate = (
        figure(
            "advice.period.monthly_spend_usd",
            monthly,
            money(monthly),
            " a month at this rate",
            "stat-rate",
        )
        if monthly is not None and o["calls"]
        else ""
    )
    per_query = spent(o, "cost_per_query_usd")
    return stat(
        "overview.cost_usd",
        "Spend this period",
        o["cost_usd"],
        spent(o, "cost_usd"),
        f"{per_query} a query incl. infrastructure" if o["calls"] else "",
        unit=f" in {days} days" if days else "",
        extra=rate,
    )


def profile_strip(document: dict[str, Any]) -> str:
    """Spend split by profile as one bar, coloured as in the daily chart."""
    profiles = document["profiles"]
    spend = sum((p["cost_usd"] or Decimal(0) for p in profiles), Decimal(0))
    if not spend:
        return ""
    kept = fold_profiles([str(p["profile"]) for p in profiles])
    parts = [(str(p["profile"]), p["cost_usd"] or Decimal(0)) for p in profiles]
    shares = parts[: len(kept)]
    if len(kept) < len(parts):
        shares.append(
            (OTHER_PROFILES, sum((c for _, c in parts[len(kept) :]), Decimal(0)))
        )
    bar, key = [], []
    for index, (name, cost) in enumerate(shares):
        share = cost / spend
        tip = f"{name}: {money(cost)}, {percent(share)}"
        bar.append(
            element(
                "span", class_=f"c{index}", style=f"width:{share * 100:.2f}%", title=tip
            )
        )
        key.append(element("li", element("i", class_=f"c{index}") + esc(tip)))
    return element(
        "div",
        element("div", "Where the money went, by profile", class_="stat-label")
        + element("div", "".join(bar), class_="strip-bar", aria_hidden="true")
        + element("ul", "".join(key), class_="strip-key"),
        class_="strip",
    )


def headline(document: dict[str, Any]) -> str:
    """The first screen: what was spent, where it went, what to save first."""
    spend = document["overview"]["cost_usd"]
    cards = [_spend_card(document)]
    if document["profiles"]:
        top = document["profiles"][0]
        note = _with_share(str(top["profile"]), top["cost_usd"], spend)
        cards.append(
            stat(
                "profiles.0.cost_usd",
                "Costliest profile",
                top["cost_usd"],
                money(top["cost_usd"]),
                note,
            )
        )
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
    cards.append(_biggest_saving(document))
    return element(
        "section",
        element("div", "".join(cards), class_="stats headline-stats")
        + profile_strip(document),
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
