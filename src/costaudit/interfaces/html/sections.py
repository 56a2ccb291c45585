"""The sections on where the money went: overview, per day, per task and
model, the top five, local versus API, and where prices came from."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from costaudit.interfaces.html.blocks import (
    chart_box,
    number,
    placeholder,
    section,
    stat,
)
from costaudit.interfaces.html.drawing import Datum
from costaudit.interfaces.html.markup import (
    count,
    data_value,
    element,
    esc,
    money,
    percent,
    short_count,
)
from costaudit.interfaces.html.svg import Series, bar_chart, stacked_bar_chart
from costaudit.interfaces.html.tables import Column, sortable_table

CHART_ROWS = 10
STACKED_PROFILES = 7
OTHER_PROFILES = "other profiles"

TASK_COLUMNS = [
    Column("profile", "Profile", "name"),
    Column("task", "Task", "long"),
    Column("calls", "Calls", "count"),
    Column("sessions", "Sessions", "count"),
    Column("total_tokens", "Tokens", "count"),
    Column("cost_usd", "Cost", "money"),
    Column("cost_per_query_usd", "Cost per query", "money"),
    Column("unpriced_calls", "Unpriced calls", "count", drop_if_zero=True),
]
MODEL_COLUMNS = [Column("model", "Model", "name"), *TASK_COLUMNS[2:]]
PROFILE_COLUMNS = [
    Column("profile", "Profile", "name"),
    *(c for c in TASK_COLUMNS if c.key in ("calls", "cost_usd", "unpriced_calls")),
    Column("cost_per_query_usd", "Per query", "money"),
]
TOP_COLUMNS = [
    Column("profile", "Profile", "name"),
    Column("task", "Task", "long"),
    Column("runs", "Runs", "count"),
    Column("calls", "Calls", "count"),
    Column("total_tokens", "Tokens", "count"),
    Column("cost_usd", "Cost", "money"),
    Column("cost_per_run_usd", "Cost per run", "money"),
    Column("cost_per_month_usd", "Cost a month", "money"),
    Column("unpriced_calls", "Unpriced calls", "count", drop_if_zero=True),
]
DAILY_COLUMNS = [
    Column("day", "Day", "name"),
    Column("cost_usd", "Spend", "money"),
    Column("api_cost_usd", "API", "money"),
    Column("local_cost_usd", "Local", "money"),
    Column("calls", "Calls", "count"),
    Column("total_tokens", "Tokens", "count"),
    Column("unpriced_calls", "Unpriced calls", "count", drop_if_zero=True),
]
COMPARE_COLUMNS = [
    Column("profile", "Profile", "name"),
    Column("task", "Task", "long"),
    Column("calls", "Calls", "count"),
    Column("local_calls", "Local calls", "count"),
    Column("billed_usd", "As billed", "money"),
    Column("as_local_usd", "All local, electricity only", "money"),
    Column("as_api_usd", "All on the API", "money"),
    Column("api_minus_local_usd", "API minus local", "money"),
    Column("unpriced_calls", "Unpriced calls", "count", drop_if_zero=True),
    Column("cheaper", "Cheaper on electricity"),
]


def task_label(row: dict[str, Any]) -> str:
    return f"{row['profile']} / {row['task'] or '(no task)'}"


def spent(overview: dict[str, Any], key: str) -> str:
    """A sum from the overview; an empty sum is $0 when no call is unpriced."""
    if not overview["calls"]:
        return "—"
    value = overview[key]
    if value is None and not overview["unpriced_calls"]:
        return money(0)
    return money(value)


def overview_section(document: dict[str, Any]) -> str:
    o = document["overview"]
    tokens = o["total_tokens"]
    cards = [
        stat(
            "overview.api_cost_usd",
            "API spend",
            o["api_cost_usd"],
            spent(o, "api_cost_usd"),
            "billed by providers",
        ),
        stat(
            "overview.local_cost_usd",
            "Local energy",
            o["local_cost_usd"],
            spent(o, "local_cost_usd"),
            "electricity of local models",
        ),
        stat(
            "overview.infra_cost_usd",
            "Infrastructure",
            o["infra_cost_usd"],
            spent(o, "infra_cost_usd"),
            "fixed cost, not in spend",
        ),
        stat(
            "overview.cost_per_query_usd",
            "Cost per query",
            o["cost_per_query_usd"],
            spent(o, "cost_per_query_usd"),
            "infrastructure share included",
        ),
        stat(
            "overview.calls",
            "Calls",
            o["calls"],
            count(o["calls"]),
            f"in {count(o['sessions'])} sessions",
        ),
        stat(
            "overview.total_tokens",
            "Tokens",
            tokens,
            "—" if tokens is None else short_count(float(tokens)),
            _cache_note(o),
        ),
        stat(
            "overview.local_call_share",
            "Local share of calls",
            o["local_call_share"],
            percent(o["local_call_share"]),
            "answered by a model on your machine",
        ),
        stat(
            "overview.unpriced_calls",
            "Unpriced calls",
            o["unpriced_calls"],
            count(o["unpriced_calls"]),
            "not counted as $0",
        ),
    ]
    body = element("div", "".join(cards), class_="stats")
    return section("overview", "Overview", body)


def _cache_note(overview: dict[str, Any]) -> str:
    cached = overview.get("cache_read_tokens")
    if not cached:
        return "prompt and completion"
    return f"{short_count(float(cached))} of them cache reads"


def _days(document: dict[str, Any]) -> list[date]:
    period = document["period"]
    if not period["first_day"] or not period["last_day"]:
        return []
    first = date.fromisoformat(str(period["first_day"]))
    last = date.fromisoformat(str(period["last_day"]))
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def fold_profiles(names: list[str]) -> list[str]:
    """The profiles charted on their own; the rest share one colour."""
    if len(names) <= STACKED_PROFILES:
        return names
    return names[: STACKED_PROFILES - 1]


def _profile_series(document: dict[str, Any], days: list[date]) -> list[Series]:
    """One series per profile, in the order of the profiles table. A profile
    charted on its own has one row of the document a day, which its bar
    carries; the folded ones share a colour and have no one row."""
    names = [str(p["profile"]) for p in document["profiles"]]
    kept = fold_profiles(names)
    cost: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    rows: dict[tuple[str, str], Datum] = {}
    for index, row in enumerate(document["daily_by_profile"]):
        name = row["profile"] if row["profile"] in kept else OTHER_PROFILES
        day = str(row["day"])
        cost[name][day] += row["cost_usd"] or Decimal(0)
        if name in kept:
            where = f"daily_by_profile.{index}.cost_usd"
            rows[(name, day)] = Datum(where, row["cost_usd"])
    order = kept + ([OTHER_PROFILES] if len(kept) < len(names) else [])
    return [
        Series(
            name,
            [number(cost[name].get(d.isoformat())) for d in days],
            [rows.get((name, d.isoformat())) for d in days],
        )
        for name in order
    ]


def daily_section(document: dict[str, Any]) -> str:
    days = _days(document)
    if not days:
        body = placeholder("daily", "No usage was recorded in this period.")
        return section("daily", "Spend per day", body)
    if "daily_by_profile" not in document:
        per_day = {
            str(r["day"]): Datum(f"daily.{i}.cost_usd", r["cost_usd"])
            for i, r in enumerate(document["daily"])
        }
        data = [per_day.get(d.isoformat()) for d in days]
        costs = [number(d.value) if d is not None else None for d in data]
        series = [Series("all profiles", costs, data)]
        caption = "One bar a day, all profiles together."
    else:
        series = _profile_series(document, days)
        caption = "One bar a day, split by profile; infrastructure not included."
    title = "Spend per day by profile"
    svg = stacked_bar_chart("daily", title, days, series)
    profiles = sortable_table(
        "profiles", "Cost by profile", document["profiles"], PROFILE_COLUMNS
    )
    each_day = sortable_table(
        "daily", "Spend each day", document["daily"], DAILY_COLUMNS
    )
    left = element("div", chart_box(svg, caption, title) + profiles, class_="column")
    body = element(
        "div", left + element("div", each_day, class_="column"), class_="pair"
    )
    return section("daily", "Spend per day", body)


def _cost_chart(
    chart_id: str, title: str, labels: list[str], source: str, rows: list[Any]
) -> str:
    """The costliest rows of ``source`` (tasks or models) as bars."""
    shown = rows[:CHART_ROWS]
    costs = [number(r["cost_usd"]) for r in shown]
    data = [Datum(f"{source}.{i}.cost_usd", r["cost_usd"]) for i, r in enumerate(shown)]
    series = [Series("cost", costs, data)]
    svg = bar_chart(chart_id, title, labels[:CHART_ROWS], series)
    return chart_box(svg, _shown(source[:-1], len(rows)), title)


def _shown(noun: str, total: int) -> str:
    if total <= CHART_ROWS:
        return ""
    return f"The {CHART_ROWS} costliest of {total} {noun}s; the table has them all."


def breakdown_section(document: dict[str, Any]) -> str:
    tasks, models = document["tasks"], document["models"]
    if not tasks:
        body = placeholder("breakdown", "No usage was recorded in this period.")
        return section("breakdown", "Cost by task and by model", body)
    task_chart = _cost_chart(
        "by-task", "Cost by task", [task_label(r) for r in tasks], "tasks", tasks
    )
    model_chart = _cost_chart(
        "by-model", "Cost by model", [str(r["model"]) for r in models], "models", models
    )
    charts = element("div", task_chart + model_chart, class_="pair")
    tables = sortable_table(
        "tasks", "Cost by profile and task", tasks, TASK_COLUMNS
    ) + sortable_table("models", "Cost by model", models, MODEL_COLUMNS)
    return section("breakdown", "Cost by task and by model", charts + tables)


def top_section(document: dict[str, Any]) -> str:
    table = sortable_table(
        "top", "The five costliest operations", document["top"], TOP_COLUMNS
    )
    intro = "An operation is a profile's task over all its runs in the period."
    return section("top", "Top five operations", table, intro)


def local_vs_api_section(document: dict[str, Any]) -> str:
    lva = document["local_vs_api"]
    if lva.get("error"):
        body = placeholder("local-vs-api", f"No comparison: {lva['error']}")
        return section("local-vs-api", "Local versus API", body)
    if not lva["rows"]:
        body = placeholder("local-vs-api", "No usage to compare in this period.")
        return section("local-vs-api", "Local versus API", body)
    table = sortable_table(
        "local_vs_api.rows",
        f"Per task: {lva['local_model']} against {lva['api_model']}",
        lva["rows"],
        COMPARE_COLUMNS,
        lva["totals"],
    )
    pair = element("div", _task_comparison(lva) + _total_comparison(lva), class_="pair")
    intro = _electricity_only(lva, document.get("breakeven") or {})
    return section("local-vs-api", "Local versus API", intro + pair + table)


def _electricity_only(lva: dict[str, Any], breakeven: dict[str, Any]) -> str:
    """Say that "all local" counts electricity alone, and what the machine
    adds, so this section and the break-even do not seem to disagree."""
    lead = (
        "\u201cAll local\u201d is what each task would cost in electricity alone "
        f"on {esc(lva['local_assumptions'])}."
    )
    machine = (breakeven.get("machine") or {}).get("cost_usd_per_month")
    if machine is None:
        rest = (
            " The machine's rent and idle power are not in it; they are the "
            "infrastructure figure of the overview."
        )
    else:
        shown = element(
            "span",
            esc(money(machine)),
            data_key="breakeven.machine.cost_usd_per_month",
            data_value=data_value(machine),
        )
        rest = (
            " The machine itself, running all month whether used or not, costs "
            + shown
            + " a month, which is not in it: the break-even section below adds "
            "it, and finds where running locally starts to pay."
        )
    return element("p", lead + rest, class_="intro")


def _comparison_series(
    lva: dict[str, Any], rows: list[Any], where: list[str]
) -> list[Series]:
    """As billed, all local and all on the API; ``where`` is each row's place
    in the document."""

    def data(key: str) -> list[Datum | None]:
        return [Datum(f"{w}.{key}", r[key]) for w, r in zip(where, rows, strict=True)]

    return [
        Series("as billed", [_billed(r) for r in rows], data("billed_usd")),
        Series(
            "all local (electricity)",
            [number(r["as_local_usd"]) for r in rows],
            data("as_local_usd"),
        ),
        Series(
            f"all on {lva['api_model']}",
            [number(r["as_api_usd"]) for r in rows],
            data("as_api_usd"),
        ),
    ]


def _task_comparison(lva: dict[str, Any]) -> str:
    rows = lva["rows"][:CHART_ROWS]
    title = f"Each task as billed, all local and all on {lva['api_model']}"
    where = [f"local_vs_api.rows.{i}" for i in range(len(rows))]
    chart = bar_chart(
        "local-vs-api",
        title,
        [task_label(r) for r in rows],
        _comparison_series(lva, rows, where),
    )
    return chart_box(chart, _shown("task", len(lva["rows"])), title)


def _total_comparison(lva: dict[str, Any]) -> str:
    """Every task together: what the whole period would have cost each way."""
    rows = lva["rows"]
    title = "All tasks together"
    chart = bar_chart(
        "local-vs-api-totals",
        title,
        [f"all {len(rows)} tasks"],
        _comparison_series(lva, [lva["totals"]], ["local_vs_api.totals"]),
    )
    local = sum(1 for r in rows if r.get("cheaper") == "local")
    caption = (
        f"Counting electricity only, {lva['local_model']} would be cheaper for "
        f"{local} of {len(rows)} tasks; the machine's own cost is in the "
        "break-even below."
    )
    return chart_box(chart, caption, title)


def _billed(row: dict[str, Any]) -> float | None:
    """What a task was billed; None when none of its calls has a price."""
    if row["unpriced_calls"] and row["unpriced_calls"] == row["calls"]:
        return None
    return number(row["billed_usd"])


PROVENANCE_COLUMNS = [
    Column("cost_source", "Price source", "name"),
    Column("calls", "Calls", "count"),
    Column("cost_usd", "Cost", "money"),
    Column("models", "Models", "count"),
]
UNPRICED_COLUMNS = [
    Column("model", "Model", "name"),
    Column("provider", "Provider", "name"),
    Column("calls", "Calls", "count"),
    Column("total_tokens", "Tokens", "count"),
]
DISAGREEMENT_COLUMNS = [
    Column("model", "Model", "name"),
    Column("provider", "Provider", "name"),
    Column("calls", "Calls", "count"),
    Column("agent_cost_usd", "Agent's estimate", "money"),
    Column("cost_usd", "Ours", "money"),
    Column("difference_share", "Difference", "percent"),
]


def _price_examples(rows: list[dict[str, Any]]) -> str:
    """One example price per source, outside the table: these are sentences,
    and in a narrow table they would stretch every row around them."""
    items = "".join(
        element("li", element("b", esc(r["cost_source"])) + ": " + esc(r["example"]))
        for r in rows
        if r.get("example")
    )
    if not items:
        return ""
    return element("p", "Where each source's prices come from, for example:") + (
        element("ul", items, class_="examples")
    )


def provenance_section(document: dict[str, Any]) -> str:
    parts = [
        sortable_table(
            "provenance",
            "Cost by price source",
            document["provenance"],
            PROVENANCE_COLUMNS,
        ),
        _price_examples(document["provenance"]),
    ]
    unpriced = document["unpriced"]
    if unpriced:
        names = ", ".join(f'[prices."{r["model"]}"]' for r in unpriced)
        parts.append(
            element("p", esc(f"To price these calls, add {names} to the config."))
        )
        parts.append(
            sortable_table("unpriced", "Unpriced calls", unpriced, UNPRICED_COLUMNS)
        )
    else:
        parts.append(element("p", "Every call in this period has a price."))
    if document["disagreements"]:
        parts.append(
            sortable_table(
                "disagreements",
                "Where the agent's own estimate differs from ours by over 10%",
                document["disagreements"],
                DISAGREEMENT_COLUMNS,
            )
        )
    assumptions = "".join(element("li", esc(a)) for a in document["assumptions"])
    parts.append(element("h3", "Assumptions") + element("ul", assumptions))
    return section("provenance", "Price provenance and unpriced calls", "".join(parts))
