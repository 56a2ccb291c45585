"""``compare``: billed, all local and all on one API model, worked by hand.

The local machine draws 60 W, electricity costs $0.30/kWh, and it reads 100
prompt tokens and writes 10 output tokens a second: a call costs
``60 x (prompt / 100 + output / 10) x 0.30 / 3,600,000`` dollars. gpt-4.1
costs $2 input, $0.50 cache read and $8 output per million tokens;
gpt-4.1-mini $0.40, $0.10 and $1.60.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from costaudit.analysis.compare import compare
from costaudit.analysis.window import Window
from costaudit.config import Config
from costaudit.pricing.cost import PartialAmount
from costaudit.pricing.pricer import Pricer
from tests.conftest import Result
from tests.ledger_data import ledger_with, record

SNAPSHOTS = Path(__file__).parent / "snapshots"
LOCAL = "qwen2.5-coder-3b"
CONFIG = """
[local]
watts = 60
kwh_price_usd = 0.30
prompt_tokens_per_second = 100
generation_tokens_per_second = 10
"""
OPENAI: dict[str, Any] = {
    "provider": "openai",
    "endpoint": "https://api.openai.com/v1",
}
RECORDS = [
    record("a", model="gpt-4.1-mini", calls=2, input_tokens=10_000,
           output_tokens=1_000, **OPENAI),
    record("d", model="gpt-4.1-mini", calls=1, input_tokens=6_000,
           cache_read_tokens=4_000, output_tokens=500, **OPENAI),
    record("b", profile="codi", task="code review", model=LOCAL, provider="custom",
           endpoint="http://127.0.0.1:8080/v1", calls=4, input_tokens=6_000,
           output_tokens=1_500),
    record("e", profile="sira", task="design review", model="gpt-4.1", calls=1,
           input_tokens=1_000, output_tokens=100, **OPENAI),
    record("c", profile="sira", task="design review", model="mystery-model-x",
           provider="acme", endpoint="https://api.acme.example/v1", calls=1,
           input_tokens=500, output_tokens=50),
]  # fmt: skip


def D(text: str) -> Decimal:
    return Decimal(text)


def test_compare_by_hand(tmp_path: Path) -> None:
    config = Config(raw=tomllib.loads(CONFIG))
    with ledger_with(tmp_path / "l.duckdb", RECORDS, config) as ledger:
        result = compare(
            ledger, Window(ZoneInfo("UTC")), Pricer(config), "gpt-4.1", "openai"
        )
    rows = {(r["profile"], r["task"]): r for r in result.rows}
    assert result.local_model == LOCAL

    briefing = rows[("hermy", "briefing")]
    # a: 10,000 x $0.40 + 1,000 x $1.60 per MTok; d: 6,000 x $0.40 + 4,000
    # cache reads x $0.10 + 500 x $1.60.
    assert briefing["billed_usd"] == D("0.0056") + D("0.0036")
    # a: 100 s + 100 s busy; d: (6,000 + 4,000) / 100 + 500 / 10 = 150 s.
    assert briefing["as_local_usd"] == D("0.001") + D("0.00075")
    # On gpt-4.1, d's cache reads stay cache reads: $0.50 a MTok.
    assert briefing["as_api_usd"] == D("0.028") + D("0.018")

    review = rows[("codi", "code review")]
    # 6,000 / 100 + 1,500 / 10 = 210 s at 60 W = 12,600 J.
    assert review["billed_usd"] == D("0.00105")
    assert review["as_local_usd"] == D("0.00105")
    # Moved to the API, its whole prompt is paid as input.
    assert review["as_api_usd"] == D("0.012") + D("0.012")
    assert review["cheaper"] == "local"

    design = rows[("sira", "design review")]
    # e is priced, c is not: the billed cost is at least e's.
    assert design["billed_usd"] == D("0.0028")
    assert isinstance(design["billed_usd"], PartialAmount)
    assert design["unpriced_calls"] == 1
    assert design["as_local_usd"] == D("0.0001") + D("0.00005")
    assert design["as_api_usd"] == D("0.0028") + D("0.0014")
    assert design["api_minus_local_usd"] == D("0.0042") - D("0.00015")

    totals = result.totals
    assert totals["billed_usd"] == D("0.0092") + D("0.00105") + D("0.0028")
    assert isinstance(totals["billed_usd"], PartialAmount)
    assert totals["unpriced_calls"] == 1
    assert totals["as_api_usd"] == D("0.046") + D("0.024") + D("0.0042")
    assert "60 W (config)" in result.local_detail


def _base(tmp_path: Path) -> list[str]:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    ledger = tmp_path / "l.duckdb"
    if not ledger.exists():
        ledger_with(ledger, RECORDS, Config(raw=tomllib.loads(CONFIG))).close()
    empty = tmp_path / "no-hermes"
    empty.mkdir(exist_ok=True)
    return ["--config", str(config), "--ledger", str(ledger), "--hermes-home",
            str(empty)]  # fmt: skip


def test_compare_shows_unpriced_calls_everywhere(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    args = [*_base(tmp_path), "compare", "--api", "gpt-4.1"]
    table = cli(*args)
    assert table.code == 0, table.err
    line = next(x for x in table.out.splitlines() if "design review" in x)
    assert "≥$0.0028" in line
    assert "≥ marks a cost that leaves out calls with no price" in table.err
    document = cli(*args, "--format", "json").json()
    design = next(r for r in document["rows"] if r["task"] == "design review")
    assert design["unpriced_calls"] == 1 and design["billed_usd"] == 0.0028
    csv = cli(*args, "--format", "csv").out.splitlines()
    assert "unpriced_calls" in csv[0].split(",")


def test_compare_table_snapshot(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli(*_base(tmp_path), "compare", "--api", "gpt-4.1")
    snapshot = SNAPSHOTS / "compare.txt"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.write_text(result.out)
    assert result.out == snapshot.read_text()


def test_top_table_snapshot(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli(*_base(tmp_path), "top", "--limit", "3")
    assert "≥$0.0028" in result.out
    snapshot = SNAPSHOTS / "top.txt"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.write_text(result.out)
    assert result.out == snapshot.read_text()


def test_top_ranks_by_tokens_and_carries_unpriced_calls(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli(*_base(tmp_path), "top", "--rank", "tokens", "--format", "json")
    rows = result.json()["rows"]
    assert [r["total_tokens"] for r in rows] == sorted(
        (r["total_tokens"] for r in rows), reverse=True
    )
    assert {r["task"]: r["unpriced_calls"] for r in rows}["design review"] == 1
    csv = cli(*_base(tmp_path), "top", "--format", "csv").out.splitlines()
    assert csv[0].endswith(",unpriced_calls")


def test_audit_with_an_unknown_api_model_keeps_the_rest(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    args = [*_base(tmp_path), "audit", "--no-advice", "--compare-api", "gpt-9-ultra"]
    result = cli(*args, "--format", "json")
    assert result.code == 0, result.err
    document = result.json()
    section = document["local_vs_api"]
    assert section["rows"] == []
    assert section["error"].startswith(
        "unavailable: genai-prices has no price for 'gpt-9-ultra'"
    )
    assert document["profiles"] and document["top"]
    table = cli(*args)
    assert table.code == 0
    assert "Local versus API: unavailable: genai-prices has no price" in table.out


def test_audit_table_snapshot(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli(*_base(tmp_path), "audit", "--no-advice", "--compare-api", "gpt-4.1")
    assert result.code == 0, result.err
    snapshot = SNAPSHOTS / "audit.txt"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.write_text(result.out)
    assert result.out == snapshot.read_text()
