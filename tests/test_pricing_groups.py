"""Pricing the ledger by groups in SQL gives every record what pricing it on
its own gives: the same amount to the ledger's last digit, the same source,
provenance, locality and fingerprint.

The records mix every way of pricing (library prices flat, tiered, dated,
by time of day and through an alias; a user override; the energy model with
awkward figures; provider-reported, included and estimated agent costs; no
price) and start times on both sides of every point where a price changes.
"""

from __future__ import annotations

import random
import tomllib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from costaudit.config import Config
from costaudit.ledger.store import Ledger
from costaudit.pricing import apply
from costaudit.pricing.apply import (
    WITH_CALLS,
    needs_pricing,
    price_ledger,
    remember_pricing,
)
from costaudit.pricing.call_times import CallTime
from costaudit.pricing.library import Tokens
from costaudit.pricing.pricer import Call, Pricer
from costaudit.pricing.rules import AgentCost, Group, Kind, rules_for, us_of
from costaudit.record import UsageRecord
from costaudit.sources.base import CallEvent, PathState, ScanBatch

CONFIG = """
[prices."my-model"]
input_mtok = 1.25
output_mtok = 10.3333
cache_read_mtok = 0.125

[local]
models = ["my-box-model"]
watts = 41.5
kwh_price_usd = 0.2734
prompt_tokens_per_second = 37
generation_tokens_per_second = 7.3
"""

MODELS = [
    ("gpt-4.1", "openai", "https://api.openai.com/v1"),
    ("deepseek-chat", "deepseek", "https://api.deepseek.com/v1"),
    ("deepseek-reasoner", None, None),
    ("claude-sonnet-4-5", "anthropic", None),
    ("claude-sonnet-4-20250514", "anthropic", None),
    ("mystery-model", "acme", "https://api.acme.example/v1"),
    ("qwen2.5-coder-3b", "custom", "http://127.0.0.1:8080/v1"),
    ("my-model", "openai", None),
    ("my-box-model", None, None),
]
AGENT_COSTS = [
    (None, None),
    ("actual", Decimal("0.0123")),
    ("actual", None),
    ("actual", Decimal(0)),
    ("included", None),
    ("included", Decimal("0.5")),
    ("estimated", Decimal("0.25")),
    ("estimated", Decimal(0)),
    ("estimated", None),
]
START = datetime(2026, 4, 22, tzinfo=UTC)
SPAN = datetime(2026, 9, 12, tzinfo=UTC) - START
# Where a price changes: the alias day, dated prices, time-of-day hours.
EDGES = [
    datetime(2026, 4, 24, tzinfo=UTC),
    datetime(2026, 8, 17, tzinfo=UTC),
    datetime(2026, 9, 10, tzinfo=UTC),
    datetime(2026, 9, 11, 1, tzinfo=UTC),
    datetime(2026, 9, 11, 4, tzinfo=UTC),
    datetime(2026, 9, 11, 6, tzinfo=UTC),
    datetime(2026, 9, 11, 10, tzinfo=UTC),
]


def config(text: str = CONFIG) -> Config:
    return Config(raw=tomllib.loads(text))


def _time(rng: random.Random) -> datetime:
    if rng.random() < 0.3:
        edge = rng.choice(EDGES)
        return edge + timedelta(microseconds=rng.choice([-1, 0, 1]))
    return START + timedelta(
        microseconds=rng.randrange(us_of(START + SPAN) - us_of(START))
    )


def _tokens(rng: random.Random) -> dict[str, int]:
    big = rng.random() < 0.3  # prompts over 200k tokens pay a tiered price
    return {
        "input_tokens": rng.choice([0, rng.randrange(250_000 if big else 30_000)]),
        "cache_read_tokens": rng.choice([0, rng.randrange(150_000)]),
        "cache_write_tokens": rng.choice([0, rng.randrange(60_000)]),
        "output_tokens": rng.choice([0, rng.randrange(20_000)]),
        "calls": rng.randrange(1, 6),
    }


def make_records(count: int, seed: int) -> list[UsageRecord]:
    rng = random.Random(seed)
    records = []
    for n in range(count):
        model, provider, endpoint = rng.choice(MODELS)
        status, agent_cost = rng.choice(AGENT_COSTS)
        at = _time(rng)
        records.append(
            UsageRecord(
                source="test",
                record_key=f"r{n:05d}",
                source_path="/test",
                profile="p",
                session_id=f"s{n:05d}",
                model=model,
                provider=provider,
                endpoint=endpoint,
                is_local=rng.choice([None, None, None, True, False]),
                started_at=at,
                ended_at=at,
                agent_cost_status=status,
                agent_cost_usd=agent_cost,
                **_tokens(rng),
            )
        )
    return records


def call_events(records: list[UsageRecord], seed: int) -> list[CallEvent]:
    """Per-call times for some records: they are priced call by call."""
    rng = random.Random(seed)
    events = []
    for record in records:
        if rng.random() > 0.1:
            continue
        for n in range(rng.randrange(1, 4)):
            events.append(
                CallEvent(
                    source="log",
                    event_key=f"{record.record_key}-{n}",
                    path="/log",
                    at=record.started_at + timedelta(hours=3 * n),
                    model=record.model,
                    profile=record.profile,
                    session_id=record.session_id,
                    prompt_tokens=rng.randrange(1, 5000),
                    output_tokens=rng.randrange(0, 500),
                )
            )
    return events


def store(ledger: Ledger, records: list[UsageRecord], events: list[CallEvent]) -> None:
    ledger.store_batch(
        ScanBatch("test", "/test", PathState("test", "/test"), records, events)
    )


def expected(ledger: Ledger, pricer: Pricer) -> dict[str, tuple[Any, ...]]:
    """Each record priced on its own, as the ledger would store it."""
    api_fp, local_fp = pricer.fingerprints()
    times: dict[str, list[CallTime]] = {}
    for key, at, prompt, read, output in ledger.fetch(
        "SELECT u.record_key, epoch(e.at), e.prompt_tokens, e.cache_read_tokens,"
        " e.output_tokens FROM usage u JOIN call_events e ON e.profile = u.profile"
        " AND e.session_id = u.session_id AND e.model = u.model"
        " AND u.call_kind = 'main' ORDER BY 1, 2"
    ):
        at_time = datetime.fromtimestamp(float(at), tz=UTC)
        times.setdefault(key, []).append(CallTime(at_time, prompt, read, output))
    found = {}
    for row in ledger.fetch(
        "SELECT record_key, model, provider, endpoint, is_local, epoch(started_at),"
        " calls, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens,"
        " agent_cost_usd, agent_cost_status FROM usage"
    ):
        calls = times.get(row[0], [])
        cost, local = pricer.price(
            Call(
                row[1], row[2], row[3], row[4],
                datetime.fromtimestamp(float(row[5]), tz=UTC),
                Tokens(row[7], row[8], row[9], row[10], row[6]),
                row[11], row[12], tuple(calls),
            )
        )  # fmt: skip
        amount = cost.amount_usd
        stored = None
        if amount is not None:
            stored = ledger.fetch("SELECT ?::DECIMAL(24, 12)", [str(amount)])[0][0]
        mark = local_fp if local else api_fp + (WITH_CALLS if calls else "")
        found[row[0]] = (
            stored,
            str(cost.source),
            cost.detail,
            local,
            mark,
        )
    return found


def priced(ledger: Ledger) -> dict[str, tuple[Any, ...]]:
    rows = ledger.fetch(
        "SELECT record_key, cost_usd, cost_source, cost_detail, local, priced_with"
        " FROM usage"
    )
    return {row[0]: tuple(row[1:]) for row in rows}


@pytest.mark.parametrize("seed", [1, 2])
def test_records_priced_by_groups_as_each_alone(tmp_path: Path, seed: int) -> None:
    records = make_records(1500, seed)
    with Ledger.open(tmp_path / "l.duckdb") as ledger:
        store(ledger, records, call_events(records, seed))
        pricer = Pricer(config())

        assert price_ledger(ledger, pricer) == len(records)

        assert priced(ledger) == expected(ledger, pricer)
        assert price_ledger(ledger, pricer) == 0


def test_a_change_of_settings_prices_every_record_again(tmp_path: Path) -> None:
    records = make_records(apply.FEW + 400, 3)
    with Ledger.open(tmp_path / "l.duckdb") as ledger:
        store(ledger, records, [])
        price_ledger(ledger, Pricer(config()))
        cheaper = config(CONFIG.replace("watts = 41.5", "watts = 12"))
        pricer = Pricer(cheaper)

        assert price_ledger(ledger, pricer) == len(records)

        assert priced(ledger) == expected(ledger, pricer)


def test_what_groups_leave_is_priced_in_bounded_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apply, "CHUNK_ROWS", 7)
    records = make_records(300, 4)
    with Ledger.open(tmp_path / "l.duckdb") as ledger:
        store(ledger, records, call_events(records, 4))
        pricer = Pricer(config())

        assert price_ledger(ledger, pricer) == len(records)

        assert priced(ledger) == expected(ledger, pricer)


def _group(model: str, provider: str | None, first: datetime, last: datetime) -> Group:
    return Group(1, model, provider, None, None, None, AgentCost(0), False,
                 us_of(first), us_of(last))  # fmt: skip


def test_a_tiered_price_is_two_linear_bands() -> None:
    at = datetime(2026, 5, 1, tzinfo=UTC)
    group = _group("claude-sonnet-4-5", "anthropic", at, at)

    rules = rules_for(Pricer(config()), group, ("api", "local"))

    assert [r.kind for r in rules] == [Kind.LINEAR, Kind.LINEAR]
    assert (rules[0].band.low, rules[0].band.high) == (-1, 200_000)
    below, above = (r.band.price for r in rules)
    assert above.per_token[0] == 2 * below.per_token[0]


def test_rules_change_where_the_price_does() -> None:
    # deepseek-chat over two days: dearer from 01:00 to 04:00 and from 06:00
    # to 10:00 UTC, and a dated price from 2026-09-10.
    first = datetime(2026, 9, 9, 12, tzinfo=UTC)
    last = datetime(2026, 9, 10, 23, tzinfo=UTC)
    group = _group("deepseek-chat", "deepseek", first, last)

    rules = rules_for(Pricer(config()), group, ("api", "local"))

    starts = [r.start_us for r in rules]
    assert starts == sorted(starts)
    hours = [datetime(2026, 9, 10, h, tzinfo=UTC) for h in (0, 1, 4, 6, 10)]
    assert starts == [us_of(first), *(us_of(h) for h in hours)]
    assert all(r.kind is Kind.LINEAR for r in rules)


def test_records_without_call_times_are_priced_by_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one_by_one: list[int] = []
    original = apply._price_one_by_one

    def spy(*args: Any) -> int:
        one_by_one.append(original(*args))
        return one_by_one[-1]

    monkeypatch.setattr(apply, "_price_one_by_one", spy)
    records = make_records(apply.FEW + 100, 5)
    with Ledger.open(tmp_path / "l.duckdb") as ledger:
        store(ledger, records, [])

        assert price_ledger(ledger, Pricer(config())) == len(records)

    assert one_by_one == [0]


def test_nothing_to_price_is_told_by_one_query(tmp_path: Path) -> None:
    api = [r for r in make_records(200, 6) if r.model == "gpt-4.1" and not r.is_local]
    with Ledger.open(tmp_path / "l.duckdb") as ledger:
        store(ledger, api[:-1], [])
        assert needs_pricing(ledger, Pricer(config()))
        price_ledger(ledger, Pricer(config()))

        assert not needs_pricing(ledger, Pricer(config()))
        assert needs_pricing(
            ledger, Pricer(config(CONFIG + "\n[providers]\nx = 'openai'\n"))
        )
        store(ledger, api[-1:], [])
        assert needs_pricing(ledger, Pricer(config()))


def test_local_records_are_judged_by_what_their_speeds_came_from(
    tmp_path: Path,
) -> None:
    local = [r for r in make_records(300, 7) if r.model == "qwen2.5-coder-3b"]
    with Ledger.open(tmp_path / "l.duckdb") as ledger:
        store(ledger, local, [])
        assert needs_pricing(ledger, Pricer(config()))
        price_ledger(ledger, Pricer(config()))
        assert needs_pricing(ledger, Pricer(config()))  # nothing kept yet
        remember_pricing(ledger, Pricer(config()))

        assert not needs_pricing(ledger, Pricer(config()))
        event = CallEvent(
            "llamacpp", "e1", "/log", local[0].started_at, local[0].model,
            prompt_tokens=100, output_tokens=10, prompt_eval_s=0.5, eval_s=1.0,
        )  # fmt: skip
        store(ledger, [], [event])
        assert needs_pricing(ledger, Pricer(config()))
