"""How fast a CPU can run a model, worked out from first principles.

Generating one token reads every weight of a dense model once. On a CPU that
read, not the arithmetic, sets the pace, so generation speed is about

    tokens per second = memory bandwidth / bytes of weights

The bytes are a GGUF file's size, or a parameter count times the bits per
weight of a quantisation type. Memory bandwidth comes from config
(``[local] memory_bandwidth_gbs``) or a quick measurement: NumPy copying a
large array on every core.

Reading a prompt is the other way round: a whole batch of tokens shares each
read of the weights, so the arithmetic sets the pace. A token costs about
two operations per weight (a multiply and an add), so

    prompt tokens per second = operations per second / (2 x weights)

with the rate from config (``[local] cpu_gflops``) or measured as NumPy's
float32 matrix product on every core. llama.cpp's quantised kernels run
somewhat above or below that rate depending on the CPU's integer
instructions, so the figure gives the order of magnitude, no more.

Real decoders reach part of the bandwidth bound too (caches, threads, the
KV cache read as well), so each figure is labelled an estimate, and a
measurement (``bench-local``, server logs) replaces it when there is one.
"""

from __future__ import annotations

import difflib
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from costaudit.analysis.breakeven import MTOK, energy_usd, joules_above_idle
from costaudit.config import Config
from costaudit.errors import CostauditError
from costaudit.pricing.energy import Figure

log = logging.getLogger(__name__)

GB = Decimal(1_000_000_000)

# Bits per weight of GGUF files, by quantisation type. For the types llama.cpp
# documents by file size (``llama-quantize --help``: Llama-3-8B, 8.03 billion
# weights), the figure is that size over the weight count, so it includes the
# embedding and output tensors kept at higher precision. For the types it
# documents by bits per weight (the IQ types), that figure. F16 and F32 are
# exact. A whole file of another architecture can differ by a few percent.
GGUF_BITS_PER_WEIGHT: dict[str, Decimal] = {
    "F32": Decimal("32"),
    "F16": Decimal("16"),
    "BF16": Decimal("16"),
    "Q8_0": Decimal("8.51"),
    "Q6_K": Decimal("6.57"),
    "Q5_1": Decimal("6.04"),
    "Q5_K_M": Decimal("5.70"),
    "Q5_K_S": Decimal("5.57"),
    "Q5_0": Decimal("5.57"),
    "Q4_1": Decimal("5.11"),
    "Q4_K_M": Decimal("4.90"),
    "Q4_K_S": Decimal("4.67"),
    "Q4_0": Decimal("4.64"),
    "IQ4_NL": Decimal("4.50"),
    "IQ4_XS": Decimal("4.25"),
    "Q3_K_L": Decimal("4.31"),
    "Q3_K_M": Decimal("4.00"),
    "Q3_K_S": Decimal("3.65"),
    "IQ3_M": Decimal("3.66"),
    "IQ3_S": Decimal("3.44"),
    "IQ3_XS": Decimal("3.30"),
    "IQ3_XXS": Decimal("3.06"),
    "Q2_K": Decimal("3.17"),
    "IQ2_M": Decimal("2.70"),
    "IQ2_S": Decimal("2.50"),
    "IQ2_XS": Decimal("2.31"),
    "IQ2_XXS": Decimal("2.06"),
    "IQ1_M": Decimal("1.75"),
    "IQ1_S": Decimal("1.56"),
}


@dataclass(frozen=True)
class Bandwidth:
    gb_per_s: Decimal
    origin: str

    def labelled(self) -> str:
        return f"{self.gb_per_s:.1f} GB/s ({self.origin})"


def measure_bandwidth(mib: int = 512, repeats: int = 5) -> Bandwidth:
    """Copy a ``mib`` MiB array across every core; best of ``repeats``.

    A copy reads and writes each byte, so it moves twice the array's size.
    """
    threads = min(os.cpu_count() or 1, 16)
    source = np.ones(mib * 1024 * 1024 // 8, dtype=np.float64)
    target = np.empty_like(source)
    parts = list(
        zip(
            np.array_split(source, threads),
            np.array_split(target, threads),
            strict=True,
        )
    )
    best = float("inf")
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(repeats):
            start = time.perf_counter()
            # NumPy releases the GIL while copying, so the slices run in parallel.
            list(pool.map(lambda pair: np.copyto(pair[1], pair[0]), parts))
            best = min(best, time.perf_counter() - start)
    moved = Decimal(2 * source.nbytes)
    rate = moved / Decimal(str(best)) / GB
    origin = f"measured: NumPy copy of {mib} MiB on {threads} threads"
    log.info("memory bandwidth %.1f GB/s (%s)", rate, origin)
    return Bandwidth(rate.quantize(Decimal("0.1")), origin)


@dataclass(frozen=True)
class Compute:
    gflops: Decimal
    origin: str

    def labelled(self) -> str:
        return f"{self.gflops:.0f} GFLOP/s ({self.origin})"


def measure_compute(size: int = 1024, repeats: int = 3) -> Compute:
    """Best of ``repeats`` float32 products of two ``size`` square matrices
    (``2 size^3`` operations), on the threads NumPy's BLAS uses."""
    rng = np.random.default_rng(0)
    left = rng.random((size, size), dtype=np.float32)
    right = rng.random((size, size), dtype=np.float32)
    np.matmul(left, right)  # the first product also loads BLAS and its threads
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(left, right)
        best = min(best, time.perf_counter() - start)
    rate = Decimal(2 * size**3) / Decimal(str(best)) / GB
    origin = f"measured: NumPy float32 matrix product, {size}x{size}"
    log.info("compute %.1f GFLOP/s (%s)", rate, origin)
    return Compute(rate.quantize(Decimal("0.1")), origin)


def cpu_compute(config: Config) -> Compute:
    """``[local] cpu_gflops``, or a measurement of this machine's."""
    section = config.section("local")
    value = section.number("cpu_gflops")
    if value is None:
        return measure_compute()
    if value <= 0:
        raise section._fail("cpu_gflops", "a positive number", value)
    return Compute(Decimal(str(value)), "config")


def prompt_estimate(parameters: int, compute: Compute) -> Figure:
    """Prompt tokens per second at two operations per weight per token."""
    rate = compute.gflops * GB / (2 * Decimal(parameters))
    origin = (
        f"estimate: {compute.labelled()} / "
        f"(2 x {Decimal(parameters) / GB:.2f} B weights)"
    )
    return Figure(rate.quantize(Decimal("0.01")), origin)


def configured_bandwidth(config: Config) -> Bandwidth | None:
    section = config.section("local")
    value = section.number("memory_bandwidth_gbs")
    if value is None:
        return None
    if value <= 0:
        raise section._fail("memory_bandwidth_gbs", "a positive number", value)
    return Bandwidth(Decimal(str(value)), "config")


def memory_bandwidth(config: Config) -> Bandwidth:
    """The configured bandwidth, or a measurement of this machine's."""
    return configured_bandwidth(config) or measure_bandwidth()


def bits_per_weight(quant: str) -> Decimal:
    key = quant.upper()
    if key not in GGUF_BITS_PER_WEIGHT:
        close = difflib.get_close_matches(key, list(GGUF_BITS_PER_WEIGHT), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        known = ", ".join(GGUF_BITS_PER_WEIGHT)
        raise CostauditError(
            f"unknown GGUF quantisation {quant!r}{hint}; known: {known}"
        )
    return GGUF_BITS_PER_WEIGHT[key]


def weight_bytes(params_billion: Decimal, quant: str) -> Decimal:
    """Bytes of weights of a dense model of ``params_billion`` in ``quant``."""
    return params_billion * GB * bits_per_weight(quant) / 8


def generation_estimate(
    weights: Decimal, bandwidth: Bandwidth, what: str = ""
) -> Figure:
    """Tokens per second generated when each token reads ``weights`` bytes;
    ``what`` says where the byte count came from."""
    rate = bandwidth.gb_per_s * GB / weights
    source = f" ({what})" if what else ""
    origin = (
        f"estimate: {bandwidth.labelled()} / {weights / GB:.2f} GB of weights{source}"
    )
    return Figure(rate.quantize(Decimal("0.01")), origin)


@dataclass(frozen=True)
class Power:
    """What the quantisation table needs to put energy on a token."""

    busy_watts: Decimal
    idle_watts: Decimal
    kwh_usd: Decimal


def _quant_row(
    label: str, bits: Decimal, size: Decimal, bandwidth: Bandwidth, power: Power
) -> dict[str, object]:
    speed = generation_estimate(size, bandwidth).value
    joules = joules_above_idle(power.busy_watts, power.idle_watts, speed)
    return {
        "quant": label,
        "bits_per_weight": bits.quantize(Decimal("0.01")),
        "size_gb": (size / GB).quantize(Decimal("0.01")),
        "generation_tps": speed,
        "joules_per_token": joules.quantize(Decimal("0.001")),
        "usd_per_mtok_generated": energy_usd(joules * MTOK, power.kwh_usd),
    }


def compare_quantisations(
    params_billion: Decimal,
    quants: list[str],
    bandwidth: Bandwidth,
    power: Power,
    actual: tuple[str, int] | None = None,
) -> list[dict[str, object]]:
    """Size, estimated speed and energy per generated token, per quantisation.

    Energy is the draw above idle over the speed
    (:func:`~costaudit.analysis.breakeven.joules_above_idle`), as in the
    break-even model: idle power is paid whether or not tokens are made.
    ``actual`` is a real file's type and size in bytes: a row of its own,
    first, with the file's true size instead of the table's.
    """
    rows = []
    if actual is not None:
        label, file_bytes = actual
        bits = Decimal(file_bytes * 8) / (params_billion * GB)
        size = Decimal(file_bytes)
        rows.append(_quant_row(f"{label} (this file)", bits, size, bandwidth, power))
    for quant in quants:
        size = weight_bytes(params_billion, quant)
        bits = bits_per_weight(quant)
        rows.append(_quant_row(quant.upper(), bits, size, bandwidth, power))
    return rows
