"""The break-even analysis with the user's own numbers.

From the ledger: how busy the local machine was (its local calls' busy time
over the window), the mix of prompt, cache and output tokens, and what each
API model cost per token. From config: power draw, electricity price, and
the machine's fixed cost (``[infrastructure] monthly_usd`` for rent, and/or
``hardware_usd`` spread over ``hardware_life_months``). Throughput is the
energy model's (measured when the ledger has timings), or, when nothing was
measured and a model file or size is known, a first-principles estimate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from costaudit.analysis.bandwidth import (
    Bandwidth,
    compare_quantisations,
    generation_estimate,
    memory_bandwidth,
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
from costaudit.errors import CostauditError, PricingError
from costaudit.ledger.store import Ledger
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
    """The local model's file (else ``[local] model_file``): its size gives
    the speed estimate when the generation speed was not measured."""
    params_billion: Decimal | None = None
    quants: tuple[str, ...] = ()


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


def _estimated(
    config: Config, throughput: Throughput, options: BreakevenOptions
) -> tuple[Throughput, Bandwidth | None]:
    """Replace a default generation speed by the bandwidth estimate."""
    configured = config.section("local").string("model_file")
    gguf = options.gguf or (Path(configured).expanduser() if configured else None)
    if throughput.generation_tps.origin != "default" or gguf is None:
        return throughput, None
    try:
        size = Decimal(gguf.stat().st_size)
    except OSError as exc:
        message = f"{gguf}: cannot read the model file: {exc.strerror}"
        raise CostauditError(message) from None
    bandwidth = memory_bandwidth(config)
    return Throughput(throughput.prompt_tps, generation_estimate(size, bandwidth)), (
        bandwidth
    )


def _machine(
    workspace: Workspace, model: str, options: BreakevenOptions
) -> tuple[Machine, str, Bandwidth | None]:
    energy = workspace.pricer().energy
    throughput, bandwidth = _estimated(
        workspace.config, energy.throughput(model), options
    )
    monthly, how = machine_monthly_usd(workspace.config)
    machine = Machine(
        energy.watts(model), energy.settings.idle_watts, energy.settings.kwh_usd,
        monthly, throughput,
    )  # fmt: skip
    return machine, how, bandwidth


def _busy_seconds(ledger: Ledger, window: Window, pricer: Pricer) -> Decimal:
    rows = _sums(ledger, window, "local")
    return sum(
        (pricer.energy.throughput(row[0]).busy_seconds(_tokens(row)) for row in rows),
        Decimal(0),
    )


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
    local_month = machine.usd_per_month(monthly, mix)
    return {
        "api_model": model,
        "provider": provider or None,
        "basis": basis,
        "mix": mix.describe(),
        "prompt_share": mix.prompt,
        "api_usd_per_mtok": usd_per_token * MTOK,
        "local_usd_per_mtok": machine.marginal_usd_per_token(mix) * MTOK,
        "breakeven_tokens_per_month": volume,
        "capacity_tokens_per_month": capacity,
        "breakeven_within_capacity": None if volume is None else volume <= capacity,
        "your_tokens_per_month": monthly,
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
) -> tuple[list[dict[str, Any]], Mix, int]:
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
    mix = Mix.of(overall) or DEFAULT_MIX
    monthly = _monthly(_volume(overall), days)
    seen = {r["api_model"] for r in rows}
    for model in dict.fromkeys(options.api_models):
        if model not in seen:
            rate, detail = _named_price(workspace.pricer(), model, mix)
            rows.append(_api_row(machine, model, "", mix, rate, monthly, detail))
    return rows, mix, _volume(overall)


def _series(
    machine: Machine, rows: list[dict[str, Any]], mix: Mix, local: str
) -> list[dict[str, Any]]:
    """Monthly cost against monthly volume: the local machine (up to what it
    can serve) and each API model."""
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
    capacity = machine.capacity_per_month(mix)
    reach = [v for v in grid if v < capacity]
    if len(reach) < len(grid):
        reach.append(capacity.quantize(Decimal(1)))
    series = [
        {
            "label": f"local ({local})",
            "points": [[v, machine.usd_per_month(v, mix)] for v in reach],
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


def _assumptions(
    machine: Machine,
    model: str,
    machine_how: str,
    days: int,
    mix: Mix,
    bandwidth: Bandwidth | None,
) -> list[str]:
    t = machine.throughput
    notes = [
        f"electricity {machine.kwh_usd.labelled('USD/kWh')}",
        f"power draw {machine.busy_watts.labelled('W')} busy, "
        f"{machine.idle_watts.labelled('W')} idle; the machine runs 24/7",
        f"{model}: prompt {t.prompt_tps.labelled('tok/s')}, "
        f"generation {t.generation_tps.labelled('tok/s')}",
        f"machine cost: {machine_how}",
        f"busy share from your local calls over {days} days at that speed",
        "every prompt token is processed locally, cache reads included",
        "an API model you use costs what you paid per token in the window; one "
        "named with --api is priced at its list price",
        f"the local line is drawn at your API mix: {mix.describe()}",
        f"one machine serves at most {machine.capacity_per_month(mix):,.0f} "
        "tokens a month at that mix",
    ]
    if bandwidth is not None:
        notes.append(f"memory bandwidth {bandwidth.labelled()}")
    if "default" in (t.prompt_tps.origin, t.generation_tps.origin):
        notes.append(
            "a speed above is a default, not a measurement: run `costaudit "
            f"bench-local --model FILE.gguf --name {model}` to measure it"
        )
    return notes


def _local_model(ledger: Ledger, window: Window, options: BreakevenOptions) -> str:
    return options.local_model or busiest_local_model(ledger, window) or GENERIC_LOCAL


def build_breakeven(
    workspace: Workspace, window: Window, options: BreakevenOptions
) -> dict[str, Any]:
    """The whole analysis as plain data (see the module docstring)."""
    ledger = workspace.ledger
    model = _local_model(ledger, window, options)
    machine, how, bandwidth = _machine(workspace, model, options)
    first, last, days = window_days(ledger, window)
    busy = _busy_seconds(ledger, window, workspace.pricer())
    share = min(busy / (days * SECONDS_PER_DAY), Decimal(1)) if days else Decimal(0)
    local_rows = _sums(ledger, window, "local")
    local_tokens = sum(_volume(_tokens(r)) for r in local_rows)
    rows, mix, api_tokens = _api_rows(workspace, window, machine, options)
    document: dict[str, Any] = {
        "local_model": model,
        "window": {"first_day": first, "last_day": last, "days": days},
        "machine": _machine_document(machine, share, local_tokens, days),
        "rows": rows,
        "series": _series(machine, rows, mix, model),
        "user_volume_tokens": _monthly(api_tokens, days),
        "assumptions": _assumptions(machine, model, how, days, mix, bandwidth),
    }
    if options.params_billion is not None:
        bandwidth = bandwidth or memory_bandwidth(workspace.config)
        document["quantisation"] = compare_quantisations(
            options.params_billion,
            list(options.quants or DEFAULT_QUANTS),
            bandwidth,
            machine.busy_watts.value,
            machine.kwh_usd.value,
        )
        document["bandwidth"] = {
            "gb_per_s": bandwidth.gb_per_s,
            "origin": bandwidth.origin,
        }
    return document


def breakeven_section(workspace: Workspace, window: Window) -> dict[str, Any]:
    """``{"breakeven": ...}`` for the audit document (API models used only)."""
    return {"breakeven": build_breakeven(workspace, window, BreakevenOptions())}
