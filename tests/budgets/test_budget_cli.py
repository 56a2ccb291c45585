"""``costaudit budget status|check|schedule`` as a user runs them: exit
codes, stdout for data and stderr for notes."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from costaudit.config import Config
from tests.budgets.test_budget_check import Hook, hook  # noqa: F401 (fixture)
from tests.budgets.test_budget_evaluate import PRICES, spend
from tests.conftest import Result
from tests.ledger_data import ledger_with

CONFIG = """\
timezone = "Europe/Berlin"

[prices.m1]
input_mtok = 1
output_mtok = 1

[[budgets]]
name = "api"
period = "day"
rolling = true
limit_usd = 10
thresholds = [50, 80]

[[budgets]]
name = "tokens"
scope = "profile:codi"
period = "month"
limit_tokens = 1000000

[notifications]
urls = [{urls}]
"""


def setup(tmp_path: Path, url: str = "", spent: str = "6") -> list[str]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG.format(urls=f'"{url}"' if url else ""))
    recent = datetime.now(tz=UTC) - timedelta(hours=1)
    # codi's only record is two months old: the profile exists, this month
    # it has spent nothing.
    old = recent - timedelta(days=62)
    records = [spend("a", recent, spent), spend("old", old, "1", profile="codi")]
    ledger_with(tmp_path / "l.duckdb", records, Config(raw={"prices": PRICES})).close()
    empty = tmp_path / "no-hermes"
    empty.mkdir(exist_ok=True)
    return [
        "--config", str(config), "--ledger", str(tmp_path / "l.duckdb"),
        "--hermes-home", str(empty),
    ]  # fmt: skip


def test_status_json(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli(*setup(tmp_path), "budget", "status", "--no-scan", "-f", "json")
    assert result.code == 0, result.err
    api, tokens = result.json()["budgets"]
    assert api["name"] == "api" and api["period"] == "rolling day"
    assert (api["spent_usd"], api["limit_usd"], api["share"]) == (6.0, 10.0, 0.6)
    assert api["crossed"] == [50.0] and api["level"] == "warning"
    assert api["timezone"] == "Europe/Berlin"
    assert tokens["scope"] == "profile:codi" and tokens["spent_tokens"] == 0
    assert tokens["limit_usd"] is None and tokens["level"] == "ok"


def test_status_table_and_csv(cli: Callable[..., Result], tmp_path: Path) -> None:
    args = setup(tmp_path)
    table = cli(*args, "budget", "status", "--no-scan")
    assert table.code == 0, table.err
    row = next(
        line for line in table.out.splitlines() if line.strip().startswith("api")
    )
    assert "60.0%" in row and "$6.00" in row and row.rstrip().endswith("warning")
    assert max(len(line.rstrip()) for line in table.out.splitlines()) <= 100
    listing = cli(*args, "budget", "status", "--no-scan", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(listing.out)))
    assert [r["name"] for r in rows] == ["api", "tokens"]
    assert (
        rows[0]["spent_usd"] == "6.0000000000" and rows[1]["limit_tokens"] == "1000000"
    )


def test_status_as_of_a_past_moment(cli: Callable[..., Result], tmp_path: Path) -> None:
    args = setup(tmp_path)
    result = cli(*args, "budget", "status", "--no-scan", "-f", "json",
                 "--as-of", "2020-01-01T12:00")  # fmt: skip
    assert result.code == 0, result.err
    assert result.json()["budgets"][0]["spent_usd"] == 0
    assert result.json()["as_of"] == "2020-01-01T12:00:00+01:00"
    bad = cli(*args, "budget", "status", "--no-scan", "--as-of", "yesterday")
    assert bad.code == 2 and "--as-of" in bad.err


def test_check_sends_once_and_exits_3(
    cli: Callable[..., Result],
    tmp_path: Path,
    hook: Hook,  # noqa: F811
) -> None:
    args = setup(tmp_path, hook.url)
    dry = cli(*args, "budget", "check", "--no-scan", "--dry-run")
    assert dry.code == 3, dry.err
    assert dry.out.startswith(f"would send to {hook.url}")
    assert "costaudit: budget 'api' is at 50% of its limit" in dry.out
    assert hook.received == []

    first = cli(*args, "budget", "check", "--no-scan")
    assert first.code == 3, first.err
    # The label is the URL without apprise's query string of settings.
    assert first.out == (
        f"sent to {hook.url}: costaudit: budget 'api' is at 50% of its limit\n"
    )
    assert len(hook.received) == 1

    second = cli(*args, "budget", "check", "--no-scan")
    assert (second.code, second.out, second.err) == (3, "", "")


def test_check_reports_a_failed_notification(
    cli: Callable[..., Result],
    tmp_path: Path,
    hook: Hook,  # noqa: F811
) -> None:
    hook.status = 503
    args = setup(tmp_path, hook.url, spent="12")
    result = cli(*args, "budget", "check", "--no-scan")
    assert result.code == 5  # a limit is reached too (4), but nobody was told
    assert result.out == ""
    assert "notification failed to json://127.0.0.1" in result.err
    assert "503" in result.err
    assert "sent again on the next check" in result.err

    status = cli(*args, "budget", "status", "--no-scan", "-f", "json")
    failed = status.json()["budgets"][0]["undelivered_alerts"]
    # 50% and 80% were crossed at once: one alert, at 80%, stands for both.
    assert [(f["threshold"], f["status"], f["attempts"]) for f in failed] == [
        (80.0, "failed", 1),
    ]
    assert (
        "the alert at 80% was not delivered after 1 attempt (to be retried)"
        in status.err
    )


def test_check_within_budget_is_silent(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli(*setup(tmp_path, spent="1"), "budget", "check", "--no-scan")
    assert (result.code, result.out, result.err) == (0, "", "")


def test_check_without_urls_prints_the_alert(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli(*setup(tmp_path), "budget", "check", "--no-scan")
    assert result.code == 3
    assert result.out.splitlines()[0] == (
        "alert: costaudit: budget 'api' is at 50% of its limit"
    )


def test_schedule_uses_this_runs_options(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    args = setup(tmp_path)
    result = cli(*args, "budget", "schedule", "--every", "10")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    cron = next(line for line in lines if line.startswith("*/10 * * * * /"))
    assert f"--config {tmp_path / 'config.toml'}" in cron
    assert f"--ledger {tmp_path / 'l.duckdb'}" in cron
    assert cron.endswith(f"--hermes-home {tmp_path / 'no-hermes'} budget check")
    command = cron.removeprefix("*/10 * * * * ")
    assert f"ExecStart={command}" in lines
    assert "OnUnitActiveSec=10min" in lines and "SuccessExitStatus=3 4" in lines
    assert '#   loginctl enable-linger "$USER"' in lines


def test_schedule_intervals_that_repeat_evenly(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    args = setup(tmp_path)
    two_hours = cli(*args, "budget", "schedule", "--every", "120").out.splitlines()
    assert any(line.startswith("0 */2 * * * /") for line in two_hours)
    assert "OnUnitActiveSec=120min" in two_hours
    daily = cli(*args, "budget", "schedule", "--every", "1440").out
    assert "\n0 0 * * * /" in daily
    bad = cli(*args, "budget", "schedule", "--every", "45")
    assert bad.code == 2
    assert "45 minutes does not repeat evenly in cron" in bad.err


def test_schedule_escapes_percent_signs(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    args = setup(tmp_path)
    odd = tmp_path / "100%.toml"
    odd.write_text((tmp_path / "config.toml").read_text())
    args[1] = str(odd)
    lines = cli(*args, "budget", "schedule").out.splitlines()
    cron = next(line for line in lines if line.startswith("*/15 * * * * /"))
    assert f"--config {tmp_path}/100\\%.toml" in cron
    service = next(line for line in lines if line.startswith("ExecStart="))
    assert f"--config {tmp_path}/100%%.toml" in service


def test_bad_timezone_is_the_error_not_missing_budgets(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    args = setup(tmp_path)
    (tmp_path / "config.toml").write_text('timezone = "Mars/Olympus"\n')
    for command in ("status", "check"):
        result = cli(*args, "budget", command, "--no-scan")
        assert result.code == 1
        assert "timezone 'Mars/Olympus' is not a known time zone" in result.err
        assert "no budgets configured" not in result.err


def test_unknown_key_and_unknown_profile(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    args = setup(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text('[[budgets]]\nname = "x"\nlimit_usd = 1\nperoid = "day"\n')
    typo = cli(*args, "budget", "check", "--no-scan")
    assert typo.code == 1
    assert "budgets[0].peroid is not a known key (did you mean 'period'?)" in typo.err
    config.write_text(
        '[[budgets]]\nname = "x"\nscope = "profile:nobody"\nlimit_usd = 1\n'
    )
    nobody = cli(*args, "budget", "status", "--no-scan", "-f", "json")
    assert nobody.code == 0
    assert (
        "warning: budget 'x': no usage record in the ledger has profile 'nobody'"
        in nobody.err
    )


def test_no_budgets_is_a_note(cli: Callable[..., Result], tmp_path: Path) -> None:
    config = tmp_path / "empty.toml"
    config.write_text("")
    args = setup(tmp_path)
    args[1] = str(config)
    result = cli(*args, "budget", "status", "--no-scan", "-f", "json")
    assert result.code == 0
    assert result.json()["budgets"] == []
    assert "no budgets configured" in result.err
