"""``costaudit breakeven`` and ``costaudit bench-local``: what running a
model locally costs, against the APIs in use, with every assumption shown."""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from costaudit.analysis.bandwidth import generation_estimate, memory_bandwidth
from costaudit.analysis.breakeven_report import BreakevenOptions, build_breakeven
from costaudit.interfaces.cli.context import (
    FormatOption,
    NoScanOption,
    SinceOption,
    TzOption,
    UntilOption,
    note,
    parse_day,
    scan_with_progress,
    state,
)
from costaudit.interfaces.cli.output import (
    Column,
    Format,
    compact,
    console,
    emit,
    money,
    print_json,
    table,
)
from costaudit.interfaces.cli.text import Lines, indented
from costaudit.local.bench import BenchResult, run_bench, store_runs
from costaudit.pricing.apply import price_ledger
from costaudit.pricing.energy import JOULES_PER_KWH

CHART_WIDTH = 64
CHART_HEIGHT = 14
MTOK = Decimal(1_000_000)


def _volume(value: Any) -> str:
    return "never" if value is None else compact(value)


API_COLUMNS = [
    Column("api_model", "API model"),
    Column("api_usd_per_mtok", "API $/Mtok", money, True),
    Column("local_usd_per_mtok", "local $/Mtok", money, True),
    Column("breakeven_tokens_per_month", "break-even/mo", _volume, True),
    Column("your_tokens_per_month", "you/mo", compact, True),
    Column("api_usd_per_month", "API $/mo", lambda v: money(v, 2), True, optional=2),
    Column(
        "local_usd_per_month", "local $/mo", lambda v: money(v, 2), True, optional=1
    ),
    Column("cheaper", "cheaper", whole=True),
]
QUANT_COLUMNS = [
    Column("quant", "quant"),
    Column("bits_per_weight", "bits/weight", str, True),
    Column("size_gb", "size GB", str, True),
    Column("generation_tps", "tok/s (est.)", str, True),
    Column("joules_per_token", "J/token", str, True),
    Column("usd_per_mtok_generated", "$/M generated", money, True),
]


def _position(value: float, low: float, high: float, cells: int) -> int:
    if high <= low:
        return 0
    share = (math.log10(value) - low) / (high - low)
    return min(cells - 1, max(0, round(share * (cells - 1))))


def _trace(points: list[tuple[float, float]], x: float) -> float | None:
    """The series' value at ``x``, interpolated on log-log axes."""
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if x0 <= x <= x1 and y0 > 0 and y1 > 0:
            t = (math.log10(x) - math.log10(x0)) / (math.log10(x1) - math.log10(x0))
            return 10 ** (math.log10(y0) + t * (math.log10(y1) - math.log10(y0)))
    return None


def text_chart(series: Sequence[dict[str, Any]], you: float | None) -> list[str]:
    """Monthly cost against monthly volume, log-log, within 80 columns."""
    lines = [[(float(x), float(y)) for x, y in s["points"]] for s in series]
    xs = [x for line in lines for x, _ in line if x > 0]
    ys = [y for line in lines for _, y in line if y > 0]
    if not xs or not ys:
        return []
    xlo, xhi = math.log10(min(xs)), math.log10(max(xs))
    ylo, yhi = math.log10(min(ys)), math.log10(max(ys))
    grid = [[" "] * CHART_WIDTH for _ in range(CHART_HEIGHT)]
    symbols = "L" + "abcdefghijk"
    for symbol, line in zip(symbols, lines, strict=False):
        for col in range(CHART_WIDTH):
            x = 10 ** (xlo + col / (CHART_WIDTH - 1) * (xhi - xlo))
            y = _trace(line, x)
            if y is None:
                continue
            at = CHART_HEIGHT - 1 - _position(y, ylo, yhi, CHART_HEIGHT)
            grid[at][col] = symbol if grid[at][col] in (" ", symbol) else "*"
    if you:
        col = _position(you, xlo, xhi, CHART_WIDTH)
        for row in grid:
            row[col] = "┊" if row[col] == " " else row[col]
    labels = {0: 10**yhi, CHART_HEIGHT // 2: 10 ** ((ylo + yhi) / 2)}
    labels[CHART_HEIGHT - 1] = 10**ylo
    out = [
        f"{_axis_money(labels[i]) if i in labels else '':>10} │{''.join(row)}"
        for i, row in enumerate(grid)
    ]
    out.append(" " * 11 + "└" + "─" * CHART_WIDTH)
    left, mid = compact(10**xlo), compact(10 ** ((xlo + xhi) / 2))
    right = compact(10**xhi)
    gap = (CHART_WIDTH - len(left) - len(mid) - len(right)) // 2
    out.append(" " * 12 + left + " " * gap + mid + " " * gap + right)
    legend = [f"{sym} {s['label']}" for sym, s in zip(symbols, series, strict=False)]
    out.extend(" " * 12 + entry for entry in legend)
    out.append(" " * 12 + "┊ your API volume a month   * lines overlap")
    return out


def _axis_money(value: float) -> str:
    return f"${value:,.0f}" if value >= 1000 else f"${value:.3g}"


def summary_lines(document: dict[str, Any]) -> list[str]:
    m = document["machine"]
    share = Decimal(m["busy_share"])
    lines = [
        f"Local machine running {document['local_model']} 24/7: "
        f"{money(m['cost_usd_per_day'], 3)} a day, "
        f"{money(m['cost_usd_per_month'], 2)} a month",
        f"  electricity {money(m['energy_usd_per_day'], 3)} a day (busy "
        f"{share:.1%} of the time, {Decimal(m['busy_hours_per_day']):.2f} h a day), "
        f"machine {money(m['fixed_usd_per_day'], 3)} a day",
        f"  each million tokens adds {money(m['prompt_usd_per_mtok'])} (prompt) or "
        f"{money(m['generated_usd_per_mtok'])} (generated) of electricity above idle",
    ]
    if m["all_in_usd_per_mtok"] is not None:
        lines.append(
            f"  all in, at your local volume ({compact(m['local_tokens_per_month'])} "
            f"tokens a month): {money(m['all_in_usd_per_mtok'])} per million tokens"
        )
    return lines


def _print_breakeven(document: dict[str, Any]) -> None:
    out = console()
    for line in summary_lines(document):
        indent, body = indented(line)
        out.print(Lines(body, indent))
    out.print()
    if document["rows"]:
        title = "Break-even against each API model"
        out.print(table(title, document["rows"], API_COLUMNS))
    else:
        note("costaudit: no priced API usage in the window; name models with --api")
    for line in text_chart(document["series"], float(document["user_volume_tokens"])):
        out.print(line.rstrip(), markup=False)
    if "quantisation" in document:
        out.print()
        title = "Quantisation levels, estimated from memory bandwidth"
        out.print(table(title, document["quantisation"], QUANT_COLUMNS))
    for assumption in document["assumptions"]:
        note(f"assumption: {assumption}")


def breakeven(
    ctx: typer.Context,
    api: Annotated[
        list[str] | None,
        typer.Option("--api", help="Also compare with this API model (repeatable)."),
    ] = None,
    local_model: Annotated[
        str | None,
        typer.Option("--local-model", help="Local model (default: the busiest)."),
    ] = None,
    gguf: Annotated[
        Path | None,
        typer.Option(
            "--gguf",
            help="The local model's GGUF file, for a speed "
            "estimate when none was measured.",
        ),
    ] = None,
    params: Annotated[
        float | None,
        typer.Option(
            "--params",
            min=0.01,
            help="Parameters in billions: compare "
            "quantisation levels of a model this size.",
        ),
    ] = None,
    quant: Annotated[
        list[str] | None,
        typer.Option(
            "--quant",
            help="GGUF type to compare (repeatable; default Q4_K_M and Q8_0).",
        ),
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    tz: TzOption = None,
    no_scan: NoScanOption = False,
    fmt: FormatOption = Format.table,
) -> None:
    """What the local model costs a day running 24/7, per million tokens, and
    the monthly volume where it costs as much as each API model you use."""
    options = BreakevenOptions(
        api_models=tuple(api or ()),
        local_model=local_model,
        gguf=gguf,
        params_billion=None if params is None else Decimal(str(params)),
        quants=tuple(quant or ()),
    )
    with state(ctx).workspace() as workspace:
        if not no_scan:
            scan_with_progress(workspace)
        window = workspace.window(
            parse_day(since, "--since"), parse_day(until, "--until"), tz
        )
        document = build_breakeven(workspace, window, options)
    if fmt is Format.table:
        _print_breakeven(document)
    else:
        emit(fmt, document, document["rows"], API_COLUMNS)


def _bench_rows(
    result: BenchResult, watts: Any, kwh: Any, estimate: Any
) -> list[dict[str, Any]]:
    measured = f"measured: {len(result.runs)} runs on {result.threads} threads"
    energy = "RAPL" if result.energy_source == "RAPL counters" else watts.labelled("W")
    rows: list[dict[str, Any]] = []
    for kind, label in (("prompt", "prompt"), ("generation", "generated")):
        tps = result.tokens_per_second(kind)
        joules = result.joules_per_token(kind, watts.value)
        usd = joules * MTOK * kwh.value / JOULES_PER_KWH
        rows += [
            {"metric": f"{label} tokens/s", "value": tps, "origin": measured},
            {
                "metric": f"J per {label} token",
                "value": joules.quantize(Decimal("0.0001")),
                "origin": energy,
            },
            {
                "metric": f"$ per M {label} tokens",
                "value": usd.quantize(Decimal("0.0001")),
                "origin": f"${kwh} per kWh ({kwh.origin})",
            },
        ]
    ratio = result.tokens_per_second("generation") / estimate.value
    rows += [
        {
            "metric": "generation tokens/s, estimate",
            "value": estimate.value,
            "origin": estimate.origin,
        },
        {"metric": "measured / estimate", "value": f"{ratio:.2f}", "origin": ""},
    ]
    return rows


BENCH_COLUMNS = [
    Column("metric", "metric"),
    Column("value", "value", str, True),
    Column("origin", "where it comes from", max_width=60),
]


def bench_local(
    ctx: typer.Context,
    model: Annotated[Path, typer.Option("--model", help="The GGUF file to run.")],
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="Model name, as your agent logs call it (default: the file's stem).",
        ),
    ] = None,
    prompt_tokens: Annotated[int, typer.Option("--prompt-tokens", min=8)] = 256,
    output_tokens: Annotated[int, typer.Option("--output-tokens", min=2)] = 64,
    runs: Annotated[int, typer.Option("--runs", min=1)] = 3,
    threads: Annotated[int | None, typer.Option("--threads", min=1)] = None,
    no_store: Annotated[
        bool, typer.Option("--no-store", help="Do not keep the measurement.")
    ] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Measure prompt and generation speed of a GGUF model on this machine
    (llama-cpp-python: pip install 'costaudit[local]'), and the energy per
    token from RAPL counters where readable, else from the configured watts.
    The measurement is stored so costs of that model use it."""
    label = name or model.stem
    result = run_bench(model, label, prompt_tokens, output_tokens, runs, threads)
    with state(ctx).workspace() as workspace:
        if not no_store:
            store_runs(workspace.ledger, result)
            price_ledger(workspace.ledger, workspace.pricer())
        energy = workspace.pricer().energy
        watts, kwh = energy.watts(label), energy.settings.kwh_usd
        bandwidth = memory_bandwidth(workspace.config)
    estimate = generation_estimate(Decimal(result.size_bytes), bandwidth)
    rows = _bench_rows(result, watts, kwh, estimate)
    document = {
        "model": label,
        "path": str(model),
        "size_bytes": result.size_bytes,
        "energy_source": result.energy_source,
        "stored": not no_store,
        "rows": rows,
    }
    if fmt is Format.json:
        print_json(document)
        return
    emit(fmt, document, rows, BENCH_COLUMNS, title=f"{label} on this machine")
    if fmt is Format.table:
        note(f"energy: {result.energy_source}")
        if not no_store:
            note(f"stored as call events of source bench-local, model {label!r}")
    sys.stdout.flush()
