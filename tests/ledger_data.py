"""Building ledgers from usage records, for tests that need no agent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from costaudit.config import Config
from costaudit.ledger.store import Ledger
from costaudit.pricing.apply import price_ledger
from costaudit.pricing.pricer import Pricer
from costaudit.record import UsageRecord
from costaudit.sources.base import PathState, ScanBatch

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def record(
    key: str,
    *,
    profile: str = "hermy",
    task: str = "briefing",
    model: str = "deepseek-chat",
    provider: str | None = "deepseek",
    endpoint: str | None = "https://api.deepseek.com/v1",
    day: int = 0,
    calls: int = 1,
    input_tokens: int = 1000,
    cache_read_tokens: int = 0,
    output_tokens: int = 100,
    platform: str = "cli",
    session: str | None = None,
) -> UsageRecord:
    at = START + timedelta(days=day)
    return UsageRecord(
        source="test",
        record_key=key,
        source_path="/test",
        profile=profile,
        session_id=session or key,
        model=model,
        provider=provider,
        endpoint=endpoint,
        started_at=at,
        ended_at=at + timedelta(minutes=5),
        calls=calls,
        input_tokens=input_tokens,
        cache_read_tokens=cache_read_tokens,
        output_tokens=output_tokens,
        task=task,
        platform=platform,
    )


def ledger_with(
    path: Path, records: Sequence[UsageRecord], config: Config | None = None
) -> Ledger:
    ledger = Ledger.open(path)
    ledger.store_batch(
        ScanBatch("test", "/test", PathState("test", "/test"), list(records))
    )
    price_ledger(ledger, Pricer(config or Config()))
    return ledger


SAMPLE_RECORDS = [
    record("a1", day=0, calls=3, input_tokens=12000, cache_read_tokens=8000,
           output_tokens=900),
    record("a2", day=1, calls=2, input_tokens=9000, output_tokens=700),
    record("b1", profile="codi", task="code review", model="qwen2.5-coder-3b",
           provider="custom", endpoint="http://127.0.0.1:8080/v1", day=0, calls=4,
           input_tokens=6000, output_tokens=1500),
    record("c1", profile="sira", task="design review", model="gpt-4.1",
           provider="openai", endpoint="https://api.openai.com/v1", day=1, calls=2,
           input_tokens=20000, cache_read_tokens=10000, output_tokens=3000),
    record("d1", profile="sira", task="design review", model="mystery-model-x",
           provider="acme", endpoint="https://api.acme.example/v1", day=2, calls=1,
           input_tokens=500, output_tokens=50),
]  # fmt: skip
