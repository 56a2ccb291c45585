"""Budget evaluation against hand-computed figures: periods, time zones,
limits in USD and tokens, burn rate and forecast."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costaudit.analysis.budgets import (
    budgets_from_config,
    evaluate,
    max_attempts,
    notification_urls,
    scope_problem,
)
from costaudit.analysis.budgets.evaluate import _rolling_measure
from costaudit.analysis.budgets.period import Period, current_period
from costaudit.config import Config
from costaudit.errors import ConfigError
from costaudit.ledger.store import Ledger
from costaudit.record import UsageRecord
from tests.ledger_data import ledger_with

BERLIN = ZoneInfo("Europe/Berlin")
UTC_ZONE = ZoneInfo("UTC")
# One dollar per million tokens, in and out: a record's cost is its tokens / 1e6.
PRICES = {"m1": {"input_mtok": 1, "output_mtok": 1}}


def spend(
    key: str, at: datetime, usd: str, *, profile: str = "ayva", output: int = 0
) -> UsageRecord:
    """A record that costs ``usd`` dollars at the test price."""
    tokens = int(Decimal(usd) * 1_000_000) - output
    return UsageRecord(
        source="test", record_key=key, source_path="/test", profile=profile,
        session_id=key, model="m1", provider="acme",
        endpoint="https://api.acme.example/v1", started_at=at,
        ended_at=at + timedelta(minutes=1), input_tokens=tokens,
        output_tokens=output, task="chat",
    )  # fmt: skip


def config(*budgets: dict[str, Any], timezone: str = "UTC") -> Config:
    return Config(
        raw={"timezone": timezone, "prices": PRICES, "budgets": list(budgets)}
    )


def ledger(tmp_path: Path, records: list[UsageRecord], cfg: Config) -> Ledger:
    return ledger_with(tmp_path / "l.duckdb", records, cfg)


def test_calendar_month_forecast_and_limit_day(tmp_path: Path) -> None:
    cfg = config({"name": "m", "period": "month", "limit_usd": 10})
    records = [
        spend("a", datetime(2026, 11, 3, 12, tzinfo=UTC), "2"),
        spend("b", datetime(2026, 11, 10, 12, tzinfo=UTC), "3"),
        spend("late", datetime(2026, 11, 20, tzinfo=UTC), "50"),  # after as-of
    ]
    with ledger(tmp_path, records, cfg) as book:
        [budget] = budgets_from_config(cfg)
        status = evaluate(book, budget, datetime(2026, 11, 11, tzinfo=UTC), UTC_ZONE)
    # $5 in 10 days is $0.50 a day; 20 days remain: 5 + 0.5 * 20 = 15.
    assert status.spent_usd == Decimal(5)
    assert status.usd is not None
    assert status.usd.per_day == Decimal("0.5")
    assert status.usd.forecast == Decimal(15)
    # $5 more at $0.50 a day is 10 days: reached on 21 November.
    assert status.reached_on == date(2026, 11, 21)
    assert status.share == Decimal("0.5")
    assert status.crossed == (Decimal(50),)
    assert status.level == "warning"
    assert (status.period.first_day, status.period.last_day) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    assert [d.cumulative_usd for d in status.daily][-1] == Decimal(5)
    assert len(status.daily) == 11  # 1 to 11 November


def test_limit_not_reached_before_the_period_resets(tmp_path: Path) -> None:
    cfg = config({"name": "m", "period": "month", "limit_usd": 10})
    records = [spend("a", datetime(2026, 11, 3, tzinfo=UTC), "5")]
    with ledger(tmp_path, records, cfg) as book:
        [budget] = budgets_from_config(cfg)
        status = evaluate(book, budget, datetime(2026, 11, 16, tzinfo=UTC), UTC_ZONE)
    # $5 in 15 days; 15 more days at that rate end exactly at $10 at midnight
    # on 1 December, when the period has already reset.
    assert status.usd is not None and status.usd.forecast == Decimal(10)
    assert status.reached_on is None


def test_spend_at_2330_utc_is_next_day_in_berlin(tmp_path: Path) -> None:
    late = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)  # 00:30 on 3 Nov in Berlin
    records = [spend("late", late, "4")]
    daily = {"name": "d", "period": "day", "limit_usd": 5}
    berlin_cfg = config(daily, timezone="Europe/Berlin")
    with ledger(tmp_path, records, berlin_cfg) as book:
        [budget] = budgets_from_config(berlin_cfg)
        morning = datetime(2026, 11, 3, 10, tzinfo=BERLIN)
        berlin = evaluate(book, budget, morning, BERLIN)
        before = evaluate(
            book, budget, datetime(2026, 11, 2, 23, tzinfo=BERLIN), BERLIN
        )
        utc = evaluate(book, budget, datetime(2026, 11, 3, 10, tzinfo=UTC), UTC_ZONE)
    assert berlin.spent_usd == Decimal(4)
    assert berlin.period.first_day == date(2026, 11, 3)
    assert berlin.period.start == datetime(2026, 11, 2, 23, tzinfo=UTC)
    assert before.spent_usd == 0
    assert utc.spent_usd == 0  # 3 November in UTC starts after 23:30 on the 2nd


def test_calendar_day_with_daylight_saving_change_is_25_hours() -> None:
    cfg = config({"name": "d", "period": "day", "limit_usd": 1})
    [budget] = budgets_from_config(cfg)
    period = current_period(budget, datetime(2026, 10, 25, 12, tzinfo=BERLIN), BERLIN)
    assert period.length == timedelta(hours=25)


def test_calendar_week_starts_monday_and_rolling_week_looks_back(
    tmp_path: Path,
) -> None:
    now = datetime(2026, 11, 11, 12, tzinfo=UTC)  # a Wednesday
    records = [
        spend("old", now - timedelta(days=8), "4"),
        spend("sat", now - timedelta(days=4), "3"),  # Saturday 7 Nov
        spend("tue", now - timedelta(days=1), "1"),
    ]
    cfg = config(
        {"name": "cal", "period": "week", "limit_usd": 10},
        {"name": "roll", "period": "week", "rolling": True, "limit_usd": 10},
    )
    with ledger(tmp_path, records, cfg) as book:
        calendar, rolling = (
            evaluate(book, b, now, UTC_ZONE) for b in budgets_from_config(cfg)
        )
    assert calendar.period.first_day == date(2026, 11, 9)
    assert calendar.spent_usd == Decimal(1)
    # $1 in 2.5 days, 4.5 days to go: 1 + 0.4 * 4.5 = 2.8.
    assert calendar.usd is not None and calendar.usd.forecast == Decimal("2.8")
    assert rolling.spent_usd == Decimal(4)
    assert rolling.usd is not None
    # The last 42 hours hold $1, a rate of $4/7 a day: no faster than the
    # window's average ($4 in 7 days), so the average is the rate.
    assert rolling.usd.per_day == Decimal(4) / 7
    assert rolling.usd.basis == "over the whole window (7 days)"
    # Until Saturday's $3 leaves (in 3 days) the window holds $4 and gains
    # $4/7 a day: at most 4 + 3 x 4/7 = 40/7.
    assert rolling.usd.forecast == Decimal(40) / 7
    assert rolling.reached_on is None


def test_token_limit_and_the_larger_share_decides(tmp_path: Path) -> None:
    now = datetime(2026, 11, 11, tzinfo=UTC)
    records = [spend("a", now - timedelta(hours=5), "0.7", output=100_000)]
    cfg = config(
        {"name": "t", "period": "day", "limit_usd": 100, "limit_tokens": 1_000_000}
    )
    with ledger(tmp_path, records, cfg) as book:
        [budget] = budgets_from_config(cfg)
        status = evaluate(book, budget, now - timedelta(hours=1), UTC_ZONE)
    assert status.spent_tokens == 700_000
    assert status.tokens is not None and status.tokens.share == Decimal("0.7")
    assert status.usd is not None and status.usd.share == Decimal("0.007")
    assert status.share == Decimal("0.7")
    assert status.crossed == (Decimal(50),)


def test_scopes_count_only_their_records(tmp_path: Path) -> None:
    now = datetime(2026, 11, 11, 12, tzinfo=UTC)
    records = [
        spend("a", now - timedelta(hours=2), "2", profile="ayva"),
        spend("b", now - timedelta(hours=2), "3", profile="codi"),
    ]
    cfg = config(
        {"name": "all", "period": "day", "limit_usd": 10},
        {"name": "ayva", "scope": "profile:ayva", "period": "day", "limit_usd": 10},
        {"name": "acme", "scope": "provider:acme", "period": "day", "limit_usd": 10},
        {"name": "other", "scope": "model:m2", "period": "day", "limit_usd": 10},
    )
    with ledger(tmp_path, records, cfg) as book:
        spent = [
            evaluate(book, b, now, UTC_ZONE).spent_usd for b in budgets_from_config(cfg)
        ]
    assert spent == [Decimal(5), Decimal(2), Decimal(5), Decimal(0)]


def test_limit_reached_reports_the_day_it_happened(tmp_path: Path) -> None:
    records = [
        spend("a", datetime(2026, 11, 2, tzinfo=UTC), "6"),
        spend("b", datetime(2026, 11, 4, tzinfo=UTC), "6"),
    ]
    cfg = config({"name": "m", "limit_usd": 10})
    with ledger(tmp_path, records, cfg) as book:
        [budget] = budgets_from_config(cfg)
        status = evaluate(book, budget, datetime(2026, 11, 6, tzinfo=UTC), UTC_ZONE)
    assert status.share == Decimal("1.2")
    assert status.level == "over"
    assert status.crossed == (Decimal(50), Decimal(80), Decimal(100))
    assert status.reached_on == date(2026, 11, 4)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"name": "x", "limit_usd": 1, "period": "monthly"}, "did you mean 'month'"),
        ({"name": "x", "limit_usd": 1, "scope": "profil:a"}, "did you mean 'profile'"),
        ({"name": "x"}, "budgets[0].limit_usd must be set"),
        ({"name": "x", "limit_usd": 1, "thresholds": [0]}, "budgets[0].thresholds"),
        ({"limit_usd": 1}, "budgets[0].name"),
    ],
)
def test_bad_budgets_name_the_field(table: dict[str, Any], message: str) -> None:
    with pytest.raises(
        ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")
    ):
        budgets_from_config(config(table))


def test_duplicate_names_are_refused() -> None:
    table = {"name": "x", "limit_usd": 1}
    with pytest.raises(ConfigError, match="two budgets are named 'x'"):
        budgets_from_config(config(table, table))


def test_rolling_day_forecast_and_limit_day_from_the_recent_rate(
    tmp_path: Path,
) -> None:
    now = datetime(2026, 11, 11, 12, tzinfo=UTC)
    records = [
        spend("early", now - timedelta(hours=22), "4"),
        spend("recent", now - timedelta(hours=3), "3"),
    ]
    cfg = config({"name": "r", "period": "day", "rolling": True, "limit_usd": 10})
    with ledger(tmp_path, records, cfg) as book:
        [budget] = budgets_from_config(cfg)
        status = evaluate(book, budget, now, UTC_ZONE)
    assert status.spent_usd == Decimal(7)
    assert status.usd is not None
    # The last quarter of a rolling day is 6 hours: $3 in 6 h is $0.50 an
    # hour, $12 a day, faster than the window's $7 a day.
    assert status.usd.per_day == Decimal(12)
    assert status.usd.basis == "over the last 6 hours, faster than the window's average"
    # The $3 stays 21 more hours while $0.50 an hour comes in: 3 + 10.5.
    assert status.usd.forecast == Decimal("13.5")
    # The $4 leaves the window after 2 hours; then $3 + $0.50 an hour meets
    # $10 after 14 hours: 02:00 on 12 November.
    assert status.reached_on == date(2026, 11, 12)
    assert status.level == "warning"


def test_rolling_week_with_nothing_recent_burns_at_its_average(
    tmp_path: Path,
) -> None:
    now = datetime(2026, 11, 11, 12, tzinfo=UTC)
    records = [spend("old", now - timedelta(days=5), "6")]
    cfg = config({"name": "r", "period": "week", "rolling": True, "limit_usd": 10})
    with ledger(tmp_path, records, cfg) as book:
        [budget] = budgets_from_config(cfg)
        status = evaluate(book, budget, now, UTC_ZONE)
    assert status.usd is not None
    # Nothing in the last 42 hours: the rate is the window's, $6 in 7 days.
    assert status.usd.per_day == Decimal(6) / 7
    # The $6 leaves in 2 days, by when $12/7 more came in: 54/7, below $10.
    assert status.usd.forecast == Decimal(54) / 7
    assert status.reached_on is None


def test_rolling_token_budget_forecasts_at_least_what_was_spent(
    tmp_path: Path,
) -> None:
    now = datetime(2026, 11, 30, 20, tzinfo=UTC)
    records = [
        spend("a", now - timedelta(hours=20), "0.02", profile="codi"),
        spend("b", now - timedelta(hours=10), "0.009079", profile="codi"),
    ]
    cfg = config(
        {"name": "t", "scope": "profile:codi", "period": "day", "rolling": True,
         "limit_tokens": 2_000_000}
    )  # fmt: skip
    with ledger(tmp_path, records, cfg) as book:
        [budget] = budgets_from_config(cfg)
        status = evaluate(book, budget, now, UTC_ZONE)
    tokens = status.tokens
    assert tokens is not None and tokens.spent == 29_079
    # Nothing in the last 6 hours; the window's average is 29,079 a day.
    assert tokens.per_day == 29_079
    # The 20,000 leave in 4 hours, when 29,079 x 4/24 more came in.
    assert tokens.forecast == Decimal(29_079) + Decimal(29_079) * 4 / 24
    assert status.reached_on is None


def test_a_period_s_first_seconds_borrow_the_previous_hours(tmp_path: Path) -> None:
    midnight = datetime(2026, 11, 11, tzinfo=UTC)
    records = [
        spend("evening", midnight - timedelta(hours=4), "2"),
        spend("long ago", midnight - timedelta(hours=7), "5"),  # before the span
        spend("first", midnight, "1"),
    ]
    cfg = config({"name": "d", "period": "day", "limit_usd": 10})
    with ledger(tmp_path, records, cfg) as book:
        [budget] = budgets_from_config(cfg)
        status = evaluate(book, budget, midnight, UTC_ZONE)
    usd = status.usd
    assert usd is not None and usd.spent == 1
    # A rate over one second would be $86,400 a day. Over the last 6 hours
    # instead: $1 today and $2 yesterday evening, $0.50 an hour.
    assert usd.per_day == 12
    assert usd.basis == (
        "over the last 6 hours, reaching into the previous period "
        "(this one began under a minute ago)"
    )
    assert usd.forecast == 1 + 12  # $1 spent and a whole day at $0.50 an hour
    # $9 more at $0.50 an hour takes 18 hours: the same day.
    assert status.reached_on == date(2026, 11, 11)


@given(
    spends=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=7 * 86_400 - 1),
            st.decimals(min_value=0, max_value=100, places=2),
        ),
        max_size=20,
    )
)
def test_a_rolling_forecast_is_never_below_the_spend(
    spends: list[tuple[int, Decimal]],
) -> None:
    now = datetime(2026, 11, 11, 12, tzinfo=UTC)
    period = Period(now - timedelta(days=7), now, UTC_ZONE, rolling=True)
    times = sorted(
        (period.start + timedelta(seconds=second), amount) for second, amount in spends
    )
    measure = _rolling_measure(times, Decimal(50), period, [], True)
    assert measure.forecast >= measure.spent
    if measure.spent < 50:
        # The limit is met at some moment exactly when the peak meets it.
        assert (measure.reached_on is not None) == (measure.forecast >= 50)


def test_a_scope_nothing_matches_is_named(tmp_path: Path) -> None:
    now = datetime(2026, 11, 11, 12, tzinfo=UTC)
    cfg = config(
        {"name": "typo", "scope": "profile:ayvaa", "limit_usd": 1},
        {"name": "ok", "scope": "profile:ayva", "limit_usd": 1},
        {"name": "all", "limit_usd": 1},
    )
    with ledger(tmp_path, [spend("a", now, "1")], cfg) as book:
        problems = [scope_problem(book, b) for b in budgets_from_config(cfg)]
    assert problems == [
        "budget 'typo': no usage record in the ledger has profile 'ayvaa' "
        "(did you mean 'ayva'?), so it counts nothing yet",
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"name": "x", "limit_uds": 1}, "budgets[0].limit_uds is not a known key "
         "(did you mean 'limit_usd'?)"),
        ({"name": "x", "limit_usd": 1, "colour": "red"}, "budgets[0].colour is not "
         "a known key (known: name, scope"),
        ({"name": "x", "limit_usd": 1, "thresholds": [33.3333]},
         "budgets[0].thresholds must be percentages of at most 3 decimals"),
        ({"name": "x", "limit_usd": 1, "thresholds": [1e7]},
         "up to 999999.999"),
    ],
)  # fmt: skip
def test_unknown_keys_and_fine_thresholds_are_refused(
    table: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        budgets_from_config(config(table))
    assert message in str(error.value)


def test_three_decimal_thresholds_are_kept_exactly() -> None:
    [budget] = budgets_from_config(
        config({"name": "x", "limit_usd": 1, "thresholds": [33.333, 66.5, 100]})
    )
    assert budget.thresholds == (Decimal("33.333"), Decimal("66.5"), Decimal(100))


def test_notifications_refuse_unknown_keys_and_zero_attempts() -> None:
    typo = Config(raw={"notifications": {"url": ["json://x"]}})
    with pytest.raises(ConfigError, match=r"notifications\.url is not a known key "):
        notification_urls(typo)
    zero = Config(raw={"notifications": {"max_attempts": 0}})
    with pytest.raises(ConfigError, match="max_attempts must be a whole number"):
        max_attempts(zero)
    assert max_attempts(Config()) == 12
