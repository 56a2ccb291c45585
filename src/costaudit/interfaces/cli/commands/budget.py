"""``costaudit budget``: status, an unattended check that alerts, and the
cron or systemd lines that run it.

``budget check`` exit codes: 0 every budget within its limits and below its
warning thresholds; 3 a warning threshold crossed; 4 a limit reached (1 and
2 keep their usual meaning: an error, bad usage).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from costaudit.analysis.budgets import (
    BudgetStatus,
    CheckResult,
    budgets_from_config,
    evaluate_all,
    notification_urls,
    run_check,
    status_document,
)
from costaudit.interfaces.cli.context import (
    FormatOption,
    NoScanOption,
    note,
    scan_with_progress,
    state,
)
from costaudit.interfaces.cli.output import Column, Format, compact, emit, money
from costaudit.interfaces.notify import AppriseSender
from costaudit.workspace import Options, Workspace

budget_app = typer.Typer(
    help="Budgets: where each stands, alerts from cron, and how to schedule them.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

TABLE_COLUMNS = [
    Column("name", "budget"),
    Column("scope", "scope"),
    Column("period", "period"),
    Column("spent", "spent", numeric=True),
    Column("limit", "limit", numeric=True),
    Column("share", "share", numeric=True),
    Column("burn", "per day", numeric=True),
    Column("forecast", "forecast", numeric=True),
    Column("limit_reached_on", "limit on"),
    Column("level", "status"),
]
CSV_COLUMNS = [
    Column(key, key)
    for key in (
        "name", "scope", "period", "period_start", "period_end", "timezone",
        "spent_usd", "limit_usd", "usd_share", "burn_usd_per_day", "forecast_usd",
        "spent_tokens", "limit_tokens", "tokens_share", "burn_tokens_per_day",
        "forecast_tokens", "share", "limit_reached_on", "level", "unpriced_calls",
    )
]  # fmt: skip

AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Evaluate as at this moment (ISO 8601; without an offset, in the "
        "config's time zone) instead of now.",
    ),
]


def _as_of(value: str | None, workspace: Workspace) -> datetime:
    if value is None:
        return datetime.now(tz=UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date or time; use e.g. 2026-11-20T18:00",
            param_hint="--as-of",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=workspace.config.timezone)
    return moment


def _pair(usd: Any, tokens: Any) -> str:
    parts = []
    if usd is not None:
        parts.append(money(usd, 2))
    if tokens is not None:
        parts.append(f"{compact(tokens)} tok")
    return "\n".join(parts)


def _table_row(status: BudgetStatus) -> dict[str, Any]:
    doc = status_document(status)
    has_usd, has_tokens = status.usd is not None, status.tokens is not None
    return {
        **doc,
        "spent": _pair(
            doc["spent_usd"] if has_usd else None,
            doc["spent_tokens"] if has_tokens else None,
        ),
        "limit": _pair(doc["limit_usd"], doc["limit_tokens"]),
        "share": f"{float(doc['share']):.1%}",
        "burn": _pair(doc["burn_usd_per_day"], doc["burn_tokens_per_day"]),
        "forecast": _pair(doc["forecast_usd"], doc["forecast_tokens"]),
        "limit_reached_on": doc["limit_reached_on"] or "",
    }


def _statuses(workspace: Workspace, now: datetime) -> list[BudgetStatus]:
    budgets = budgets_from_config(workspace.config)
    if not budgets:
        where = workspace.config.path or "the config file"
        note(f"costaudit: no budgets configured; add [[budgets]] tables to {where}")
    return evaluate_all(workspace.ledger, budgets, now, workspace.config.timezone)


@budget_app.command("status")
def status(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    no_scan: NoScanOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Each budget's spend, limit, share, burn rate, forecast for the end of
    the period, and the day the limit is reached at the current rate."""
    with state(ctx).workspace() as workspace:
        if not no_scan:
            scan_with_progress(workspace)
        now = _as_of(as_of, workspace)
        statuses = _statuses(workspace, now)
        zone = workspace.config.timezone
    documents = [status_document(s) for s in statuses]
    document = {"as_of": now, "timezone": zone.key, "budgets": documents}
    if fmt is Format.csv:
        emit(fmt, document, documents, CSV_COLUMNS)
        return
    if not statuses and fmt is Format.table:
        return
    rows = [_table_row(s) for s in statuses]
    emit(
        fmt,
        document,
        rows,
        TABLE_COLUMNS,
        title=f"Budgets as of {now.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key})",
    )


def _report(result: CheckResult, dry_run: bool) -> None:
    """What was sent on stdout (cron mails it); failures on stderr."""
    for d in result.deliveries:
        if d.error is not None:
            where = f" to {d.recipient}" if d.recipient else ""
            note(f"costaudit: notification failed{where}: {d.title}: {d.error}")
            continue
        if not d.recipient:
            verb = "would record" if dry_run else "alert"
            sys.stdout.write(f"{verb}: {d.title}\n{d.body}\n")
            continue
        verb = "would send" if dry_run else ("sent again" if d.retry else "sent")
        sys.stdout.write(f"{verb} to {d.recipient}: {d.title}\n")
        if dry_run:
            sys.stdout.write(f"{d.body}\n")
    if any(d.recipient for d in result.failures) and not dry_run:
        note("costaudit: failed notifications are sent again on the next check")


@budget_app.command("check")
def check(
    ctx: typer.Context,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print what would be sent; record nothing."),
    ] = False,
    no_scan: NoScanOption = False,
) -> None:
    """Scan, then notify (through apprise) each budget threshold newly
    crossed. For cron or a systemd timer: each threshold alerts once per
    period; a failed notification is reported and retried on the next run.

    Exit codes: 0 every budget within limits and below its warning
    thresholds; 3 a warning threshold crossed; 4 a limit reached.
    """
    with state(ctx).workspace() as workspace:
        if not no_scan:
            scan_with_progress(workspace)
        config = workspace.config
        sender = AppriseSender(
            notification_urls(config), str(config.path or "<config>")
        )
        budgets = budgets_from_config(config)
        if not budgets:
            note(f"costaudit: no budgets configured in {config.path or 'the config'}")
        result = run_check(
            workspace.ledger,
            budgets,
            config.timezone,
            sender,
            datetime.now(tz=UTC),
            dry_run=dry_run,
        )
    _report(result, dry_run)
    raise typer.Exit(result.exit_code)


def _executable() -> list[str]:
    found = shutil.which("costaudit")
    if found:
        return [str(Path(found).resolve())]
    beside = Path(sys.executable).parent / "costaudit"
    if beside.exists():
        return [str(beside)]
    return [
        sys.executable,
        "-c",
        "from costaudit.interfaces.cli.app import main; main()",
    ]


def check_command(options: Options) -> list[str]:
    """The ``budget check`` command line with this run's global options, as
    absolute paths (cron and systemd start elsewhere, with little env)."""
    argv = _executable()
    hermes = options.hermes_home
    if hermes is None and os.environ.get("HERMES_HOME"):
        hermes = Path(os.environ["HERMES_HOME"])
    for flag, path in (
        ("--config", options.config_path),
        ("--ledger", options.ledger_path),
        ("--hermes-home", hermes),
    ):
        if path is not None:
            argv += [flag, str(path.expanduser().resolve())]
    return [*argv, "budget", "check"]


def schedule_text(argv: list[str], minutes: int) -> str:
    command = shlex.join(argv)
    cron_minute = "0" if minutes == 60 else f"*/{minutes}"
    calendar = "hourly" if minutes == 60 else f"*:0/{minutes}"
    return f"""\
# cron: run `crontab -e` and add this line (cron mails what the check prints)
{cron_minute} * * * * {command}

# systemd (user units): save the next two files, then run
#   systemctl --user daemon-reload
#   systemctl --user enable --now costaudit-budget.timer

# ~/.config/systemd/user/costaudit-budget.service
[Unit]
Description=costaudit budget check

[Service]
Type=oneshot
ExecStart={command}
# 3 and 4 mean a threshold or a limit is crossed: reported, not a failure.
SuccessExitStatus=3 4

# ~/.config/systemd/user/costaudit-budget.timer
[Unit]
Description=Run costaudit budget check every {minutes} minutes

[Timer]
OnCalendar={calendar}
Persistent=true

[Install]
WantedBy=timers.target
"""


@budget_app.command("schedule")
def schedule(
    ctx: typer.Context,
    every: Annotated[
        int,
        typer.Option("--every", min=1, max=60, help="Minutes between checks."),
    ] = 15,
) -> None:
    """Print a crontab line and a systemd service and timer that run
    ``budget check`` with this command's --config, --ledger and --hermes-home."""
    sys.stdout.write(schedule_text(check_command(state(ctx).options), every))
