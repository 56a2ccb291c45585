"""``costaudit advise``: ways to spend less, ranked by monthly savings."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich.console import Console

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
    counted,
    money,
    percent,
    print_csv,
    print_json,
    table,
)
from costaudit.interfaces.cli.text import Lines

SHOWN_ITEMS = 5
"""Items of a long evidence list printed as text; the line after says how
many there are and what the rest add up to."""
WHOLE_LIST = 8
"""A list this short is printed whole: a ladder, tiers, moves."""


COLUMNS = [
    Column("id", "strategy"),
    Column("monthly_savings_usd", "saves/month", lambda v: money(v, 2), True),
    Column("share", "of spend", percent, True),
    Column("calls", "calls", count, True, optional=1),
    Column("confidence", "confidence", whole=True),
    Column("title", "what"),
]


def ranking_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**s, "calls": s["applies_to"]["calls"]} for s in document["strategies"]]


def _value(key: str, value: Any) -> str:
    if isinstance(value, Decimal) and key.endswith("_usd"):
        return money(value, 4)
    if key in ("share", "hit_rate", "share_of_input", "cache_read_share") or (
        key.endswith("_rate") or key.endswith("_rate_upper_95") or key == "recall"
    ):
        return percent(value)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _item(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    return ", ".join(
        f"{k} {_value(k, v)}"
        for k, v in item.items()
        if v is not None and not _is_records(v)
    )


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and any(isinstance(v, dict) for v in value)


def _shown(total: int) -> int:
    return total if total <= WHOLE_LIST else SHOWN_ITEMS


def _rest(key: str, items: list[Any], total: int, indent: int) -> list[tuple[int, str]]:
    """The line that says how much of a list was left out, if any."""
    shown = min(len(items), _shown(total))
    if shown >= total:
        return []
    left = items[shown:]
    savings = [i.get("savings_usd") for i in left if isinstance(i, dict)]
    worth = ""
    known = len(savings) == len(left) == total - shown
    if known and all(isinstance(v, Decimal) for v in savings):
        worth = f"; the other {total - shown} save {money(sum(savings), 4)}"
    return [(indent, f"{key}: {shown} of {total} shown{worth} (--format json)")]


def _list_lines(
    key: str, items: list[Any], total: int, indent: int = 2
) -> list[tuple[int, str]]:
    lines = [(indent, f"{key}: {_item(i)}") for i in items[: _shown(total)]]
    for item in items[: _shown(total)]:
        if isinstance(item, dict):
            for inner, value in item.items():
                if _is_records(value):
                    lines += _list_lines(inner, value, len(value), indent + 4)
    return lines + _rest(key, items, total, indent)


def evidence_lines(evidence: dict[str, Any]) -> list[tuple[int, str]]:
    """Evidence as (indent, text) lines: whole short lists, long ones cut
    with a line that says "k of n shown" (a ``<key>_total`` gives n where
    the document itself holds only the first few)."""
    lines: list[tuple[int, str]] = []
    for key, value in evidence.items():
        if key.endswith("_total") and key.removesuffix("_total") in evidence:
            continue
        if isinstance(value, list):
            total = max(evidence.get(f"{key}_total", len(value)), len(value))
            lines += _list_lines(key, value, total)
        elif isinstance(value, dict):
            if key.endswith("_usd"):
                value = {f"{k}_usd": v for k, v in value.items()}
            lines.append((2, f"{key}: {_item(value)}"))
            for inner, items in value.items():
                if _is_records(items):
                    lines += _list_lines(inner, items, len(items), 6)
        elif value is not None:
            lines.append((2, f"{key}: {_value(key, value)}"))
    return lines


def render_strategy(out: Console, strategy: dict[str, Any]) -> None:
    """One strategy: savings, where from, the change, evidence, assumptions."""
    applies = strategy["applies_to"]
    out.print()
    out.print(
        Lines(
            f"{strategy['title']} ({strategy['id']}): "
            f"{money(strategy['monthly_savings_usd'], 2)} a month, "
            f"{percent(strategy['share'])} of spend, confidence "
            f"{strategy['confidence']}",
            style="bold",
        )
    )
    if strategy.get("confidence_why"):
        _detail(out, f"why {strategy['confidence']}: {strategy['confidence_why']}")
    if applies["calls"]:
        _detail(out, _applies(applies))
    for change in strategy["change"]:
        _detail(out, f"change: {change}")
    for indent, text in evidence_lines(strategy["evidence"]):
        out.print(Lines(text, indent=indent, hang=4))
    _detail(out, "assumes: " + "; ".join(strategy["assumptions"]))


def _applies(applies: dict[str, Any]) -> str:
    tasks = applies["tasks"]
    total = len(tasks) + applies.get("more_tasks", 0)
    shown = tasks[: _shown(total)]
    named = ", ".join(
        f"{t['profile']}/{t['task']} ({count(t['calls'])})" for t in shown
    )
    cut = (
        f" ({len(shown)} of {counted(total, 'task')} shown)"
        if len(shown) < total
        else ""
    )
    return (
        f"applies to {counted(applies['calls'], 'call')} in "
        f"{counted(applies['sessions'], 'session')}: {named}{cut}"
    )


def _detail(out: Console, text: str) -> None:
    # Wrapped under its own indent, and never markup: prompts and task
    # names come from the logs.
    out.print(Lines(text, indent=2, hang=4))


def render_advice(out: Console, document: dict[str, Any]) -> None:
    """The advice as text: the ranking, then each strategy, then the total."""
    period, combined = document["period"], document["combined"]
    out.print(
        f"[bold]Ways to spend less[/bold] over {counted(period['days'], 'day')}: spend "
        f"{money(period['spend_usd'], 2)} ({money(period['monthly_spend_usd'], 2)} "
        "a month)"
    )
    if period["unpriced_calls"]:
        unpriced = counted(period["unpriced_calls"], "unpriced call")
        out.print(f"  {unpriced} left out")
    out.print(table(None, ranking_rows(document), COLUMNS))
    for strategy in document["strategies"]:
        render_strategy(out, strategy)
    out.print()
    out.print(
        Lines(
            f"All together (applied in order {', '.join(combined['order'])}): "
            f"{money(combined['monthly_savings_usd'], 2)} a month, "
            f"{percent(combined['share'])} of spend",
            style="bold",
        )
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
