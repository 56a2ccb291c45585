"""``budget check``: one notification for what each budget newly crossed.

Made to run unattended (cron, a systemd timer). Each threshold alerts once in
a period (see :mod:`costaudit.analysis.budgets.state`). When one run finds a
budget past several thresholds it has not alerted yet (spend jumped from 40%
to 85% since the last check), it sends one alert, for the highest, with the
figures as they stand, and records the lower ones as covered by it. A
notification that fails is reported and sent again on the next run, with
the figures of that run, until its period ends or it has been tried
``max_attempts`` times; a retry that a newer, higher alert of the same
budget covers is not sent again. Exit codes:

    0  every budget is within its limits and below its warning thresholds
    3  a warning threshold is crossed (the lowest configured threshold)
    4  a limit is reached (spend at or above 100% of a limit)
    5  a notification failed on this run, or was given up

Codes 0, 3 and 4 describe the budgets' state at the time of the check,
whether or not a notification went out on this run. Code 5 outranks them:
someone who was meant to be told was not, which a scheduler should treat as
a failure (the budgets' state is still on stdout and in ``budget status``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Protocol
from zoneinfo import ZoneInfo

from costaudit.analysis.budgets import state
from costaudit.analysis.budgets.evaluate import (
    SINCE_START,
    BudgetStatus,
    Measure,
    evaluate_all,
)
from costaudit.analysis.budgets.settings import DEFAULT_MAX_ATTEMPTS, Budget
from costaudit.ledger.store import Ledger

EXIT_OK = 0
EXIT_WARNING = 3
EXIT_OVER = 4
EXIT_UNDELIVERED = 5


class Recipient(Protocol):
    @property
    def key(self) -> str:
        """Stable name kept in the ledger (a hash, never the URL)."""
        ...

    @property
    def label(self) -> str:
        """A form safe to print (secrets masked)."""
        ...


class Sender(Protocol):
    def recipients(self) -> Sequence[Recipient]: ...

    def send(
        self, recipient: Recipient, title: str, body: str, level: str
    ) -> str | None:
        """Send one message; None when delivered, else what went wrong."""
        ...


@dataclass(frozen=True)
class Delivery:
    """One notification, sent, failed, or (dry run) that would be sent."""

    budget: str
    threshold: Decimal
    title: str
    body: str
    recipient: str
    """Its label; empty when no notification URL is configured."""
    error: str | None = None
    retry: bool = False
    """Sent again after failing on an earlier run."""
    gave_up: bool = False
    """Not sent again: its period ended or it ran out of attempts."""


@dataclass
class CheckResult:
    statuses: list[BudgetStatus]
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.undelivered:
            return EXIT_UNDELIVERED
        return exit_code(self.statuses)

    @property
    def failures(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.error is not None]

    @property
    def undelivered(self) -> list[Delivery]:
        """Failures to a configured recipient (not dry runs, not alerts whose
        URL left the config, which the user chose to stop)."""
        return [d for d in self.failures if d.recipient]


def exit_code(statuses: Sequence[BudgetStatus]) -> int:
    levels = {status.level for status in statuses}
    if "over" in levels:
        return EXIT_OVER
    return EXIT_WARNING if "warning" in levels else EXIT_OK


def _rate(measure: Measure) -> str:
    return "" if measure.basis == SINCE_START else f" ({measure.basis})"


def _figures(status: BudgetStatus) -> list[str]:
    parts = []
    if status.usd is not None:
        u = status.usd
        parts.append(
            f"spent ${u.spent:,.2f} of ${u.limit:,.2f} ({u.share:.1%}), "
            f"${u.per_day:,.2f} a day{_rate(u)}, forecast ${u.forecast:,.2f}"
        )
    if status.tokens is not None:
        t = status.tokens
        parts.append(
            f"{int(t.spent):,} of {int(t.limit):,} tokens ({t.share:.1%}), "
            f"{int(t.per_day):,} a day{_rate(t)}, forecast {int(t.forecast):,}"
        )
    return parts


def _percent(threshold: Decimal) -> str:
    return f"{threshold.normalize():f}%"


def message(
    status: BudgetStatus, threshold: Decimal, covered: Sequence[Decimal] = ()
) -> tuple[str, str]:
    """The title and body of the alert for ``threshold`` (percent), with the
    figures as they stand; ``covered`` are lower thresholds it stands for."""
    budget, period = status.budget, status.period
    if threshold == 100:
        what = "reached its limit"
    else:
        what = f"is at {_percent(threshold)} of its limit"
    title = f"costaudit: budget {budget.name!r} {what}"
    lines = [
        f"Budget {budget.name!r} ({budget.scope}, {budget.period_label}), "
        f"{period.first_day} to {period.last_day} ({period.tz.key}):",
        *(f"- {part}" for part in _figures(status)),
    ]
    if covered:
        crossed = ", ".join(_percent(t) for t in (*covered, threshold))
        lines.append(f"Newly crossed thresholds: {crossed} (one alert for all).")
    if status.reached_on is not None:
        if status.share >= 1:
            lines.append(f"The limit was reached on {status.reached_on}.")
        else:
            lines.append(f"At this rate the limit is reached on {status.reached_on}.")
    if status.unpriced_calls:
        lines.append(
            f"{status.unpriced_calls:,} calls have no price and are not in the spend."
        )
    return title, "\n".join(lines)


def _send(
    ledger: Ledger,
    sender: Sender,
    row: state.AlertRow,
    recipient: Recipient,
    now: datetime,
    retry: bool,
) -> Delivery:
    error = sender.send(recipient, row.title, row.body, row.level)
    status = state.FAILED if error else state.SENT
    state.save(ledger, _replace(row, status, error, recipient.key), now)
    return Delivery(
        row.budget, row.threshold, row.title, row.body, recipient.label, error, retry
    )


def _alert(
    ledger: Ledger, sender: Sender, row: state.AlertRow, now: datetime
) -> list[Delivery]:
    """Send a new alert to every recipient, or record it when there is none."""
    recipients = sender.recipients()
    if not recipients:
        state.save(ledger, _replace(row, state.RECORDED, None), now)
        return [Delivery(row.budget, row.threshold, row.title, row.body, "")]
    return [_send(ledger, sender, row, r, now, retry=False) for r in recipients]


def _give_up_reason(row: state.AlertRow, now: datetime, attempts: int) -> str | None:
    if now >= row.period_end:
        return f"its period ended on {row.period_end:%Y-%m-%d %H:%M} UTC"
    if row.attempts >= attempts:
        return f"it failed {row.attempts} times (max_attempts = {attempts})"
    return None


def _give_up(
    ledger: Ledger, row: state.AlertRow, label: str, reason: str, now: datetime
) -> Delivery:
    state.save(ledger, _replace(row, state.GAVE_UP, row.last_error), now)
    error = f"given up, not sent again: {reason}; last error: {row.last_error}"
    return Delivery(
        row.budget, row.threshold, row.title, row.body, label, error, True, True
    )


def _resend(
    ledger: Ledger,
    sender: Sender,
    row: state.AlertRow,
    now: datetime,
    attempts: int,
) -> Delivery:
    """Send a failed alert again to the recipient it failed for, unless its
    period is over or it has used up its attempts."""
    for recipient in sender.recipients():
        if recipient.key == row.target:
            reason = _give_up_reason(row, now, attempts)
            if reason is not None:
                return _give_up(ledger, row, recipient.label, reason, now)
            return _send(ledger, sender, row, recipient, now, retry=True)
    # The URL left the config since: nobody is left to tell, so it is dropped.
    state.save(ledger, _replace(row, state.RECORDED, row.last_error), now)
    error = "its notification URL is no longer configured; not sent"
    return Delivery(row.budget, row.threshold, row.title, row.body, "", error, True)


def _replace(
    row: state.AlertRow, status: str, error: str | None, target: str | None = None
) -> state.AlertRow:
    sent = status in (state.SENT, state.FAILED)
    return replace(
        row,
        status=status,
        attempts=row.attempts + (1 if sent else 0),
        last_error=error,
        target=row.target if target is None else target,
    )


@dataclass(frozen=True)
class NewAlert:
    """The alert for a budget's highest newly crossed threshold, and the
    lower ones it covers (recorded as alerted, not sent on their own)."""

    row: state.AlertRow
    covered: tuple[state.AlertRow, ...] = ()


def _new_alert(status: BudgetStatus, crossed: list[Decimal]) -> NewAlert:
    *lower, threshold = crossed
    title, body = message(status, threshold, lower)
    start, end = status.period.start, status.period.end
    if status.period.rolling:
        start, end = status.now, status.now + status.period.length
    level = "over" if threshold >= 100 else "warning"
    row = state.AlertRow(
        status.budget.name, threshold, start, end, "", status.now, level, title,
        body, state.FAILED, 0,
    )  # fmt: skip
    covered = tuple(replace(row, threshold=t, status=state.SUPERSEDED) for t in lower)
    return NewAlert(row, covered)


def pending_alerts(ledger: Ledger, statuses: list[BudgetStatus]) -> list[NewAlert]:
    """One alert per budget with thresholds crossed and not yet alerted in
    their period: for the highest of them."""
    alerts = []
    for status in statuses:
        done = state.alerted(ledger, status.budget.name, status.now)
        crossed = [t for t in status.crossed if t not in done]
        if crossed:
            alerts.append(_new_alert(status, crossed))
    return alerts


def owed_retries(
    failed: list[state.AlertRow], alerts: list[NewAlert], now: datetime
) -> tuple[list[state.AlertRow], list[state.AlertRow]]:
    """Failed alerts to send again, and those a higher alert covers.

    Per budget and recipient only the highest failed threshold is sent
    again; a new alert of the budget, at a higher threshold and in the same
    period, goes to every recipient and covers the retry too.
    """
    newest = {a.row.budget: a.row.threshold for a in alerts}
    top: dict[tuple[str, str], state.AlertRow] = {}
    for row in failed:
        key = (row.budget, row.target)
        if key not in top or row.threshold > top[key].threshold:
            top[key] = row
    owed, covered = [], []
    for row in failed:
        higher = newest.get(row.budget, row.threshold) > row.threshold
        current = row.period_end > now
        if top[(row.budget, row.target)] is not row or (higher and current):
            covered.append(row)
        else:
            owed.append(row)
    return owed, covered


def _refreshed(
    row: state.AlertRow, statuses: dict[str, BudgetStatus]
) -> state.AlertRow:
    """A failed alert with the figures of this run (as stored when its
    budget left the config)."""
    status = statuses.get(row.budget)
    if status is None:
        return row
    title, body = message(status, row.threshold)
    return replace(row, title=title, body=body)


def _dry(
    sender: Sender,
    retries: list[state.AlertRow],
    alerts: list[NewAlert],
    now: datetime,
    attempts: int,
) -> list[Delivery]:
    """What a real run would send: retries still owed to their recipient,
    new alerts to every recipient."""
    labels = {r.key: r.label for r in sender.recipients()}
    owed = [row for row in retries if _give_up_reason(row, now, attempts) is None]
    planned = [(row, [labels.get(row.target, "")], True) for row in owed]
    planned += [(a.row, list(labels.values()) or [""], False) for a in alerts]
    return [
        Delivery(row.budget, row.threshold, row.title, row.body, label, None, retry)
        for row, targets, retry in planned
        for label in targets
    ]


def run_check(
    ledger: Ledger,
    budgets: list[Budget],
    tz: ZoneInfo,
    sender: Sender,
    now: datetime,
    dry_run: bool = False,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> CheckResult:
    """Evaluate every budget; send (or, dry, list) what is new or owed."""
    statuses = evaluate_all(ledger, budgets, now, tz)
    alerts = pending_alerts(ledger, statuses)
    owed, covered = owed_retries(state.failed(ledger), alerts, now)
    by_name = {status.budget.name: status for status in statuses}
    retries = [_refreshed(row, by_name) for row in owed]
    result = CheckResult(statuses)
    if dry_run:
        result.deliveries.extend(_dry(sender, retries, alerts, now, max_attempts))
        return result
    for row in covered:
        state.save(ledger, _replace(row, state.SUPERSEDED, row.last_error), now)
    for row in retries:
        result.deliveries.append(_resend(ledger, sender, row, now, max_attempts))
    for alert in alerts:
        for row in alert.covered:
            state.save(ledger, row, now)
        result.deliveries.extend(_alert(ledger, sender, alert.row, now))
    return result
