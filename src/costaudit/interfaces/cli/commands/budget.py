"""``costaudit budget``: status, an unattended check that alerts, and the
cron or systemd lines that run it.

``budget check`` exit codes: 0 every budget within its limits and below its
warning thresholds; 3 a warning threshold crossed; 4 a limit reached; 5 a
notification failed on this run or was given up (1 and 2 keep their usual
meaning: an error, bad usage).
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
    Budget,
    BudgetStatus,
    CheckResult,
    budgets_from_config,
    evaluate_all,
    max_attempts,
    notification_urls,
    run_check,
    scope_problem,
    status_document,
)
from costaudit.analysis.budgets import state as alert_state
from costaudit.analysis.budgets.evaluate import SINCE_START
from costaudit.interfaces.cli.context import (
    FormatOption,
    NoScanOption,
    note,
    scan_with_progress,
    state,
)
from costaudit.interfaces.cli.output import Column, Format, compact, emit, money
from costaudit.interfaces.notify import AppriseSender
from costaudit.ledger.store import Ledger
from costaudit.workspace import Options, Workspace

budget_app = typer.Typer(
    help="Budgets: where each stands, alerts from cron, and how to schedule them.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

TABLE_COLUMNS = [
    Column("name", "budget"),
    Column("scope", "scope", optional=2),
    Column("period", "period", whole=True),
    Column("spent", "spent", numeric=True),
    Column("limit", "limit", numeric=True),
    Column("share", "share", numeric=True),
    Column("burn", "per day", numeric=True, optional=3),
    Column("forecast", "forecast", numeric=True, optional=1),
    Column("limit_reached_on", "limit on", whole=True),
    Column("level", "status", whole=True),
]
CSV_COLUMNS = [
    Column(key, key)
    for key in (
        "name", "scope", "period", "period_start", "period_end", "timezone",
        "spent_usd", "limit_usd", "usd_share", "burn_usd_per_day", "burn_usd_basis",
        "forecast_usd", "spent_tokens", "limit_tokens", "tokens_share",
        "burn_tokens_per_day", "burn_tokens_basis", "forecast_tokens", "share",
        "limit_reached_on", "level", "unpriced_calls",
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


def _rate_notes(statuses: list[BudgetStatus]) -> None:
    """Say which span a burn rate rests on where it is not simply the time
    since the period began (a rolling window, or a period's first hours)."""
    for status in statuses:
        bases = {m.basis for m in status.measures if m.basis != SINCE_START}
        for basis in sorted(bases):
            note(f"costaudit: budget {status.budget.name!r}: burn rate {basis}")


def _budgets(workspace: Workspace) -> list[Budget]:
    """The configured budgets, each checked, with a note on scopes that match
    nothing in the ledger (a misspelt profile would otherwise read as $0)."""
    budgets = budgets_from_config(workspace.config)
    if not budgets:
        where = workspace.config.path or "the config file"
        note(f"costaudit: no budgets configured; add [[budgets]] tables to {where}")
    for budget in budgets:
        problem = scope_problem(workspace.ledger, budget)
        if problem is not None:
            note(f"costaudit: warning: {problem}")
    return budgets


def _undelivered(ledger: Ledger, status: BudgetStatus) -> list[dict[str, Any]]:
    rows = alert_state.undelivered(ledger, status.budget.name, status.now)
    for row in rows:
        what = "given up" if row.status == alert_state.GAVE_UP else "to be retried"
        tries = f"{row.attempts} attempt{'s' if row.attempts != 1 else ''}"
        note(
            f"costaudit: budget {row.budget!r}: the alert at "
            f"{row.threshold.normalize():f}% was not delivered after {tries} "
            f"({what}): {row.last_error}"
        )
    return [
        {
            "threshold": row.threshold.normalize(),
            "status": row.status,
            "attempts": row.attempts,
            "last_error": row.last_error,
        }
        for row in rows
    ]


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
        zone = workspace.config.timezone
        now = _as_of(as_of, workspace)
        budgets_from_config(workspace.config)  # refuse a bad config before scanning
        if not no_scan:
            scan_with_progress(workspace)
        budgets = _budgets(workspace)
        statuses = evaluate_all(workspace.ledger, budgets, now, zone)
        documents = [
            {
                **status_document(s),
                "undelivered_alerts": _undelivered(workspace.ledger, s),
            }
            for s in statuses
        ]
    document = {"as_of": now, "timezone": zone.key, "budgets": documents}
    if fmt is Format.csv:
        emit(fmt, document, documents, CSV_COLUMNS)
        return
    if not statuses and fmt is Format.table:
        return
    rows = [_table_row(s) for s in statuses]
    if fmt is Format.table:
        _rate_notes(statuses)
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
            what = "notification given up" if d.gave_up else "notification failed"
            note(f"costaudit: {what}{where}: {d.title}: {d.error}")
            continue
        if not d.recipient:
            verb = "would record" if dry_run else "alert"
            sys.stdout.write(f"{verb}: {d.title}\n{d.body}\n")
            continue
        verb = "would send" if dry_run else ("sent again" if d.retry else "sent")
        sys.stdout.write(f"{verb} to {d.recipient}: {d.title}\n")
        if dry_run:
            sys.stdout.write(f"{d.body}\n")
    if any(not d.gave_up for d in result.undelivered) and not dry_run:
        note(
            "costaudit: failed notifications are sent again on the next check, "
            "until their period ends or [notifications] max_attempts is reached"
        )


@budget_app.command("check")
def check(
    ctx: typer.Context,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print what would be sent; record nothing."),
    ] = False,
    no_scan: NoScanOption = False,
) -> None:
    """Scan, then notify (through apprise) each budget that crossed a
    threshold: one alert per budget, for the highest threshold newly crossed.
    For cron or a systemd timer: each threshold alerts once per period; a
    failed notification is reported and retried, with fresh figures, on the
    next run.

    Exit codes: 0 every budget within limits and below its warning
    thresholds; 3 a warning threshold crossed; 4 a limit reached; 5 a
    notification failed on this run or was given up.
    """
    with state(ctx).workspace() as workspace:
        config = workspace.config
        zone = config.timezone
        sender = AppriseSender(
            notification_urls(config), str(config.path or "<config>")
        )
        attempts = max_attempts(config)
        budgets_from_config(config)  # refuse a bad config before scanning
        if not no_scan:
            scan_with_progress(workspace)
        result = run_check(
            workspace.ledger,
            _budgets(workspace),
            zone,
            sender,
            datetime.now(tz=UTC),
            dry_run=dry_run,
            max_attempts=attempts,
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


# Intervals that repeat evenly: a cron step restarts at every hour (or day),
# so */45 would fire at :00 and :45; only divisors of 60 minutes, or of 24
# hours, give the interval asked for.
MINUTE_STEPS = tuple(n for n in range(1, 61) if 60 % n == 0)
HOUR_STEPS = tuple(n for n in range(1, 25) if 24 % n == 0)
EVERY_CHOICES = (*MINUTE_STEPS[:-1], *(60 * h for h in HOUR_STEPS))


def cron_times(minutes: int) -> str:
    """The five time fields of a crontab line running every ``minutes``."""
    if minutes < 60:
        return f"*/{minutes} * * * *"
    hours = minutes // 60
    if hours == 1:
        return "0 * * * *"
    return "0 0 * * *" if hours == 24 else f"0 */{hours} * * *"


def cron_escape(command: str) -> str:
    """cron turns an unescaped % into a newline."""
    return command.replace("%", "\\%")


def systemd_escape(command: str) -> str:
    """systemd expands %-specifiers in ExecStart; %% is a literal %."""
    return command.replace("%", "%%")


def schedule_text(argv: list[str], minutes: int) -> str:
    command = shlex.join(argv)
    return f"""\
# cron: run `crontab -e` and add this line (cron mails what the check prints)
{cron_times(minutes)} {cron_escape(command)}

# systemd (user units): save the next two files, then run
#   systemctl --user daemon-reload
#   systemctl --user enable --now costaudit-budget.timer
# and, so the timer runs while you are logged out,
#   loginctl enable-linger "$USER"

# ~/.config/systemd/user/costaudit-budget.service
[Unit]
Description=costaudit budget check

[Service]
Type=oneshot
ExecStart={systemd_escape(command)}
# 3 and 4 mean a threshold or a limit is crossed: reported, not a failure;
# 5 (a notification not delivered) is left a failure, so it shows.
SuccessExitStatus=3 4

# ~/.config/systemd/user/costaudit-budget.timer
[Unit]
Description=Run costaudit budget check every {minutes} minutes

[Timer]
OnActiveSec=1min
OnUnitActiveSec={minutes}min

[Install]
WantedBy=timers.target
"""


@budget_app.command("schedule")
def schedule(
    ctx: typer.Context,
    every: Annotated[
        int,
        typer.Option(
            "--every",
            help="Minutes between checks: a divisor of 60 (1 to 30), or 60 "
            "times a divisor of 24 (60, 120, 180, 240, 360, 480, 720, 1440).",
        ),
    ] = 15,
) -> None:
    """Print a crontab line and a systemd service and timer that run
    ``budget check`` with this command's --config, --ledger and --hermes-home."""
    if every not in EVERY_CHOICES:
        choices = ", ".join(str(n) for n in EVERY_CHOICES)
        raise typer.BadParameter(
            f"{every} minutes does not repeat evenly in cron; use one of {choices}",
            param_hint="--every",
        )
    sys.stdout.write(schedule_text(check_command(state(ctx).options), every))
