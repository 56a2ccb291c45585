"""Sessions written by hermes-agent 0.19.0's own code, read back by costaudit.

Token totals per profile and per model must equal the databases', and API
costs must equal genai-prices' own calculation for each row, for the model the
provider bills (a retired name is billed as its successor).
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from costaudit.ledger.store import Ledger
from costaudit.pricing.aliases import alias_for
from costaudit.pricing.library import LibraryPricer
from tests.conftest import Result, hermes_python

T0 = 1_793_000_000.0  # 2026-10-27
SYSTEM = "You are Hermes, a helpful agent. " * 40


def call(
    input_tokens: int, output: int, cache_read: int = 0, **extra: Any
) -> dict[str, Any]:
    return {"latency": 2.0, "input": input_tokens, "output": output,
            "cache_read": cache_read, **extra}  # fmt: skip


SPEC: dict[str, Any] = {
    "timezone": "UTC",
    "profiles": [
        {
            "name": "default",
            "cron_jobs": [
                {
                    "id": "3f9a0c1b2d4e",
                    "name": "Morning briefing",
                    "prompt": "Summarise today's news and my calendar.",
                    "schedule": "0 7 * * *",
                    "model": "deepseek-chat",
                    "provider": "deepseek",
                    "base_url": "https://api.deepseek.com/v1",
                    "created_at": T0 - 86400,
                }
            ],
            "sessions": [
                {
                    "source": "cron",
                    "cron_job": "3f9a0c1b2d4e",
                    "started_at": T0,
                    "ended_at": T0 + 60,
                    "system_prompt": SYSTEM,
                    "turns": [
                        {
                            "at": T0 + 1,
                            "calls": [call(4000, 600, 2000)],
                            "reply": "Here is your briefing.",
                        }
                    ],
                },
                {
                    "source": "cli",
                    "started_at": T0 + 3600,
                    "ended_at": T0 + 4000,
                    "model": "gpt-4.1",
                    "provider": "openai",
                    "base_url": "https://api.openai.com/v1",
                    "system_prompt": SYSTEM,
                    "turns": [
                        {
                            "at": T0 + 3601,
                            "user": "Review the design of our billing service.",
                            "calls": [
                                call(9000, 1200, 4000),
                                {
                                    "task": "title_generation",
                                    "latency": 0.5,
                                    "input": 300,
                                    "output": 12,
                                },
                            ],
                            "reply": "The design looks sound.",
                        },
                        {
                            "at": T0 + 3700,
                            "user": "Now compare it with the old one.",
                            "switch": {
                                "model": "claude-sonnet-4-5",
                                "provider": "anthropic",
                                "base_url": "https://api.anthropic.com",
                                "via": "cli",
                            },
                            "calls": [call(5000, 900, 0, cache_write=3000)],
                            "reply": "The old one was simpler.",
                        },
                    ],
                },
            ],
        },
        {
            "name": "codi",
            "created_at": T0 - 86400,
            "sessions": [
                {
                    "source": "cli",
                    "started_at": T0 + 7200,
                    "ended_at": T0 + 7500,
                    "model": "qwen2.5-coder-3b",
                    "provider": "custom",
                    "base_url": "http://127.0.0.1:8080/v1",
                    "system_prompt": "You review code.",
                    "turns": [
                        {
                            "at": T0 + 7201,
                            "user": (
                                "Review this function:\n```py\ndef f(x): return x\n```"
                            ),
                            "calls": [
                                call(1500, 300),
                                call(1800, 200),
                                {
                                    "task": "compression",
                                    "latency": 3.0,
                                    "input": 2500,
                                    "output": 400,
                                },
                            ],
                            "reply": "Looks fine.",
                        }
                    ],
                }
            ],
        },
    ],
}

TOKENS = "input_tokens, cache_read_tokens, cache_write_tokens, output_tokens"


def database_totals(home: Path, by: str) -> dict[tuple[str, str], tuple[int, ...]]:
    totals: dict[tuple[str, str], tuple[int, ...]] = {}
    for profile, db in (("default", home / "state.db"),
                        ("codi", home / "profiles" / "codi" / "state.db")):  # fmt: skip
        con = sqlite3.connect(db)
        for row in con.execute(
            f"SELECT {by}, sum(api_call_count), sum(input_tokens), "
            "sum(cache_read_tokens), sum(cache_write_tokens), sum(output_tokens), "
            "sum(reasoning_tokens) FROM session_model_usage GROUP BY 1"
        ):
            totals[(profile, row[0])] = tuple(row[1:])
        con.close()
    return totals


@pytest.fixture(scope="module")
def conformance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("conformance")


def test_totals_and_costs_match_hermes_and_genai_prices(
    write_hermes_home: Callable[..., Path], cli: Callable[..., Result], tmp_path: Path
) -> None:
    home = write_hermes_home(SPEC)
    ledger_path = tmp_path / "ledger.duckdb"
    base = ["--ledger", str(ledger_path), "--hermes-home", str(home)]

    result = cli(*base, "scan")
    assert result.code == 0, result.err

    with Ledger.open(ledger_path) as ledger:
        ours = {
            (row[0], row[1]): tuple(int(v) for v in row[2:])
            for row in ledger.fetch(
                "SELECT profile, model, sum(calls), sum(input_tokens), "
                "sum(cache_read_tokens), sum(cache_write_tokens), "
                "sum(output_tokens), sum(reasoning_tokens) FROM usage GROUP BY 1, 2"
            )
        }
        assert ours == database_totals(home, "model")
        side_calls = ledger.fetch(
            "SELECT DISTINCT call_kind FROM usage WHERE call_kind <> 'main'"
        )
        assert {r[0] for r in side_calls} == {"title_generation", "compression"}
        tasks = {r[0] for r in ledger.fetch("SELECT DISTINCT task FROM usage")}
        assert "Morning briefing" in tasks
        check_api_costs(ledger)
        local = ledger.fetch(
            "SELECT DISTINCT cost_source, local FROM usage "
            "WHERE model = 'qwen2.5-coder-3b'"
        )
        assert local == [("energy_model", True)]

    report = cli(*base, "report", "--by", "profile", "--no-scan", "--format", "json")
    assert report.code == 0
    document = report.json()
    per_profile = {r["profile"]: r for r in document["rows"]}
    db = database_totals(home, "'all'")
    for profile in ("default", "codi"):
        expected = db[(profile, "all")]
        row = per_profile[profile]
        assert row["calls"] == expected[0]
        assert row["input_tokens"] == expected[1]
        assert row["cache_read_tokens"] == expected[2]


def check_api_costs(ledger: Ledger) -> None:
    rows = ledger.fetch(
        f"SELECT model, provider, epoch(started_at), {TOKENS}, cost_usd, cost_source "
        "FROM usage WHERE NOT local"
    )
    assert rows
    for model, provider, at, inp, cread, cwrite, out, cost, source in rows:
        assert source == "price_library"
        when = datetime.fromtimestamp(float(at), tz=UTC)
        # A retired name its provider bills as a newer model (deepseek-chat
        # since 2026-04-24) is priced as that model: genai-prices' own entry
        # for the old name still holds the retired model's price.
        alias = alias_for(model, provider, when)
        expected = calc_price(
            Usage(
                input_tokens=inp + cread + cwrite,
                cache_read_tokens=cread,
                cache_write_tokens=cwrite,
                output_tokens=out,
            ),
            alias.priced_as if alias else model,
            provider_id=provider,
            genai_request_timestamp=when,
        ).total_price
        assert cost == Decimal(expected).quantize(Decimal("1e-12")), model


# Hermes providers that genai-prices has no provider for: their calls are
# priced by the model's endpoint or maker, if the library knows the model.
NO_LIBRARY_PROVIDER = {
    "alibaba", "alibaba-coding-plan", "deep-infra", "deepinfra", "deepinfra-ai",
    "gmi", "huggingface", "kilocode", "lmstudio", "nous", "nvidia",
    "ollama-cloud", "opencode-go", "opencode-zen", "qwen-oauth", "solar",
    "stepfun", "tencent-tokenhub", "upstage", "xiaomi",
}  # fmt: skip


def test_hermes_providers_map_to_library_ids_or_have_none() -> None:
    python = hermes_python()
    if python is None:
        pytest.skip("hermes-agent 0.19.0 venv not found")
    listing = subprocess.run(
        [python, "-c", "from hermes_cli.auth import PROVIDER_REGISTRY as R; "
         "print('\\n'.join(R))"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert listing.returncode == 0, listing.stderr[-2000:]
    names = set(listing.stdout.split())
    # Billing routes Hermes writes besides its registry's names.
    names |= {"openrouter", "openai", "custom", "vertex", "fireworks"}
    library = LibraryPricer()
    unmapped = {n for n in names if library.provider_id(n) is None}
    assert unmapped <= NO_LIBRARY_PROVIDER | {"custom"}
    assert names >= NO_LIBRARY_PROVIDER
