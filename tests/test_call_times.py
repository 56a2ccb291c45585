"""Pricing a record by the times of its calls: shares, time-of-day prices,
and Hermes' agent.log joined to its state.db rows.

From 2026-09-10 genai-prices prices deepseek-v4-flash at $0.15 input and
$0.60 output per million tokens, and at $0.30 and $1.20 from 01:00 to 04:00
and from 06:00 to 10:00 UTC. deepseek-chat is billed as deepseek-v4-flash
since 2026-04-24 (see ``pricing/aliases.py``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costaudit.ledger.store import Ledger
from costaudit.pricing.call_times import (
    AT_FIRST_CALL,
    BY_CALL_TIME,
    CallTime,
    apportion,
    price_by_call_time,
    share_tokens,
)
from costaudit.pricing.library import LibraryPricer, Tokens
from tests.conftest import Result

PEAK = datetime(2026, 11, 3, 7, 0, tzinfo=UTC)
OFF_PEAK = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
MTOK = Decimal(1_000_000)


def test_apportion_keeps_the_total_and_the_proportions() -> None:
    assert apportion(10, [1, 1]) == [5, 5]
    assert apportion(10, [3, 1]) == [8, 2]  # 7.5 and 2.5: the tie goes first
    assert apportion(7, [1, 1, 1]) == [3, 2, 2]
    with pytest.raises(ValueError):
        apportion(5, [0, 0])


@given(
    st.integers(0, 10**9),
    st.lists(st.integers(0, 10**6), min_size=1, max_size=20).filter(
        lambda w: sum(w) > 0
    ),
)
def test_apportion_sums_to_the_total(total: int, weights: list[int]) -> None:
    shares = apportion(total, weights)
    assert sum(shares) == total
    whole = sum(weights)
    for share, weight in zip(shares, weights, strict=True):
        assert abs(share - total * weight / whole) < 1


def test_kinds_the_log_lacks_are_shared_like_the_prompt() -> None:
    calls = [
        [CallTime(PEAK, prompt_tokens=3000, output_tokens=100)],
        [CallTime(OFF_PEAK, prompt_tokens=1000, output_tokens=300)],
    ]
    # The log shows no cache writes: they follow the non-cached input.
    shares = share_tokens(Tokens(4000, 0, 400, 400, 2), calls)
    assert shares == [Tokens(3000, 0, 300, 100, 1), Tokens(1000, 0, 100, 300, 1)]


def test_each_call_is_priced_at_its_own_time() -> None:
    library = LibraryPricer()
    calls = [
        CallTime(PEAK, prompt_tokens=3000, output_tokens=100),
        CallTime(OFF_PEAK, prompt_tokens=1000, output_tokens=300),
    ]
    cost = price_by_call_time(
        library, "deepseek-chat", "deepseek", None, PEAK,
        Tokens(input_tokens=4000, output_tokens=400, calls=2), calls,
    )  # fmt: skip
    assert cost is not None
    # 3,000 x $0.30 + 100 x $1.20 at 07:00; 1,000 x $0.15 + 300 x $0.60 at noon.
    assert cost.amount_usd == (
        Decimal(3000) * Decimal("0.30") + 100 * Decimal("1.20")
        + 1000 * Decimal("0.15") + 300 * Decimal("0.60")
    ) / MTOK  # fmt: skip
    assert cost.detail.endswith(f"; {BY_CALL_TIME} (its 2 calls, 2 prices)")
    assert "deepseek-chat is its alias since 2026-04-24" in cost.detail


def test_calls_the_log_missed_are_spread_like_the_ones_it_has() -> None:
    calls = [
        CallTime(PEAK, prompt_tokens=3000, output_tokens=100),
        CallTime(OFF_PEAK, prompt_tokens=1000, output_tokens=300),
    ]
    cost = price_by_call_time(
        LibraryPricer(), "deepseek-chat", "deepseek", None, PEAK,
        Tokens(input_tokens=8000, output_tokens=800, calls=4), calls,
    )  # fmt: skip
    assert cost is not None
    # Twice the tokens, shared 6,000 / 2,000 and 200 / 600.
    assert cost.amount_usd == (
        6000 * Decimal("0.30") + 200 * Decimal("1.20")
        + 2000 * Decimal("0.15") + 600 * Decimal("0.60")
    ) / MTOK  # fmt: skip
    assert "(2 of its 4 calls, 2 prices)" in cost.detail


def test_without_call_times_a_time_of_day_price_is_taken_at_the_start() -> None:
    tokens = Tokens(input_tokens=1_000_000, output_tokens=1_000_000)
    at_peak = price_by_call_time(
        LibraryPricer(), "deepseek-chat", "deepseek", None, PEAK, tokens
    )
    off_peak = price_by_call_time(
        LibraryPricer(), "deepseek-chat", "deepseek", None, OFF_PEAK, tokens
    )
    assert at_peak is not None and off_peak is not None
    assert at_peak.amount_usd == Decimal("0.30") + Decimal("1.20")
    assert off_peak.amount_usd == Decimal("0.15") + Decimal("0.60")
    assert AT_FIRST_CALL in at_peak.detail


def test_a_flat_price_ignores_call_times() -> None:
    calls = [CallTime(PEAK, 1000, 0, 10), CallTime(OFF_PEAK, 1000, 0, 10)]
    cost = price_by_call_time(
        LibraryPricer(), "gpt-4.1", "openai", None, PEAK,
        Tokens(input_tokens=2000, output_tokens=20, calls=2), calls,
    )  # fmt: skip
    assert cost is not None
    assert cost.amount_usd == (2000 * Decimal(2) + 20 * Decimal(8)) / MTOK
    assert BY_CALL_TIME not in cost.detail


def _log_calls(home: Path) -> int:
    logs = [home / "logs" / "agent.log", *home.glob("profiles/*/logs/agent.log")]
    return sum(
        line.count(": API call #")
        for log in logs
        for line in log.read_text().split("\n")
    )


def _db_tokens(home: Path) -> int:
    total = 0
    for db in [home / "state.db", *home.glob("profiles/*/state.db")]:
        con = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
        total += con.execute(
            "SELECT sum(input_tokens + cache_read_tokens + cache_write_tokens "
            "+ output_tokens) FROM session_model_usage"
        ).fetchone()[0]
        con.close()
    return total


def test_agent_log_times_price_state_db_rows_without_counting_twice(
    sample_home: Path, cli: Callable[..., Result], tmp_path: Path
) -> None:
    ledger = tmp_path / "l.duckdb"
    base = ["--ledger", str(ledger), "--hermes-home", str(sample_home)]
    assert cli(*base, "scan").code == 0
    assert cli(*base, "scan").code == 0
    with Ledger.open(ledger) as opened:
        tokens = opened.fetch(
            "SELECT sum(input_tokens + cache_read_tokens + cache_write_tokens "
            "+ output_tokens) FROM usage"
        )[0][0]
        events = opened.fetch("SELECT count(*) FROM call_events")[0][0]
        by_time = opened.fetch(
            "SELECT record_key, cost_usd, model, provider, epoch(started_at), "
            "input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, "
            "calls FROM usage WHERE cost_detail LIKE ?",
            [f"%{BY_CALL_TIME}%"],
        )
    # The log's calls time the records; they add no tokens of their own.
    assert tokens == _db_tokens(sample_home)
    assert events == _log_calls(sample_home)
    assert by_time
    library = LibraryPricer()
    for _key, cost, model, provider, at, *counts in by_time:
        tokens_of = Tokens(*counts)
        day = datetime.fromtimestamp(float(at), tz=UTC).replace(hour=0, minute=0)
        cheapest = library.price(model, provider, None, day.replace(hour=12), tokens_of)
        dearest = library.price(model, provider, None, day.replace(hour=7), tokens_of)
        assert cheapest is not None and dearest is not None
        assert cheapest.amount_usd is not None and dearest.amount_usd is not None
        low, high = sorted([cheapest.amount_usd, dearest.amount_usd])
        assert low - Decimal("1e-9") <= cost <= high + Decimal("1e-9")
