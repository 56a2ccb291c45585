"""``costaudit advise``: ways to spend less, ranked by monthly savings."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from costaudit.analysis.advisor import STRATEGY_IDS, AdviceOptions
from costaudit.analysis.advisor import advise as run_advice
from costaudit.analysis.advisor.runner import unknown_strategy
from costaudit.interfaces.cli.context import (
    FormatOption,
    NoScanOption,
    ProfileOption,
    SinceOption,
    TzOption,
    UntilOption,
    parse_day,
    scan_with_progress,
    state,
)
from costaudit.interfaces.cli.output import (
    Column,
    Format,
    console,
    count,
    money,
    print_csv,
    print_json,
    table,
)

SHOWN_ITEMS = 3


def _percent(value: Any) -> str:
    return "n/a" if value is None else f"{float(value) * 100:.1f}%"


COLUMNS = [
    Column("id", "strategy"),
    Column("monthly_savings_usd", "saves/month", lambda v: money(v, 2), True),
    Column("share", "of spend", _percent, True),
    Column("calls", "calls", count, True),
    Column("confidence", "confidence"),
    Column("title", "what"),
]


def ranking_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**s, "calls": s["applies_to"]["calls"]} for s in document["strategies"]]


def _value(key: str, value: Any) -> str:
    if isinstance(value, Decimal) and key.endswith("_usd"):
        return money(value, 4)
    if key in ("share", "hit_rate", "share_of_input", "cache_read_share"):
        return _percent(value)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _item(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    return ", ".join(f"{k} {_value(k, v)}" for k, v in item.items() if v is not None)


def render_strategy(out: Console, strategy: dict[str, Any]) -> None:
    """One strategy: savings, where from, the change, evidence, assumptions."""
    applies = strategy["applies_to"]
    out.print(
        f"\n[bold]{escape(strategy['title'])}[/bold] ({strategy['id']}): "
        f"{money(strategy['monthly_savings_usd'], 2)} a month, "
        f"{_percent(strategy['share'])} of spend, confidence "
        f"{strategy['confidence']}",
        soft_wrap=True,
    )
    if applies["calls"]:
        tasks = ", ".join(
            f"{t['profile']}/{t['task']} ({count(t['calls'])})"
            for t in applies["tasks"][:SHOWN_ITEMS]
        )
        out.print(
            f"  applies to {count(applies['calls'])} calls in "
            f"{count(applies['sessions'])} sessions: {tasks}",
            soft_wrap=True,
            markup=False,
        )
    for change in strategy["change"]:
        out.print(f"  change: {change}", soft_wrap=True, markup=False)
    for key, value in strategy["evidence"].items():
        if isinstance(value, list):
            for item in value[:SHOWN_ITEMS]:
                out.print(f"  {key}: {_item(item)}", soft_wrap=True, markup=False)
        elif value is not None:
            out.print(f"  {key}: {_value(key, value)}", soft_wrap=True, markup=False)
    out.print(
        "  assumes: " + "; ".join(strategy["assumptions"]), soft_wrap=True, markup=False
    )


def render_advice(out: Console, document: dict[str, Any]) -> None:
    """The advice as text: the ranking, then each strategy, then the total."""
    period, combined = document["period"], document["combined"]
    out.print(
        f"[bold]Ways to spend less[/bold] over {period['days']} days: spend "
        f"{money(period['spend_usd'], 2)} ({money(period['monthly_spend_usd'], 2)} "
        "a month)"
    )
    if period["unpriced_calls"]:
        out.print(f"  {count(period['unpriced_calls'])} unpriced calls left out")
    out.print(table(None, ranking_rows(document), COLUMNS))
    for strategy in document["strategies"]:
        render_strategy(out, strategy)
    out.print(
        f"\n[bold]All together[/bold] (applied in order "
        f"{', '.join(combined['order'])}): {money(combined['monthly_savings_usd'], 2)}"
        f" a month, {_percent(combined['share'])} of spend",
        soft_wrap=True,
    )


def advise(
    ctx: typer.Context,
    explain: Annotated[
        str | None,
        typer.Option("--explain", help="How one projection was computed (an id)."),
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    tz: TzOption = None,
    profile: ProfileOption = None,
    no_scan: NoScanOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Strategies to spend less, ranked by projected monthly savings."""
    only: tuple[str, ...] = ()
    if explain is not None and explain != "combined":
        if explain not in STRATEGY_IDS:
            raise unknown_strategy(explain)
        # One strategy's steps do not need the others to run.
        only = (explain,)
    with state(ctx).workspace() as workspace:
        if not no_scan:
            scan_with_progress(workspace)
        window = workspace.window(
            parse_day(since, "--since"), parse_day(until, "--until"), tz,
            tuple(profile or ()),
        )  # fmt: skip
        advice = run_advice(workspace, window, AdviceOptions(only=only))
    if explain is not None:
        steps = advice.explain(explain)
        if fmt is Format.json:
            print_json({"id": explain, "steps": steps})
        else:
            sys.stdout.write("".join(f"{step}\n" for step in steps))
        return
    document = advice.document()
    if fmt is Format.json:
        print_json(document)
    elif fmt is Format.csv:
        print_csv(ranking_rows(document), COLUMNS)
    else:
        render_advice(console(), document)
