"""The break-even analysis with the user's own numbers.

From the ledger: how busy the local machine was (the chosen model's local
calls over the window, at the machine's speed), the mix of prompt, cache and
output tokens, and what each API model cost per token. From config: power
draw, electricity price, and the machine's fixed cost (``[infrastructure]
monthly_usd`` for rent, and/or ``hardware_usd`` spread over
``hardware_life_months``).

Throughput is the energy model's: set in config, else measured (see
:mod:`costaudit.pricing.throughput` for the order of sources), else a
default. A default speed is replaced by a first-principles estimate when the
model's weights are known, from its GGUF header (``--gguf``, ``[local]
model_file``) or a size (``--params``): generation from memory bandwidth,
prompt processing from the CPU's arithmetic rate (see
:mod:`costaudit.analysis.bandwidth`). One throughput serves everything: the
busy share, the cost per token, the capacity.

Each row compares one API model with the machine at that model's own token
mix: ``api_usd_per_mtok`` beside ``local_usd_per_mtok``, the local cost all
in (fixed cost, idle and busy power) per million tokens at your volume of
that model, and ``local_energy_usd_per_mtok``, the electricity a million
tokens add above idle.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costaudit.analysis.bandwidth import (
    GB,
    Bandwidth,
    Compute,
    Power,
    compare_quantisations,
    cpu_compute,
    generation_estimate,
    memory_bandwidth,
    prompt_estimate,
    weight_bytes,
)
from costaudit.analysis.breakeven import (
    MTOK,
    SECONDS_PER_DAY,
    Machine,
    Mix,
    break_even_volume,
    volume_grid,
)
from costaudit.analysis.compare import busiest_local_model
from costaudit.analysis.infra import window_days
from costaudit.analysis.window import DAYS_PER_MONTH, Window
from costaudit.config import Config
from costaudit.errors import PricingError
from costaudit.ledger.store import Ledger
from costaudit.local.gguf import GgufInfo, read_gguf
from costaudit.pricing.energy import Throughput
from costaudit.pricing.library import Tokens
from costaudit.pricing.pricer import Pricer

if TYPE_CHECKING:
    from costaudit.workspace import Workspace

DEFAULT_QUANTS = ("Q4_K_M", "Q8_0")
DEFAULT_MIX = Mix(Decimal("0.8"), Decimal(0), Decimal(0), Decimal("0.2"))
GENERIC_LOCAL = "local model"


@dataclass(frozen=True)
class BreakevenOptions:
    api_models: tuple[str, ...] = ()
    local_model: str | None = None
    gguf: Path | None = None
    """The local model's file (else ``[local] model_file``): its header gives
    the weight count and type, its size the bytes read per token."""
    params_billion: Decimal | None = None
    """A model size when there is no file: weights at the first of ``quants``."""
    quants: tuple[str, ...] = ()


@dataclass(frozen=True)
class Weights:
    """The local model's weights, as far as they are known."""

    parameters: int
    size_bytes: Decimal
    """Bytes read for each generated token."""
    what: str
    """Where the figures came from, in words."""
    file: GgufInfo | None = None


@dataclass(frozen=True)
class Estimates:
    """The first-principles inputs used, where a speed was estimated."""

    bandwidth: Bandwidth | None = None
    compute: Compute | None = None


@dataclass(frozen=True)
class LocalUsage:
    """The local calls the machine's busy share is worked out from."""

    tokens: Tokens
    basis: str


@dataclass(frozen=True)
class ChartMix:
    mix: Mix
    assumed: bool

    def describe(self) -> str:
        kind = "an assumed mix" if self.assumed else "your API mix"
        return f"{kind}: {self.mix.describe()}"


def machine_monthly_usd(config: Config) -> tuple[Decimal, str]:
    """Rent plus hardware spread over its life, and how that was made up."""
    section = config.section("infrastructure")
    rent = section.money("monthly_usd")
    hardware = section.money("hardware_usd")
    parts, total = [], Decimal(0)
    if rent is not None:
        total += rent
        parts.append(f"${rent}/month rent (config)")
    if hardware is not None:
        months = section.integer("hardware_life_months", 36) or 36
        total += hardware / months
        parts.append(f"${hardware} hardware over {months} months")
    return total, "; ".join(parts) or "no machine cost set ([infrastructure])"


def _model_file(config: Config, options: BreakevenOptions) -> Path | None:
    configured = config.section("local").string("model_file")
    return options.gguf or (Path(configured).expanduser() if configured else None)


def model_weights(config: Config, options: BreakevenOptions) -> Weights | None:
    """The weights from the model file's header, else from ``--params``."""
    path = _model_file(config, options)
    if path is not None:
        info = read_gguf(path)
        billions = Decimal(info.parameters) / GB
        what = (
            f"{path.name}: {info.file_type or 'type not stated'}, "
            f"{billions:.2f} B weights"
        )
        return Weights(info.parameters, Decimal(info.size_bytes), what, info)
    if options.params_billion is not None:
        quant = (options.quants or DEFAULT_QUANTS)[0].upper()
        size = weight_bytes(options.params_billion, quant)
        what = f"{options.params_billion} B weights at {quant}"
        return Weights(int(options.params_billion * GB), size, what)
    return None


def _estimated(
    config: Config, throughput: Throughput, weights: Weights | None
) -> tuple[Throughput, Estimates]:
    """Replace a default speed by its first-principles estimate."""
    if weights is None:
        return throughput, Estimates()
    prompt, generation = throughput.prompt_tps, throughput.generation_tps
    bandwidth = compute = None
    if generation.origin == "default":
        bandwidth = memory_bandwidth(config)
        generation = generation_estimate(weights.size_bytes, bandwidth, weights.what)
    if prompt.origin == "default":
        compute = cpu_compute(config)
        prompt = prompt_estimate(weights.parameters, compute)
    estimated = Throughput(prompt, generation, throughput.busy_watts)
    return estimated, Estimates(bandwidth, compute)


def _machine(
    workspace: Workspace, model: str, weights: Weights | None
) -> tuple[Machine, str, Estimates]:
    energy = workspace.pricer().energy
    throughput, estimates = _estimated(
        workspace.config, energy.throughput(model), weights
    )
    monthly, how = machine_monthly_usd(workspace.config)
    machine = Machine(
        energy.watts(model), energy.settings.idle_watts, energy.settings.kwh_usd,
        monthly, throughput,
    )  # fmt: skip
    return machine, how, estimates


def _sums(ledger: Ledger, window: Window, condition: str) -> list[tuple[Any, ...]]:
    where, params = window.where()
    return ledger.fetch(
        "SELECT model, coalesce(provider, ''), sum(input_tokens)::BIGINT, "
        "sum(cache_read_tokens)::BIGINT, sum(cache_write_tokens)::BIGINT, "
        "sum(output_tokens)::BIGINT, sum(cost_usd) "
        f"FROM usage WHERE {where} AND {condition} GROUP BY 1, 2 "
        "ORDER BY sum(cost_usd) DESC NULLS LAST, 1",
        params,
    )


def _tokens(row: tuple[Any, ...]) -> Tokens:
    return Tokens(int(row[2]), int(row[3]), int(row[4]), int(row[5]))


def _total(tokens: list[Tokens]) -> Tokens:
    return Tokens(
        sum(t.input_tokens for t in tokens),
        sum(t.cache_read_tokens for t in tokens),
        sum(t.cache_write_tokens for t in tokens),
        sum(t.output_tokens for t in tokens),
    )


def _volume(tokens: Tokens) -> int:
    return tokens.prompt_tokens + tokens.output_tokens


def local_usage(ledger: Ledger, window: Window, model: str) -> LocalUsage:
    """The local calls to ``model`` in the window; when it has none, every
    local call, as if ``model`` had served them (the machine's workload)."""
    rows = _sums(ledger, window, "local")
    mine = [_tokens(r) for r in rows if r[0] == model]
    if mine:
        return LocalUsage(_total(mine), f"your local calls to {model}")
    if rows:
        names = ", ".join(sorted({str(r[0]) for r in rows}))
        basis = (
            f"all your local calls ({names}) as if {model} served them "
            f"({model} has none in the window)"
        )
        return LocalUsage(_total([_tokens(r) for r in rows]), basis)
    return LocalUsage(Tokens(), "no local calls in the window (the machine idles)")


def _monthly(tokens: int, days: int) -> Decimal:
    return Decimal(tokens) / Decimal(days) * DAYS_PER_MONTH if days else Decimal(0)


def _machine_document(
    machine: Machine, busy_share: Decimal, local_tokens: int, days: int
) -> dict[str, Any]:
    per_day = machine.energy_usd_per_day(busy_share) + machine.fixed_usd_per_day()
    monthly_tokens = _monthly(local_tokens, days)
    per_month = per_day * DAYS_PER_MONTH
    return {
        "busy_watts": machine.busy_watts.value,
        "idle_watts": machine.idle_watts.value,
        "marginal_watts": machine.marginal_watts(),
        "kwh_usd": machine.kwh_usd.value,
        "prompt_tps": machine.throughput.prompt_tps.value,
        "generation_tps": machine.throughput.generation_tps.value,
        "busy_share": busy_share,
        "busy_hours_per_day": busy_share * 24,
        "energy_usd_per_day": machine.energy_usd_per_day(busy_share),
        "fixed_usd_per_day": machine.fixed_usd_per_day(),
        "cost_usd_per_day": per_day,
        "cost_usd_per_month": per_month,
        "prompt_usd_per_mtok": machine.marginal_usd_per_mtok(Decimal(1)),
        "generated_usd_per_mtok": machine.marginal_usd_per_mtok(Decimal(0)),
        "local_tokens_per_month": monthly_tokens,
        "all_in_usd_per_mtok": per_month / monthly_tokens * MTOK
        if monthly_tokens
        else None,
    }


def _api_row(
    machine: Machine,
    model: str,
    provider: str,
    mix: Mix,
    usd_per_token: Decimal,
    monthly: Decimal,
    basis: str,
) -> dict[str, Any]:
    volume = break_even_volume(machine, mix, usd_per_token)
    capacity = machine.capacity_per_month(mix)
    api_month = monthly * usd_per_token
    local_month = machine.fleet_usd_per_month(monthly, mix)
    return {
        "api_model": model,
        "provider": provider or None,
        "basis": basis,
        "mix": mix.describe(),
        "prompt_share": mix.prompt,
        "api_usd_per_mtok": usd_per_token * MTOK,
        "local_usd_per_mtok": local_month / monthly * MTOK if monthly else None,
        "local_energy_usd_per_mtok": machine.marginal_usd_per_token(mix) * MTOK,
        "breakeven_tokens_per_month": volume,
        "capacity_tokens_per_month": capacity,
        "breakeven_within_capacity": None if volume is None else volume <= capacity,
        "your_tokens_per_month": monthly,
        "local_machines": machine.machines_for(monthly, mix),
        "api_usd_per_month": api_month,
        "local_usd_per_month": local_month,
        "cheaper": "local" if local_month < api_month else "API",
    }


def _named_price(pricer: Pricer, model: str, mix: Mix) -> tuple[Decimal, str]:
    tokens = mix.tokens(1_000_000)
    cost = pricer.overrides.price(model, None, tokens) or pricer.library.price(
        model, None, None, datetime.now(tz=UTC), tokens
    )
    if cost is None or cost.amount_usd is None:
        raise PricingError(
            f"no price for {model!r} in genai-prices or [prices]; name a model "
            "it knows, e.g. gpt-4.1-mini or deepseek-chat"
        )
    return cost.amount_usd / MTOK, cost.detail


def _api_rows(
    workspace: Workspace, window: Window, machine: Machine, options: BreakevenOptions
) -> tuple[list[dict[str, Any]], ChartMix, int]:
    """One row per API model used (at its own mix and effective price), then
    per model named with ``--api`` (list price at the overall API mix)."""
    _first, _last, days = window_days(workspace.ledger, window)
    used = _sums(workspace.ledger, window, "NOT local AND cost_usd IS NOT NULL")
    rows = []
    for row in used:
        tokens = _tokens(row)
        mix = Mix.of(tokens)
        if mix is None:
            continue
        rate = Decimal(row[6]) / Decimal(_volume(tokens))
        monthly = _monthly(_volume(tokens), days)
        rows.append(
            _api_row(machine, row[0], row[1], mix, rate, monthly, "what you paid")
        )
    overall = _total([_tokens(r) for r in used])
    found = Mix.of(overall)
    chart = ChartMix(found or DEFAULT_MIX, assumed=found is None)
    monthly = _monthly(_volume(overall), days)
    seen = {r["api_model"] for r in rows}
    for model in dict.fromkeys(options.api_models):
        if model not in seen:
            rate, detail = _named_price(workspace.pricer(), model, chart.mix)
            rows.append(_api_row(machine, model, "", chart.mix, rate, monthly, detail))
    return rows, chart, _volume(overall)


def _series(
    machine: Machine, rows: list[dict[str, Any]], chart: ChartMix, local: str
) -> list[dict[str, Any]]:
    """Monthly cost against monthly volume: the local machine (up to what it
    can serve, at the chart's mix) and each API model."""
    marks = [
        Decimal(v)
        for r in rows
        for v in (r["breakeven_tokens_per_month"], r["your_tokens_per_month"])
        if v
    ]
    grid = volume_grid(
        min(marks, default=Decimal(1_000_000)) / 10,
        max(marks, default=Decimal(100_000_000)) * 3,
    )
    capacity = machine.capacity_per_month(chart.mix)
    reach = [v for v in grid if v < capacity]
    if len(reach) < len(grid):
        reach.append(capacity.quantize(Decimal(1)))
    series = [
        {
            "label": f"local ({local})",
            "mix": chart.describe(),
            "points": [[v, machine.usd_per_month(v, chart.mix)] for v in reach],
        }
    ]
    for row in rows:
        rate = row["api_usd_per_mtok"] / MTOK
        series.append(
            {
                "label": f"API ({row['api_model']})",
                "points": [[v, v * rate] for v in grid],
            }
        )
    return series


def _speed_notes(
    machine: Machine,
    model: str,
    weights: Weights | None,
    estimates: Estimates,
    options: BreakevenOptions,
) -> list[str]:
    t = machine.throughput
    notes = [
        f"{model}: prompt {t.prompt_tps.labelled('tok/s')}, "
        f"generation {t.generation_tps.labelled('tok/s')}",
    ]
    if weights is not None:
        notes.append(f"model weights: {weights.what}")
        if weights.file is not None and options.params_billion is not None:
            notes.append(
                f"--params {options.params_billion} set aside: the GGUF header "
                "counts the weights"
            )
    if estimates.bandwidth is not None:
        notes.append(f"memory bandwidth {estimates.bandwidth.labelled()}")
    if estimates.compute is not None:
        notes.append(f"arithmetic rate {estimates.compute.labelled()}")
    if "default" in (t.prompt_tps.origin, t.generation_tps.origin):
        notes.append(
            "a speed above is a default, not a measurement: run `costaudit "
            f"bench-local --model FILE.gguf --name {shlex.quote(model)}` to "
            "measure it, or give --gguf FILE for an estimate"
        )
    return notes


def _assumptions(
    machine: Machine,
    machine_how: str,
    usage: LocalUsage,
    days: int,
    chart: ChartMix,
    speeds: list[str],
) -> list[str]:
    return [
        f"electricity {machine.kwh_usd.labelled('USD/kWh')}",
        f"power draw {machine.busy_watts.labelled('W')} busy, "
        f"{machine.idle_watts.labelled('W')} idle; the machine runs 24/7",
        *speeds,
        f"a token's energy is the draw above idle "
        f"({machine.marginal_watts().normalize():f} W) over the speed; idle power "
        "is in the machine's daily cost",
        f"machine cost: {machine_how}",
        f"busy share from {usage.basis} over {days} days, at the speeds above",
        "every prompt token is processed locally, cache reads included",
        "an API model you use costs what you paid per token in the window, "
        "compared at its own token mix; one named with --api is priced at its "
        f"list price at {chart.describe()}",
        "local $/Mtok is all in (machine, idle and busy power) at your volume "
        "of each API model; a volume beyond one machine counts as many machines "
        "as it needs",
        f"the chart's local line is drawn at {chart.describe()}",
        f"one machine serves at most "
        f"{machine.capacity_per_month(chart.mix):,.0f} tokens a month at that mix",
    ]


def _local_model(ledger: Ledger, window: Window, options: BreakevenOptions) -> str:
    return options.local_model or busiest_local_model(ledger, window) or GENERIC_LOCAL


def _quantisation(
    config: Config,
    machine: Machine,
    weights: Weights,
    options: BreakevenOptions,
    bandwidth: Bandwidth | None,
) -> dict[str, Any]:
    bandwidth = bandwidth or memory_bandwidth(config)
    power = Power(
        machine.busy_watts.value, machine.idle_watts.value, machine.kwh_usd.value
    )
    actual = None
    if weights.file is not None:
        actual = (weights.file.file_type or "unknown", weights.file.size_bytes)
    rows = compare_quantisations(
        Decimal(weights.parameters) / GB,
        list(options.quants or DEFAULT_QUANTS),
        bandwidth,
        power,
        actual,
    )
    return {
        "quantisation": rows,
        "bandwidth": {"gb_per_s": bandwidth.gb_per_s, "origin": bandwidth.origin},
    }


def _model_file_document(weights: Weights | None) -> dict[str, Any] | None:
    if weights is None or weights.file is None:
        return None
    info = weights.file
    return {
        "path": str(info.path),
        "name": info.name,
        "architecture": info.architecture,
        "parameters": info.parameters,
        "file_type": info.file_type,
        "size_bytes": info.size_bytes,
    }


def build_breakeven(
    workspace: Workspace, window: Window, options: BreakevenOptions
) -> dict[str, Any]:
    """The whole analysis as plain data (see the module docstring)."""
    ledger = workspace.ledger
    model = _local_model(ledger, window, options)
    weights = model_weights(workspace.config, options)
    machine, how, estimates = _machine(workspace, model, weights)
    first, last, days = window_days(ledger, window)
    usage = local_usage(ledger, window, model)
    busy = machine.throughput.busy_seconds(usage.tokens)
    share = min(busy / (days * SECONDS_PER_DAY), Decimal(1)) if days else Decimal(0)
    rows, chart, api_tokens = _api_rows(workspace, window, machine, options)
    speeds = _speed_notes(machine, model, weights, estimates, options)
    document: dict[str, Any] = {
        "local_model": model,
        "model_file": _model_file_document(weights),
        "window": {"first_day": first, "last_day": last, "days": days},
        "machine": _machine_document(machine, share, _volume(usage.tokens), days),
        "busy_share_basis": usage.basis,
        "chart_mix": chart.describe(),
        "rows": rows,
        "series": _series(machine, rows, chart, model),
        "user_volume_tokens": _monthly(api_tokens, days),
        "assumptions": _assumptions(machine, how, usage, days, chart, speeds),
    }
    if weights is not None:
        document |= _quantisation(
            workspace.config, machine, weights, options, estimates.bandwidth
        )
    return document


def breakeven_section(workspace: Workspace, window: Window) -> dict[str, Any]:
    """``{"breakeven": ...}`` for the audit document (API models used only)."""
    return {"breakeven": build_breakeven(workspace, window, BreakevenOptions())}
