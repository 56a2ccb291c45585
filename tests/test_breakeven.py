"""Local economics by hand-computed examples: the machine's daily cost, cost
per million tokens, the break-even volume, speed from memory bandwidth, and
throughput fitted from call events."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from costaudit.analysis.bandwidth import (
    Bandwidth,
    Compute,
    Power,
    bits_per_weight,
    compare_quantisations,
    configured_bandwidth,
    cpu_compute,
    generation_estimate,
    measure_bandwidth,
    measure_compute,
    prompt_estimate,
    weight_bytes,
)
from costaudit.analysis.breakeven import (
    Machine,
    Mix,
    break_even_volume,
    energy_usd,
    joules_above_idle,
    volume_grid,
)
from costaudit.analysis.breakeven_report import (
    BreakevenOptions,
    build_breakeven,
    machine_monthly_usd,
)
from costaudit.config import Config, load_config
from costaudit.errors import CostauditError
from costaudit.ledger.store import Ledger
from costaudit.local.bench import BenchResult, BenchRun, Phase, Rapl, store_runs
from costaudit.local.gguf import read_gguf
from costaudit.pricing.energy import (
    EnergyPricer,
    EnergySettings,
    Figure,
    Throughput,
)
from costaudit.pricing.library import Tokens
from costaudit.pricing.locality import Locality
from costaudit.pricing.throughput import measure_throughput
from costaudit.sources.base import CallEvent, PathState, ScanBatch
from costaudit.workspace import Options, Workspace
from tests.ledger_data import ledger_with, record


def figure(value: str) -> Figure:
    return Figure(Decimal(value), "test")


def machine(
    busy: str = "65", idle: str = "15", kwh: str = "0.30", monthly: str = "0",
    prompt_tps: str = "100", generation_tps: str = "10",
) -> Machine:  # fmt: skip
    speed = Throughput(figure(prompt_tps), figure(generation_tps))
    return Machine(figure(busy), figure(idle), figure(kwh), Decimal(monthly), speed)


def test_65_watts_busy_all_day_at_30_cents_is_0468() -> None:
    assert machine().energy_usd_per_day(Decimal(1)) == Decimal("0.468")
    # 15 W for 24 h = 0.36 kWh; half busy: (65 + 15) / 2 W for 24 h = 0.96 kWh.
    assert machine().energy_usd_per_day(Decimal(0)) == Decimal("0.108")
    assert machine().energy_usd_per_day(Decimal("0.5")) == Decimal("0.288")


def test_fixed_cost_per_day_is_the_month_over_its_days() -> None:
    assert machine(monthly="30.4375").fixed_usd_per_day() == Decimal(1)


def test_marginal_cost_per_million_tokens() -> None:
    m = machine()
    # 1M prompt tokens at 100/s: 10,000 s at 50 W above idle = 0.1389 kWh.
    assert m.marginal_usd_per_mtok(Decimal(1)) == Decimal(150_000) / 3_600_000
    # 1M generated at 10/s: 100,000 s x 50 W = 1.389 kWh at $0.30.
    assert m.marginal_usd_per_mtok(Decimal(0)) == Decimal(1_500_000) / 3_600_000


def test_break_even_volume_by_hand() -> None:
    m = machine("60", "10", "0.36", "20", "1000", "100")
    mix = Mix(Decimal("0.9"), Decimal(0), Decimal(0), Decimal("0.1"))
    # 0.9/1000 + 0.1/100 = 0.0019 s a token; 50 W x 0.0019 s at $0.36/kWh.
    assert m.marginal_usd_per_token(mix) == Decimal("9.5E-9")
    # $20 rent + 10 W idle for 30.4375 days at $0.36/kWh = $22.6298 a month.
    assert m.standing_usd_per_month() == Decimal("22.6298")
    volume = break_even_volume(m, mix, Decimal("0.000001"))  # $1 per Mtok
    assert volume is not None
    assert round(volume, 2) == Decimal("22846845.03")  # 22.6298 / 9.905e-7
    assert m.usd_per_month(volume, mix) == pytest.approx(volume * Decimal("1e-6"))
    assert round(m.capacity_per_month(mix)) == 1_384_105_263  # 2,629,800 s / 0.0019
    assert break_even_volume(m, mix, Decimal("5e-9")) is None


def test_mix_of_tokens() -> None:
    mix = Mix.of(Tokens(500, 300, 0, 200))
    assert mix == Mix(Decimal("0.5"), Decimal("0.3"), Decimal(0), Decimal("0.2"))
    assert mix.tokens(1000) == Tokens(500, 300, 0, 200)
    assert Mix.of(Tokens()) is None


def test_volume_grid_covers_whole_decades() -> None:
    grid = volume_grid(Decimal(30_000), Decimal(2_000_000))
    assert grid[0] == 10_000 and grid[-1] == 10_000_000
    assert grid[:5] == [10_000, 17_783, 31_623, 56_234, 100_000]


def test_machine_cost_from_rent_and_hardware() -> None:
    config = Config(raw={"infrastructure": {"monthly_usd": 5, "hardware_usd": 1200,
                                            "hardware_life_months": 24}})  # fmt: skip
    total, how = machine_monthly_usd(config)
    assert total == Decimal(55)
    assert "$1200 hardware over 24 months" in how
    assert machine_monthly_usd(Config())[0] == 0


def test_generation_speed_from_bandwidth() -> None:
    speed = generation_estimate(
        Decimal(4_000_000_000), Bandwidth(Decimal(20), "config")
    )
    assert speed.value == Decimal(5)
    assert speed.origin.startswith("estimate: 20.0 GB/s (config)")
    assert weight_bytes(Decimal(7), "q8_0") == Decimal("7446250000")
    with pytest.raises(CostauditError, match="did you mean Q4_K_M"):
        bits_per_weight("Q4_KM")


def test_quantisation_comparison_for_7b() -> None:
    rows = compare_quantisations(
        Decimal(7), ["Q4_K_M", "Q8_0"], Bandwidth(Decimal(20), "config"),
        Power(Decimal(65), Decimal(15), Decimal("0.30")),
    )  # fmt: skip
    q4, q8 = rows
    # 7e9 weights x 4.90 bits = 4.2875 GB; 20 GB/s / 4.2875 GB = 4.66 tok/s.
    assert (q4["size_gb"], q4["generation_tps"]) == (Decimal("4.29"), Decimal("4.66"))
    # 65 W busy less 15 W idle is 50 W above idle; 50 W / 4.66 tok/s.
    assert q4["joules_per_token"] == Decimal("10.730")
    # A million of them: 10.7296 MJ is 2.98045 kWh, at $0.30 a kWh $0.8941.
    assert round(q4["usd_per_mtok_generated"], 4) == Decimal("0.8941")
    assert (q8["size_gb"], q8["generation_tps"]) == (Decimal("7.45"), Decimal("2.69"))
    assert q8["joules_per_token"] == Decimal("18.587")  # 50 W / 2.69 tok/s


def test_a_real_file_gets_a_row_of_its_own() -> None:
    # A 3 GB file of 6e9 weights is 4 bits a weight: 20 GB/s / 3 GB.
    power = Power(Decimal(65), Decimal(15), Decimal("0.30"))
    rows = compare_quantisations(
        Decimal(6), ["Q8_0"], Bandwidth(Decimal(20), "config"), power,
        actual=("Q4_0", 3_000_000_000),
    )  # fmt: skip
    mine, q8 = rows
    assert mine["quant"] == "Q4_0 (this file)"
    assert (mine["bits_per_weight"], mine["size_gb"]) == (Decimal(4), Decimal(3))
    assert mine["generation_tps"] == Decimal("6.67")
    assert q8["quant"] == "Q8_0"


def test_prompt_speed_from_the_arithmetic_rate() -> None:
    # 100 GFLOP/s over 2 operations for each of 4e9 weights: 12.5 tok/s.
    speed = prompt_estimate(4_000_000_000, Compute(Decimal(100), "config"))
    assert speed.value == Decimal("12.5")
    assert speed.origin == "estimate: 100 GFLOP/s (config) / (2 x 4.00 B weights)"
    assert cpu_compute(Config(raw={"local": {"cpu_gflops": 100}})).origin == "config"
    measured = measure_compute(size=64, repeats=1)
    assert measured.gflops > 0
    assert measured.origin == "measured: NumPy float32 matrix product, 64x64"


def test_bandwidth_from_config_or_measured() -> None:
    config = Config(raw={"local": {"memory_bandwidth_gbs": 42.5}})
    assert configured_bandwidth(config) == Bandwidth(Decimal("42.5"), "config")
    measured = measure_bandwidth(mib=64, repeats=2)
    assert measured.gb_per_s > 0
    assert measured.origin.startswith("measured: NumPy copy of 64 MiB")


def event(
    key: str,
    prompt: int,
    output: int,
    latency_s: float | None = None,
    prompt_eval_s: float | None = None,
    eval_s: float | None = None,
    source: str = "test",
) -> CallEvent:
    at = datetime(2026, 11, 2, tzinfo=UTC) + timedelta(minutes=len(key))
    return CallEvent(
        source=source, event_key=key, path="/log", at=at, model="qwen-local",
        endpoint="http://127.0.0.1:8080/v1", prompt_tokens=prompt,
        output_tokens=output, latency_s=latency_s, prompt_eval_s=prompt_eval_s,
        eval_s=eval_s,
    )  # fmt: skip


def test_throughput_fit_from_call_events(tmp_path: Path) -> None:
    # Latency alone, made from 50 prompt and 10 generated tokens a second.
    sizes = [(500, 20), (1000, 50), (200, 100), (800, 10), (300, 60), (1500, 30)]
    events = [
        event(f"l{i}", p, o, latency_s=p / 50 + o / 10)
        for i, (p, o) in enumerate(sizes)
    ]
    with Ledger.open(tmp_path / "l.duckdb") as ledger:
        batch = ScanBatch("test", "/log", PathState("test", "/log"), [], events)
        ledger.store_batch(batch)
        fitted = measure_throughput(ledger, Locality())["qwen-local"]
        assert fitted.prompt_tps.value == Decimal(50)
        assert fitted.generation_tps.value == Decimal(10)
        assert fitted.prompt_tps.origin == "measured: test, 6 calls (fitted to latency)"
        # Server timings win over latency: 400 tokens in 2 s, 100 in 5 s.
        timed = event("t", 400, 100, prompt_eval_s=2.0, eval_s=5.0)
        ledger.store_batch(ScanBatch("test", "/log", PathState("test", "/log"),
                                     [], [timed]))  # fmt: skip
        measured = measure_throughput(ledger, Locality())["qwen-local"]
        assert (measured.prompt_tps.value, measured.generation_tps.value) == (
            Decimal(200),
            Decimal(20),
        )


def test_bench_runs_become_the_measured_throughput(tmp_path: Path) -> None:
    at = datetime(2026, 11, 2, tzinfo=UTC)
    runs = [
        BenchRun(at, Phase(256, 0.5, None), Phase(64, 0.4, None)),
        BenchRun(
            at + timedelta(seconds=2), Phase(256, 0.3, None), Phase(64, 0.4, None)
        ),
    ]
    result = BenchResult("smol", tmp_path / "smol.gguf", 1000, 2, runs, "configured")
    assert result.tokens_per_second("prompt") == Decimal(640)  # 512 / 0.8 s
    assert result.tokens_per_second("generation") == Decimal(160)  # 128 / 0.8 s
    assert result.measured_watts() is None
    assert result.throughput().generation_tps == Figure(
        Decimal(160), "measured: bench-local, 2 runs"
    )
    with Ledger.open(tmp_path / "l.duckdb") as ledger:
        assert store_runs(ledger, result) == 2
        measured = measure_throughput(ledger, Locality())["smol"]
    assert (measured.prompt_tps.value, measured.generation_tps.value) == (
        Decimal(640),
        Decimal(160),
    )


def test_energy_per_token_has_one_definition() -> None:
    # 64 W busy less 16 W idle is 48 J a second, over 160 tok/s.
    assert joules_above_idle(Decimal(64), Decimal(16), Decimal(160)) == Decimal("0.3")
    assert joules_above_idle(Decimal(10), Decimal(16), Decimal(160)) == 0
    # The machine's cost of a million generated tokens is the same figure:
    # 0.3 J x 1e6 = 300 kJ = 1/12 kWh, at $0.30 a kWh is $0.025.
    m = machine(busy="64", idle="16", generation_tps="160")
    assert m.marginal_usd_per_mtok(Decimal(0)) == Decimal("0.025")
    assert energy_usd(Decimal("0.3") * 1_000_000, Decimal("0.30")) == Decimal("0.025")


def test_rapl_counters_and_their_wraparound(tmp_path: Path) -> None:
    package = tmp_path / "intel-rapl:0"
    (tmp_path / "intel-rapl:0:0").mkdir(parents=True)  # a subzone: not counted
    package.mkdir()
    (package / "energy_uj").write_text("1000000\n")
    (package / "max_energy_range_uj").write_text("262143328850\n")
    meter = Rapl(tmp_path)
    assert meter.problem is None and meter.zones == [package]
    assert meter.joules([262_142_328_850], [500_000]) == pytest.approx(1.5)
    assert Rapl(tmp_path / "nothing").problem is not None


def test_breakeven_from_a_ledger_by_hand(tmp_path: Path) -> None:
    config_file = tmp_path / "c.toml"
    config_file.write_text(
        "[local]\nwatts = 65\nidle_watts = 15\nkwh_price_usd = 0.30\n"
        "prompt_tokens_per_second = 100\ngeneration_tokens_per_second = 10\n"
        "memory_bandwidth_gbs = 20\n[prices.api-m]\ninput_mtok = 1\noutput_mtok = 1\n"
    )
    records = [
        # 36,000 prompt tokens at 100/s and 3,600 generated at 10/s: 720 s busy.
        record("l", model="qwen-local", provider="custom",
               endpoint="http://127.0.0.1:8080/v1", input_tokens=36_000,
               output_tokens=3_600),
        record("a", model="api-m", provider="acme",
               endpoint="https://api.acme.example/v1", input_tokens=900_000,
               output_tokens=100_000),
    ]  # fmt: skip
    config = load_config(config_file, required=True)
    ledger_with(tmp_path / "l.duckdb", records, config).close()
    options = Options(config_file, tmp_path / "l.duckdb")
    with Workspace(options) as workspace:
        doc = build_breakeven(workspace, workspace.window(), BreakevenOptions())
    m = doc["machine"]
    assert m["busy_share"] == Decimal(720) / 86_400
    # (65 W x 1/120 + 15 W x 119/120) x 24 h = 370 Wh at $0.30.
    assert m["energy_usd_per_day"] == Decimal("0.111")
    [api] = doc["rows"]
    assert api["api_usd_per_mtok"] == Decimal(1)
    # One day of data: 1M tokens a day is 30.4375M a month.
    assert api["your_tokens_per_month"] == Decimal("30437500")
    assert doc["user_volume_tokens"] == Decimal("30437500")
    # At api-m's mix (90% prompt) a token takes 0.9/100 + 0.1/10 = 0.019 s,
    # 0.95 J above idle: $0.0791667 per million at $0.30 a kWh.
    energy = Decimal("0.95") * 1_000_000 * Decimal("0.30") / 3_600_000
    assert api["local_energy_usd_per_mtok"] == energy
    # All in: 15 W idle for 30.4375 days is 10.9575 kWh ($3.28725), plus the
    # energy of 30.4375M tokens, over those 30.4375M tokens.
    local_month = Decimal("3.28725") + energy * Decimal("30.4375")
    assert api["local_usd_per_month"] == local_month
    assert api["local_usd_per_mtok"] == local_month / Decimal("30.4375")
    assert round(api["local_usd_per_mtok"], 4) == Decimal("0.1872")
    assert (api["cheaper"], api["local_machines"]) == ("local", 1)
    labels = [s["label"] for s in doc["series"]]
    assert labels == ["local (qwen-local)", "API (api-m)"]
    assert doc["series"][0]["mix"] == (
        "your API mix: 90% prompt (0% cache read, 0% cache write), 10% output"
    )
    assert doc["busy_share_basis"] == "your local calls to qwen-local"
    assert any("busy share" in a for a in doc["assumptions"])


def store(ledger: Ledger, events: list[CallEvent]) -> None:
    for source in {e.source for e in events}:
        mine = [e for e in events if e.source == source]
        ledger.store_batch(
            ScanBatch(source, "/log", PathState(source, "/log"), [], mine)
        )


def test_throughput_comes_from_one_source_in_priority_order(tmp_path: Path) -> None:
    sizes = [(500, 20), (1000, 50), (200, 100), (800, 10), (300, 60)]
    hermes = [
        event(f"h{i}", p, o, latency_s=p / 50 + o / 10, source="hermes_agent_log")
        for i, (p, o) in enumerate(sizes)
    ]
    server = [event("s", 400, 100, prompt_eval_s=2.0, eval_s=5.0, source="llamacpp")]
    bench = [event("b", 256, 64, prompt_eval_s=0.5, eval_s=1.0, source="bench-local")]
    with Ledger.open(tmp_path / "l.duckdb") as ledger:
        store(ledger, bench)
        only_bench = measure_throughput(ledger, Locality())["qwen-local"]
        assert only_bench.generation_tps == Figure(
            Decimal(64), "measured: bench-local, 1 run"
        )
        store(ledger, server)
        from_server = measure_throughput(ledger, Locality())["qwen-local"]
        assert from_server.prompt_tps == Figure(
            Decimal(200), "measured: llama.cpp server log, 1 call"
        )
        store(ledger, hermes)
        from_hermes = measure_throughput(ledger, Locality())["qwen-local"]
    # Not pooled with the server's or the benchmark's timings: Hermes alone.
    assert from_hermes.prompt_tps == Figure(
        Decimal(50), "measured: Hermes agent.log, 5 calls (fitted to latency)"
    )
    assert from_hermes.generation_tps.value == Decimal(10)


def test_too_few_latencies_fall_through_to_the_next_source(tmp_path: Path) -> None:
    few = [event(f"h{i}", 100, 10, latency_s=3.0, source="hermes_agent_log")
           for i in range(4)]  # fmt: skip
    server = [event("s", 400, 100, prompt_eval_s=2.0, eval_s=5.0, source="ollama")]
    with Ledger.open(tmp_path / "l.duckdb") as ledger:
        store(ledger, few + server)
        found = measure_throughput(ledger, Locality())["qwen-local"]
    assert found.generation_tps.origin == "measured: Ollama server log, 1 call"


def test_rapl_energy_is_stored_and_becomes_the_busy_draw(tmp_path: Path) -> None:
    at = datetime(2026, 11, 2, tzinfo=UTC)
    runs = [
        # 30 J over 0.5 s of prefill and 12 J over 0.4 s of generation.
        BenchRun(at, Phase(256, 0.5, 30.0), Phase(64, 0.4, 12.0)),
        BenchRun(at + timedelta(seconds=2), Phase(256, 0.5, 30.0),
                 Phase(64, 0.4, 12.0)),
    ]  # fmt: skip
    result = BenchResult("smol", tmp_path / "smol.gguf", 1000, 2, runs, "RAPL")
    # 84 J over 1.8 s of both phases.
    assert result.measured_watts() == Decimal("46.67")
    assert result.throughput().busy_watts == Figure(
        Decimal("46.67"), "measured: bench-local, 2 runs, RAPL counters"
    )
    with Ledger.open(tmp_path / "l.duckdb") as ledger:
        store_runs(ledger, result)
        measured = measure_throughput(ledger, Locality())["smol"]
        assert measured.busy_watts == Figure(
            Decimal("46.67"), "measured: bench-local, 2 runs, RAPL counters"
        )
        energy = EnergyPricer(EnergySettings.from_config(Config()), {"smol": measured})
        assert energy.watts("smol") == measured.busy_watts
        assert energy.watts("other").origin == "default"
        # A draw set for the model in config still wins over the measurement.
        config = Config(raw={"local": {"model": {"smol": {"watts": 20}}}})
        configured = EnergyPricer(EnergySettings.from_config(config),
                                  {"smol": measured})  # fmt: skip
        assert configured.watts("smol") == Figure(Decimal(20), "config")


def write_gguf(path: Path, shapes: list[list[int]], file_type: int, size: int) -> None:
    """A GGUF v3 header (one metadata entry, tensor entries, no weights),
    then a sparse tail up to ``size`` bytes: the file's size is what a read
    of its weights would cost."""
    key = b"general.file_type"
    header = b"GGUF" + struct.pack("<IQQ", 3, len(shapes), 1)
    header += struct.pack("<Q", len(key)) + key + struct.pack("<II", 4, file_type)
    for index, shape in enumerate(shapes):
        name = f"t{index}".encode()
        header += struct.pack("<Q", len(name)) + name + struct.pack("<I", len(shape))
        header += struct.pack(f"<{len(shape)}Q", *shape) + struct.pack("<IQ", 2, 0)
    with path.open("wb") as handle:
        handle.write(header)
        handle.truncate(size)


LOCAL_CONFIG = (
    "[local]\nwatts = 65\nidle_watts = 15\nkwh_price_usd = 0.30\n"
    "memory_bandwidth_gbs = 20\ncpu_gflops = 100\n"
    "[prices.api-m]\ninput_mtok = 1\noutput_mtok = 1\n"
)


def local_workspace(tmp_path: Path, extra: str = "") -> Options:
    config_file = tmp_path / "c.toml"
    config_file.write_text(LOCAL_CONFIG.replace("[prices", extra + "[prices"))
    local = {"provider": "custom", "endpoint": "http://127.0.0.1:8080/v1"}
    records = [
        record("l1", model="tiny", input_tokens=12_500, output_tokens=3_600, **local),
        record("l2", model="other", input_tokens=25_000, output_tokens=0, **local),
        record("a", model="api-m", provider="acme",
               endpoint="https://api.acme.example/v1", input_tokens=900_000,
               output_tokens=100_000),
    ]  # fmt: skip
    config = load_config(config_file, required=True)
    ledger_with(tmp_path / "l.duckdb", records, config).close()
    return Options(config_file, tmp_path / "l.duckdb")


def test_a_gguf_header_gives_the_estimates_and_its_own_row(tmp_path: Path) -> None:
    # 4e9 weights in a 2 GB file: 4 bits a weight, Q4_K_M by its header.
    gguf = tmp_path / "tiny.gguf"
    write_gguf(gguf, [[100_000, 20_000], [100_000, 20_000]], 15, 2_000_000_000)
    options = local_workspace(tmp_path, f'model_file = "{gguf}"\n')
    with Workspace(options) as workspace:
        doc = build_breakeven(
            workspace, workspace.window(), BreakevenOptions(local_model="tiny")
        )
    m = doc["machine"]
    # Generation: 20 GB/s over 2 GB read per token. Prompt: 100 GFLOP/s
    # over 2 operations for each of 4e9 weights.
    assert (m["generation_tps"], m["prompt_tps"]) == (Decimal(10), Decimal("12.5"))
    # tiny's own calls: 12,500 / 12.5 + 3,600 / 10 = 1,360 s busy in one day;
    # the 25,000 prompt tokens of "other" are not this model's work.
    assert m["busy_share"] == Decimal(1360) / 86_400
    assert doc["model_file"]["parameters"] == 4_000_000_000
    assert doc["model_file"]["file_type"] == "Q4_K_M"
    mine, q4, q8 = doc["quantisation"]
    assert mine["quant"] == "Q4_K_M (this file)"
    assert (mine["bits_per_weight"], mine["generation_tps"]) == (4, 10)
    assert mine["joules_per_token"] == 5  # 50 W above idle / 10 tok/s
    assert (q4["quant"], q8["quant"]) == ("Q4_K_M", "Q8_0")
    assert q4["size_gb"] == Decimal("2.45")  # 4e9 x 4.90 bits
    speeds = (
        "tiny: prompt 12.5 tok/s (estimate: 100 GFLOP/s (config) / (2 x 4.00 B "
        "weights)), generation 10 tok/s (estimate: 20.0 GB/s (config) / 2.00 GB of "
        "weights (tiny.gguf: Q4_K_M, 4.00 B weights))"
    )
    assert speeds in doc["assumptions"]


def test_params_alone_give_the_bandwidth_estimate(tmp_path: Path) -> None:
    options = local_workspace(tmp_path)
    asked = BreakevenOptions(local_model="tiny", params_billion=Decimal(7))
    with Workspace(options) as workspace:
        doc = build_breakeven(workspace, workspace.window(), asked)
    # 7e9 weights at Q4_K_M (4.90 bits) are 4.2875 GB: 20 GB/s / 4.2875 GB.
    assert doc["machine"]["generation_tps"] == Decimal("4.66")
    assert doc["model_file"] is None
    assert [q["quant"] for q in doc["quantisation"]] == ["Q4_K_M", "Q8_0"]
    assert "model weights: 7 B weights at Q4_K_M" in doc["assumptions"]


def test_busy_share_of_a_model_without_calls_says_what_it_uses(
    tmp_path: Path,
) -> None:
    options = local_workspace(
        tmp_path,
        "prompt_tokens_per_second = 100\ngeneration_tokens_per_second = 10\n",
    )
    asked = BreakevenOptions(local_model="new-model")
    with Workspace(options) as workspace:
        doc = build_breakeven(workspace, workspace.window(), asked)
    # Every local call, at the configured speeds: 37,500 / 100 + 3,600 / 10.
    assert doc["machine"]["busy_share"] == Decimal(735) / 86_400
    assert doc["busy_share_basis"] == (
        "all your local calls (other, tiny) as if new-model served them "
        "(new-model has none in the window)"
    )


def test_volumes_beyond_one_machine_need_more_machines() -> None:
    m = machine(monthly="10", prompt_tps="1", generation_tps="1")
    mix = Mix(Decimal("0.5"), Decimal(0), Decimal(0), Decimal("0.5"))
    # One token a second: 2,629,800 tokens a month.
    assert m.capacity_per_month(mix) == Decimal(2_629_800)
    assert m.machines_for(Decimal(2_629_800), mix) == 1
    assert m.machines_for(Decimal(2_629_801), mix) == 2
    volume = Decimal(5_000_000)
    two = 2 * m.standing_usd_per_month() + volume * m.marginal_usd_per_token(mix)
    assert m.fleet_usd_per_month(volume, mix) == two


def test_gguf_headers_that_cannot_be_read(tmp_path: Path) -> None:
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    with pytest.raises(CostauditError, match="does not start with 'GGUF'"):
        read_gguf(text)
    old = tmp_path / "old.gguf"
    old.write_bytes(b"GGUF" + struct.pack("<I", 1) + bytes(16))
    with pytest.raises(CostauditError, match="GGUF version 1"):
        read_gguf(old)
    cut = tmp_path / "cut.gguf"
    write_gguf(cut, [[10, 10]], 7, 10)
    with pytest.raises(CostauditError, match="the header ends early"):
        read_gguf(cut)
    whole = tmp_path / "q8.gguf"
    write_gguf(whole, [[10, 10], [5]], 7, 1000)
    info = read_gguf(whole)
    assert (info.parameters, info.file_type, info.size_bytes) == (105, "Q8_0", 1000)
