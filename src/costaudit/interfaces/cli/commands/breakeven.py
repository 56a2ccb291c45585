"""``costaudit breakeven`` and ``costaudit bench-local``: what running a
model locally costs, against the APIs in use, with every assumption shown."""

from __future__ import annotations

import itertools
import math
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from costaudit.analysis.bandwidth import generation_estimate, memory_bandwidth
from costaudit.analysis.breakeven import MTOK, energy_usd, joules_above_idle
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
from costaudit.local.gguf import read_gguf
from costaudit.pricing.apply import price_ledger
from costaudit.pricing.energy import EnergyPricer, Figure

CHART_WIDTH = 64
CHART_HEIGHT = 14
LEGEND = " " * 12
SYMBOLS = "L" + "abcdefghijklmnopqrstuvwxyz"
SHARED = "*"
Cell = tuple[int, int]
"""Row and column of the plot."""


def _volume(value: Any) -> str:
    return "never" if value is None else compact(value)


def _capacity(within: Any) -> str:
    return "> capacity" if within is False else ""


def _optional_money(value: Any) -> str:
    return "" if value is None else money(value)


API_COLUMNS = [
    Column("api_model", "API model"),
    Column("api_usd_per_mtok", "API\n$/Mtok", money, True),
    Column("local_usd_per_mtok", "local $/Mtok\nall in", _optional_money, True),
    # Left out first on a narrow terminal: the model names matter more.
    Column(
        "local_energy_usd_per_mtok", "local $/Mtok\nenergy", money, True, optional=3
    ),
    Column("breakeven_tokens_per_month", "break-even\n/month", _volume, True),
    Column("breakeven_within_capacity", "", _capacity, whole=True),
    Column("your_tokens_per_month", "you\n/month", compact, True),
    Column("api_usd_per_month", "API $/mo", lambda v: money(v, 2), True, optional=2),
    Column(
        "local_usd_per_month", "local $/mo", lambda v: money(v, 2), True, optional=1
    ),
    Column("cheaper", "cheaper", whole=True),
]
TABLE_NOTE = (
    "local $/Mtok all in: the machine, idle and busy power at your volume of that "
    "model; energy: what a million tokens add above idle; > capacity: the "
    "break-even volume is more than one machine can serve"
)
QUANT_COLUMNS = [
    Column("quant", "quant"),
    Column("bits_per_weight", "bits/weight", str, True),
    Column("size_gb", "size GB", str, True),
    Column("generation_tps", "tok/s (est.)", str, True),
    Column("joules_per_token", "J/token above idle", str, True),
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


@dataclass(frozen=True)
class Axes:
    """Log10 bounds of both axes."""

    xlo: float
    xhi: float
    ylo: float
    yhi: float


def _cells(lines: list[list[tuple[float, float]]], axes: Axes) -> dict[Cell, list[int]]:
    """The series that pass through each cell of the plot, by index."""
    cells: dict[Cell, list[int]] = defaultdict(list)
    for index, line in enumerate(lines):
        for col in range(CHART_WIDTH):
            x = 10 ** (axes.xlo + col / (CHART_WIDTH - 1) * (axes.xhi - axes.xlo))
            y = _trace(line, x)
            if y is None:
                continue
            row = CHART_HEIGHT - 1 - _position(y, axes.ylo, axes.yhi, CHART_HEIGHT)
            if index not in cells[(row, col)]:
                cells[(row, col)].append(index)
    return cells


def _overlap_note(index: int, cells: dict[Cell, list[int]]) -> str:
    """Where a series hides under ``*``: all along, or for much of its length,
    and with which others (a line crossing another shares a cell or two)."""
    mine = [owners for owners in cells.values() if index in owners]
    shared = [owners for owners in mine if len(owners) > 1]
    if not mine or len(shared) * 4 < len(mine):
        return ""
    others = sorted({SYMBOLS[i] for owners in shared for i in owners if i != index})
    names = ", ".join(others)
    if len(shared) == len(mine):
        return f" (hidden: drawn as {SHARED} all along, with {names})"
    return f" (as {SHARED} for {len(shared) / len(mine):.0%} of it, with {names})"


def _legend(
    series: Sequence[dict[str, Any]], cells: dict[Cell, list[int]]
) -> list[str]:
    out = []
    for index, s in enumerate(series[: len(SYMBOLS)]):
        entry = f"{SYMBOLS[index]} {s['label']}{_overlap_note(index, cells)}"
        out.extend(_wrapped(entry))
        if s.get("mix"):
            out.extend(_wrapped(f"  at {s['mix']}"))
    out.append(f"{LEGEND}┊ your API volume a month   {SHARED} two or more lines")
    return out


def _wrapped(entry: str) -> list[str]:
    """A legend entry in lines of at most 80 columns, the later ones indented
    under the entry's text."""
    import textwrap

    start = len(entry) - len(entry.lstrip(" "))
    more = LEGEND + " " * (start + 2)
    return textwrap.wrap(
        entry, 80, initial_indent=LEGEND, subsequent_indent=more, drop_whitespace=True
    )


def text_chart(series: Sequence[dict[str, Any]], you: float | None) -> list[str]:
    """Monthly cost against monthly volume, log-log, within 80 columns."""
    lines = [
        [(float(x), float(y)) for x, y in s["points"]] for s in series[: len(SYMBOLS)]
    ]
    xs = [x for line in lines for x, _ in line if x > 0]
    ys = [y for line in lines for _, y in line if y > 0]
    if not xs or not ys:
        return []
    axes = Axes(
        math.log10(min(xs)),
        math.log10(max(xs)),
        math.log10(min(ys)),
        math.log10(max(ys)),
    )
    cells = _cells(lines, axes)
    grid = [[" "] * CHART_WIDTH for _ in range(CHART_HEIGHT)]
    for (row, col), owners in cells.items():
        grid[row][col] = SYMBOLS[owners[0]] if len(owners) == 1 else SHARED
    if you:
        col = _position(you, axes.xlo, axes.xhi, CHART_WIDTH)
        for line in grid:
            line[col] = "┊" if line[col] == " " else line[col]
    labels = {0: 10**axes.yhi, CHART_HEIGHT // 2: 10 ** ((axes.ylo + axes.yhi) / 2)}
    labels[CHART_HEIGHT - 1] = 10**axes.ylo
    out = [
        f"{_axis_money(labels[i]) if i in labels else '':>10} │{''.join(row)}"
        for i, row in enumerate(grid)
    ]
    out.append(" " * 11 + "└" + "─" * CHART_WIDTH)
    left, mid = compact(10**axes.xlo), compact(10 ** ((axes.xlo + axes.xhi) / 2))
    right = compact(10**axes.xhi)
    gap = (CHART_WIDTH - len(left) - len(mid) - len(right)) // 2
    out.append(" " * 12 + left + " " * gap + mid + " " * gap + right)
    return out + _legend(series, cells)


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
    rows = document["rows"]
    if rows:
        out.print(table("Break-even against each API model", rows, API_COLUMNS))
        out.print(Lines(TABLE_NOTE, 1, style="dim"))
    else:
        note("costaudit: no priced API usage in the window; name models with --api")
    for row in rows:
        if row["local_machines"] > 1:
            note(
                f"costaudit: your volume of {row['api_model']} needs "
                f"{row['local_machines']} machines like this one; local $/mo counts "
                "each one's fixed cost and idle draw"
            )
    out.print()
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
        typer.Option(
            "--local-model",
            help="Local model (default: the busiest); its calls give the busy share.",
        ),
    ] = None,
    gguf: Annotated[
        Path | None,
        typer.Option(
            "--gguf",
            help="The local model's GGUF file (default: [local] model_file): its "
            "header gives the weights for speed estimates and the quantisation "
            "table.",
        ),
    ] = None,
    params: Annotated[
        float | None,
        typer.Option(
            "--params",
            min=0.01,
            help="Without a GGUF file, the model's size in billions of weights "
            "(at the first --quant) for speed estimates and the quantisation table.",
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


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _energy_rows(
    result: BenchResult, draw: Figure, idle: Figure, kwh: Figure
) -> list[dict[str, Any]]:
    """Speed and energy per token of each phase, above idle as in breakeven."""
    runs, threads = _count(len(result.runs), "run"), _count(result.threads, "thread")
    measured = f"measured: {runs} on {threads}"
    rows: list[dict[str, Any]] = []
    for kind, label in (("prompt", "prompt"), ("generation", "generated")):
        tps = result.tokens_per_second(kind)
        joules = joules_above_idle(draw.value, idle.value, tps)
        rows += [
            {"metric": f"{label} tokens/s", "value": tps, "origin": measured},
            {
                "metric": f"J per {label} token above idle",
                "value": round(joules, 6),
                "origin": "(busy draw - idle draw) / tokens per second",
            },
            {
                "metric": f"$ per M {label} tokens above idle",
                "value": round(energy_usd(joules * MTOK, kwh.value), 6),
                "origin": f"${kwh} per kWh ({kwh.origin})",
            },
        ]
    return rows


def _bench_rows(
    result: BenchResult, draw: Figure, idle: Figure, kwh: Figure, estimate: Figure
) -> list[dict[str, Any]]:
    ratio = result.tokens_per_second("generation") / estimate.value
    return [
        {"metric": "busy draw W", "value": draw.value, "origin": draw.origin},
        {"metric": "idle draw W", "value": idle.value, "origin": idle.origin},
        *_energy_rows(result, draw, idle, kwh),
        {
            "metric": "generation tokens/s, estimate",
            "value": estimate.value,
            "origin": estimate.origin,
        },
        {"metric": "measured / estimate", "value": f"{ratio:.2f}", "origin": ""},
    ]


BENCH_COLUMNS = [
    Column("metric", "metric"),
    Column("value", "value", str, True),
    Column("origin", "where it comes from", max_width=60),
]


def _busy_draw(energy: EnergyPricer, result: BenchResult, stored: bool) -> Figure:
    """The busy draw ``breakeven`` uses for the model: once the runs are
    stored, the energy model's; otherwise the same choice with these runs as
    the model's measurement (a draw set in config still wins)."""
    if stored:
        return energy.watts(result.name)
    measured = {**energy.measured, result.name: result.throughput()}
    return EnergyPricer(energy.settings, measured).watts(result.name)


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
    token above idle: the busy draw from RAPL counters where readable, else
    the configured watts. The measurement is stored so costs of that model
    use it."""
    label = name or model.stem
    result = run_bench(model, label, prompt_tokens, output_tokens, runs, threads)
    header = read_gguf(model)
    with state(ctx).workspace() as workspace:
        if not no_store:
            store_runs(workspace.ledger, result)
            price_ledger(workspace.ledger, workspace.pricer())
        energy = workspace.pricer().energy
        draw = _busy_draw(energy, result, stored=not no_store)
        idle, kwh = energy.settings.idle_watts, energy.settings.kwh_usd
        bandwidth = memory_bandwidth(workspace.config)
    what = f"{model.name}: {header.file_type or 'type not stated'}"
    estimate = generation_estimate(Decimal(result.size_bytes), bandwidth, what)
    rows = _bench_rows(result, draw, idle, kwh, estimate)
    document = {
        "model": label,
        "path": str(model),
        "size_bytes": result.size_bytes,
        "parameters": header.parameters,
        "file_type": header.file_type,
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
