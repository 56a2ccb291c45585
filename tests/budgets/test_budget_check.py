"""``budget check`` end to end through apprise to a real local JSON webhook:
each threshold alerts once per period, and a failed notification is retried."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from costaudit.analysis.budgets import budgets_from_config, run_check
from costaudit.analysis.budgets.check import CheckResult
from costaudit.config import Config
from costaudit.interfaces.notify import AppriseSender
from costaudit.ledger.store import Ledger
from costaudit.pricing.apply import price_ledger
from costaudit.pricing.pricer import Pricer
from costaudit.sources.base import PathState, ScanBatch
from tests.budgets.test_budget_evaluate import PRICES, spend

UTC_ZONE = ZoneInfo("UTC")
NOW = datetime(2026, 11, 11, 12, tzinfo=UTC)


@dataclass
class Hook:
    url: str = ""
    status: int = 200
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
def hook() -> Iterator[Hook]:
    """An HTTP server on a free loopback port that keeps what is posted."""
    state = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((self.path, json.loads(body)))
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"json://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()
    server.server_close()


def make_config(**budget: Any) -> Config:
    table = {"name": "api", "period": "month", "limit_usd": 10, **budget}
    return Config(raw={"prices": PRICES, "budgets": [table]})


def add(ledger: Ledger, cfg: Config, *records: Any) -> None:
    batch = ScanBatch("test", "/test", PathState("test", "/test"), list(records))
    ledger.store_batch(batch)
    price_ledger(ledger, Pricer(cfg))


def check(
    ledger: Ledger,
    cfg: Config,
    hook: Hook,
    now: datetime,
    dry_run: bool = False,
    attempts: int = 12,
) -> CheckResult:
    sender = AppriseSender([hook.url])
    budgets = budgets_from_config(cfg)
    return run_check(
        ledger, budgets, UTC_ZONE, sender, now, dry_run=dry_run, max_attempts=attempts
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "l.duckdb") as opened:
        yield opened


def test_each_threshold_alerts_once_then_the_limit(ledger: Ledger, hook: Hook) -> None:
    cfg = make_config()
    add(ledger, cfg, spend("a", NOW - timedelta(days=1), "8.50"))

    # 50% and 80% are both crossed: one alert, for 80%, stands for both.
    first = check(ledger, cfg, hook, NOW)
    assert first.exit_code == 3
    assert [(d.threshold, d.error) for d in first.deliveries] == [(Decimal(80), None)]
    assert [path for path, _ in hook.received] == ["/hook"]
    payload = hook.received[0][1]
    assert payload["title"] == "costaudit: budget 'api' is at 80% of its limit"
    assert payload["type"] == "warning"
    assert payload["message"].splitlines() == [
        "Budget 'api' (everything, month), 2026-11-01 to 2026-11-30 (UTC):",
        "- spent $8.50 of $10.00 (85.0%), $0.81 a day, forecast $24.29",
        "Newly crossed thresholds: 50%, 80% (one alert for all).",
        "At this rate the limit is reached on 2026-11-13.",
    ]

    second = check(ledger, cfg, hook, NOW + timedelta(hours=1))
    assert second.deliveries == []
    assert len(hook.received) == 1
    assert second.exit_code == 3

    add(ledger, cfg, spend("b", NOW + timedelta(hours=2), "2"))
    third = check(ledger, cfg, hook, NOW + timedelta(hours=3))
    assert [d.threshold for d in third.deliveries] == [Decimal(100)]
    assert hook.received[1][1]["title"] == "costaudit: budget 'api' reached its limit"
    assert hook.received[1][1]["type"] == "failure"
    assert "Newly crossed" not in hook.received[1][1]["message"]
    assert third.exit_code == 4


def test_failed_notification_is_retried_on_the_next_run(
    ledger: Ledger, hook: Hook
) -> None:
    cfg = make_config(thresholds=[50])
    add(ledger, cfg, spend("a", NOW - timedelta(days=1), "6"))
    hook.status = 500

    failed = check(ledger, cfg, hook, NOW)
    [delivery] = failed.deliveries
    assert delivery.error is not None and "500" in delivery.error
    assert failed.failures == [delivery]
    assert len(hook.received) == 1  # it reached the server, which refused it
    assert "- spent $6.00 of $10.00 (60.0%)" in hook.received[0][1]["message"]

    # Spend goes on before the retry: the retry carries this run's figures.
    add(ledger, cfg, spend("b", NOW + timedelta(minutes=5), "1"))
    hook.status = 200
    retried = check(ledger, cfg, hook, NOW + timedelta(minutes=15))
    [again] = retried.deliveries
    assert (again.retry, again.error, again.title) == (True, None, delivery.title)
    assert "- spent $7.00 of $10.00 (70.0%)" in hook.received[1][1]["message"]

    assert check(ledger, cfg, hook, NOW + timedelta(minutes=30)).deliveries == []
    assert len(hook.received) == 2


def test_a_failed_alert_is_covered_by_a_higher_one(ledger: Ledger, hook: Hook) -> None:
    cfg = make_config()
    add(ledger, cfg, spend("a", NOW - timedelta(days=1), "6"))
    hook.status = 500
    assert [d.threshold for d in check(ledger, cfg, hook, NOW).failures] == [50]

    # By the next run spend is past 80%: one alert, for 80%, not the 50% too.
    add(ledger, cfg, spend("b", NOW + timedelta(minutes=5), "2.5"))
    hook.status = 200
    later = check(ledger, cfg, hook, NOW + timedelta(minutes=15))
    assert [(d.threshold, d.retry, d.error) for d in later.deliveries] == [
        (Decimal(80), False, None)
    ]
    assert later.exit_code == 3
    assert hook.received[-1][1]["title"] == (
        "costaudit: budget 'api' is at 80% of its limit"
    )
    assert len(hook.received) == 2
    assert check(ledger, cfg, hook, NOW + timedelta(minutes=30)).deliveries == []


def test_dry_run_sends_and_records_nothing(ledger: Ledger, hook: Hook) -> None:
    cfg = make_config(thresholds=[50])
    add(ledger, cfg, spend("a", NOW - timedelta(days=1), "6"))

    dry = check(ledger, cfg, hook, NOW, dry_run=True)
    assert [d.threshold for d in dry.deliveries] == [Decimal(50)]
    assert dry.deliveries[0].recipient.startswith("json://127.0.0.1:")
    assert hook.received == []
    assert dry.exit_code == 3

    real = check(ledger, cfg, hook, NOW)
    assert [d.threshold for d in real.deliveries] == [Decimal(50)]
    assert len(hook.received) == 1


def test_a_new_calendar_period_alerts_again(ledger: Ledger, hook: Hook) -> None:
    cfg = make_config(thresholds=[50])
    add(ledger, cfg, spend("nov", NOW - timedelta(days=1), "6"))
    assert len(check(ledger, cfg, hook, NOW).deliveries) == 1

    december = datetime(2026, 12, 2, tzinfo=UTC)
    assert check(ledger, cfg, hook, december).exit_code == 0
    add(ledger, cfg, spend("dec", december + timedelta(hours=1), "7"))
    assert len(check(ledger, cfg, hook, december + timedelta(hours=2)).deliveries) == 1
    assert len(hook.received) == 2


def test_rolling_alert_holds_for_one_period_length(ledger: Ledger, hook: Hook) -> None:
    cfg = make_config(period="week", rolling=True, thresholds=[50])
    add(ledger, cfg, spend("a", NOW - timedelta(hours=1), "6"))
    assert len(check(ledger, cfg, hook, NOW).deliveries) == 1
    # Still above half the limit six days on: the same crossing, no news.
    add(ledger, cfg, spend("b", NOW + timedelta(days=6), "6"))
    assert check(ledger, cfg, hook, NOW + timedelta(days=6, hours=1)).deliveries == []
    # Seven days after the alert, all the window holds was spent since then.
    later = check(ledger, cfg, hook, NOW + timedelta(days=7, hours=1))
    assert len(later.deliveries) == 1
    assert len(hook.received) == 2


def test_without_notification_urls_an_alert_is_recorded_once(
    ledger: Ledger,
) -> None:
    cfg = make_config(thresholds=[50])
    add(ledger, cfg, spend("a", NOW - timedelta(days=1), "6"))
    budgets = budgets_from_config(cfg)
    sender = AppriseSender([])
    first = run_check(ledger, budgets, UTC_ZONE, sender, NOW)
    assert [(d.recipient, d.error) for d in first.deliveries] == [("", None)]
    second = run_check(ledger, budgets, UTC_ZONE, sender, NOW + timedelta(hours=1))
    assert second.deliveries == []


def test_within_budget_exits_zero(ledger: Ledger, hook: Hook) -> None:
    cfg = make_config()
    add(ledger, cfg, spend("a", NOW - timedelta(days=1), "1"))
    result = check(ledger, cfg, hook, NOW)
    assert (result.exit_code, result.deliveries) == (0, [])


def test_failed_alert_to_a_removed_url_is_dropped_with_a_note(
    ledger: Ledger, hook: Hook
) -> None:
    cfg = make_config(thresholds=[50])
    add(ledger, cfg, spend("a", NOW - timedelta(days=1), "6"))
    hook.status = 500
    assert check(ledger, cfg, hook, NOW).failures
    budgets = budgets_from_config(cfg)
    later = NOW + timedelta(minutes=15)
    [dropped] = run_check(
        ledger, budgets, UTC_ZONE, AppriseSender([]), later
    ).deliveries
    assert (dropped.retry, dropped.recipient) == (True, "")
    assert dropped.error == "its notification URL is no longer configured; not sent"
    assert check(ledger, cfg, hook, later).deliveries == []


def test_a_failing_alert_is_given_up_after_max_attempts(
    ledger: Ledger, hook: Hook
) -> None:
    cfg = make_config(thresholds=[50])
    add(ledger, cfg, spend("a", NOW - timedelta(days=1), "6"))
    hook.status = 500
    first = check(ledger, cfg, hook, NOW, attempts=2)
    second = check(ledger, cfg, hook, NOW + timedelta(minutes=15), attempts=2)
    assert (first.exit_code, second.exit_code) == (5, 5)
    assert second.deliveries[0].retry and not second.deliveries[0].gave_up
    assert len(hook.received) == 2

    third = check(ledger, cfg, hook, NOW + timedelta(minutes=30), attempts=2)
    [given_up] = third.deliveries
    assert given_up.gave_up and given_up.error is not None
    assert given_up.error.startswith(
        "given up, not sent again: it failed 2 times (max_attempts = 2)"
    )
    assert third.exit_code == 5
    assert len(hook.received) == 2  # nothing was posted for the give-up

    # Given up is final: no retry, no new alert for the same threshold.
    fourth = check(ledger, cfg, hook, NOW + timedelta(minutes=45), attempts=2)
    assert (fourth.deliveries, fourth.exit_code) == ([], 3)
    assert len(hook.received) == 2


def test_a_failing_alert_is_given_up_when_its_period_ends(
    ledger: Ledger, hook: Hook
) -> None:
    cfg = make_config(thresholds=[50])
    add(ledger, cfg, spend("a", NOW - timedelta(days=1), "6"))
    hook.status = 500
    assert check(ledger, cfg, hook, NOW).exit_code == 5
    hook.status = 200
    december = datetime(2026, 12, 1, 0, 10, tzinfo=UTC)
    dry = check(ledger, cfg, hook, december, dry_run=True)
    assert dry.deliveries == []  # a dry run does not offer to resend it
    [late] = check(ledger, cfg, hook, december).deliveries
    assert late.gave_up and late.error is not None
    assert "its period ended on 2026-12-01 00:00 UTC" in late.error
    assert len(hook.received) == 1


def test_a_three_decimal_threshold_alerts_once(ledger: Ledger, hook: Hook) -> None:
    cfg = make_config(thresholds=[33.333])
    add(ledger, cfg, spend("a", NOW - timedelta(days=1), "4"))
    assert [d.threshold for d in check(ledger, cfg, hook, NOW).deliveries] == [
        Decimal("33.333")
    ]
    assert check(ledger, cfg, hook, NOW + timedelta(hours=1)).deliveries == []
    assert len(hook.received) == 1


def test_recipient_labels_show_no_settings_and_no_tokens() -> None:
    urls = [
        "json://127.0.0.1:8765/hook",
        "json://me:hunter22@example.com/api/webhook/abcdef0123456789abcd"
        "?+Authorization=Bearer%20s3cret",
        "discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js",
        "ntfys://ntfy.sh/alerts-7f3a9c21d4e8b6",
    ]
    labels = [r.label for r in AppriseSender(urls).recipients()]
    assert labels == [
        "json://127.0.0.1:8765/hook",
        "json://me:****@example.com/api/webhook/a...d",
        "discord://4...8/J...s",
        "ntfys://ntfy.sh/a...6",
    ]
    assert not any("s3cret" in label or "hunter22" in label for label in labels)
