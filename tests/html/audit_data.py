"""Audit documents for the HTML tests.

The sample Hermes home is scanned when it is there; otherwise a ledger is
filled with usage records spread over June 2025 across four profiles, API
and local models, and one model no price list knows.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from costaudit.analysis.audit import AuditOptions, build_audit
from costaudit.analysis.series import daily_by_profile
from costaudit.pricing.apply import price_ledger
from costaudit.record import UsageRecord
from costaudit.sources.base import PathState, ScanBatch
from costaudit.workspace import Options, Workspace

SAMPLE_HOME = Path(__file__).resolve().parents[2] / "samples" / "hermes-home"
FIRST_DAY = date(2025, 6, 1)
DAYS = 30

# (profile, task, model, provider, endpoint, calls a day, prompt, output)
WORKLOAD = [
    ("coder", "", "claude-sonnet-4-20250514", "anthropic", None, 12, 9000, 900),
    ("coder", "code-review", "gpt-4.1-mini", "openai", None, 12, 6000, 500),
    ("researcher", "", "deepseek-chat", "deepseek", None, 30, 12000, 1200),
    ("researcher", "title", "gpt-4.1-mini", "openai", None, 10, 800, 20),
    (
        "ops",
        "daily-digest",
        "qwen2.5-7b-instruct",
        None,
        "http://127.0.0.1:8080/v1",
        20,
        4000,
        400,
    ),
    ("default", "", "gpt-4.1-mini", "openai", None, 15, 3000, 300),
    (
        "default",
        "compression",
        "mystery-model-x",
        "custom",
        "https://llm.example.com/v1",
        3,
        20000,
        1500,
    ),
]


def _records() -> list[UsageRecord]:
    chance = random.Random(7)
    records = []
    for offset in range(DAYS):
        day = datetime.combine(FIRST_DAY + timedelta(days=offset), datetime.min.time())
        for n, (
            profile,
            task,
            model,
            provider,
            endpoint,
            calls,
            prompt,
            out,
        ) in enumerate(WORKLOAD):
            scale = chance.uniform(0.4, 1.6) * (1.8 if offset % 7 in (1, 2) else 1)
            count = max(1, round(calls * scale))
            start = day.replace(tzinfo=UTC) + timedelta(hours=8 + n)
            records.append(
                UsageRecord(
                    source="test",
                    record_key=f"{offset}-{n}",
                    source_path="test",
                    profile=profile,
                    session_id=f"{profile}-{offset}-{n % 3}",
                    model=model,
                    provider=provider,
                    endpoint=endpoint,
                    started_at=start,
                    ended_at=start + timedelta(minutes=30),
                    calls=count,
                    input_tokens=count * prompt // 3,
                    cache_read_tokens=count * prompt * 2 // 3,
                    output_tokens=count * out,
                    task=task,
                )
            )
    return records


def _store(workspace: Workspace) -> None:
    workspace.ledger.store_batch(
        ScanBatch("test", "test", PathState("test", "test"), _records())
    )
    price_ledger(workspace.ledger, workspace.pricer())


def prepare(directory: Path) -> Options:
    """A config and a filled, priced ledger in ``directory``."""
    config = directory / "config.toml"
    config.write_text('timezone = "UTC"\n[infrastructure]\nmonthly_usd = 12\n')
    options = Options(config, directory / "ledger.duckdb", SAMPLE_HOME)
    with Workspace(options) as workspace:
        if SAMPLE_HOME.is_dir():
            workspace.scan()
        else:
            _store(workspace)
    return options


def audit_document(options: Options) -> dict[str, Any]:
    """The audit as ``costaudit audit`` builds it, with spend per profile a day."""
    with Workspace(options) as workspace:
        window = workspace.window()
        document = build_audit(workspace, AuditOptions(window))
        document.setdefault("daily_by_profile", daily_by_profile(workspace, window))
    return document


def advice_part(spend: Decimal) -> dict[str, Any]:
    """Advice shaped as the advisor's ``Advice.document()``."""
    strategies = [
        ("model_routing", "Route easy calls to a smaller model", Decimal("0.25")),
        ("prompt_caching", "Cache the system prompt", Decimal("0.18")),
        ("semantic_cache", "Answer repeated questions from a cache", Decimal("0.07")),
        ("batch", "Send cron work through the batch API", Decimal(0)),
    ]
    applied = [
        ("semantic_cache", "0.07"),
        ("model_routing", "0.22"),
        ("prompt_caching", "0.13"),
    ]
    return {
        "period": {"monthly_spend_usd": spend, "days": DAYS},
        "strategies": [
            {
                "id": i,
                "title": t,
                "monthly_savings_usd": spend * share,
                "share": share,
                "confidence": "medium",
            }
            for i, t, share in strategies
        ],
        "combined": {
            "monthly_savings_usd": spend * Decimal("0.42"),
            "steps": [
                {"id": i, "monthly_savings_usd": spend * Decimal(share)}
                for i, share in applied
            ],
        },
    }


def with_plans(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with advice, budgets and break-even parts filled in."""
    spend = document["overview"]["cost_usd"] or Decimal(0)
    first = date.fromisoformat(str(document["period"]["first_day"]))
    last = date.fromisoformat(str(document["period"]["last_day"]))
    daily, total = [], Decimal(0)
    for row in document["daily"]:
        total += row["cost_usd"] or 0
        daily.append({"day": row["day"], "cumulative_usd": total})
    return document | {
        "advice": advice_part(spend),
        "budgets": [
            {
                "name": "monthly API",
                "limit_usd": Decimal(round(spend * Decimal("1.1"))),
                "period_start": first.isoformat(),
                "period_end": last.isoformat(),
                "spent_usd": total,
                "daily": daily,
                "forecast_usd": total * Decimal("1.05"),
            }
        ],
        "breakeven": {
            "series": [
                {
                    "label": "API (gpt-4.1-mini)",
                    "points": [[v, v * 0.6 / 1e6] for v in (1e6, 1e7, 1e8, 1e9)],
                },
                {
                    "label": "local (qwen2.5-7b)",
                    "points": [[v, 40 + v * 0.05 / 1e6] for v in (1e6, 1e7, 1e8, 1e9)],
                },
            ],
            "user_volume_tokens": 2.4e8,
        },
    }
