"""``bench-local``: how fast a GGUF model runs on this machine, and the
energy it takes, measured through llama-cpp-python (``costaudit[local]``).

Each run evaluates a prompt of a set length (prefill), then generates a set
number of tokens greedily, one at a time; the two phases are timed apart.
Where the kernel exposes RAPL energy counters
(``/sys/class/powercap/intel-rapl:N/energy_uj``), each phase's energy is read
from them (the whole CPU package, so other work on the machine counts too);
otherwise the energy is left to the configured power draw, and the result
says which. Runs are stored as call events of source ``bench-local`` under
the model's name, with each phase's joules beside them, so the energy model
prices that model at these speeds and (with RAPL) at the measured draw.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from costaudit.errors import CostauditError
from costaudit.ledger.store import Ledger
from costaudit.pricing.energy import Figure, Throughput
from costaudit.pricing.throughput import BENCH_SOURCE, RAPL_HOW, measured_origin

log = logging.getLogger(__name__)

POWERCAP = Path("/sys/class/powercap")
_PACKAGE_ZONE = re.compile(r"intel-rapl:\d+")
# Plain prose to tokenise; repeated to the prompt length asked for.
_PROMPT_TEXT = (
    "An agent that answers questions all day sends the same long system prompt "
    "with every call, reads files, summarises what it found and writes a short "
    "reply. Each of those steps is a request to a language model, and each "
    "request is paid for in tokens, in time and in electricity. "
)


@dataclass(frozen=True)
class Phase:
    tokens: int
    seconds: float
    joules: float | None
    """From RAPL counters; None where they cannot be read."""


@dataclass(frozen=True)
class BenchRun:
    at: datetime
    prompt: Phase
    generation: Phase


@dataclass(frozen=True)
class BenchResult:
    name: str
    path: Path
    size_bytes: int
    threads: int
    runs: list[BenchRun]
    energy_source: str

    def _phases(self, kind: str) -> list[Phase]:
        return [getattr(run, kind) for run in self.runs]

    def tokens_per_second(self, kind: str) -> Decimal:
        """Total tokens over total seconds of ``prompt`` or ``generation``."""
        phases = self._phases(kind)
        seconds = Decimal(str(sum(p.seconds for p in phases)))
        return (Decimal(sum(p.tokens for p in phases)) / seconds).quantize(
            Decimal("0.01")
        )

    def measured_watts(self) -> Decimal | None:
        """Joules over seconds of both phases, where RAPL was read for every
        run: the busy draw the energy model takes from stored runs."""
        phases = self._phases("prompt") + self._phases("generation")
        if not all(p.joules is not None for p in phases):
            return None
        joules = Decimal(str(sum(p.joules or 0.0 for p in phases)))
        seconds = Decimal(str(sum(p.seconds for p in phases)))
        return (joules / seconds).quantize(Decimal("0.01"))

    def throughput(self) -> Throughput:
        """These runs' speeds and draw, labelled as the ledger would label
        them once stored."""
        origin = measured_origin(BENCH_SOURCE, len(self.runs))
        watts = self.measured_watts()
        return Throughput(
            Figure(self.tokens_per_second("prompt"), origin),
            Figure(self.tokens_per_second("generation"), origin),
            None if watts is None else Figure(watts, origin + RAPL_HOW),
        )


class Rapl:
    """The CPU packages' energy counters, where the kernel exposes them."""

    def __init__(self, root: Path = POWERCAP) -> None:
        self.zones = sorted(
            p for p in root.glob("intel-rapl:*") if _PACKAGE_ZONE.fullmatch(p.name)
        )
        self.problem: str | None = None
        if not self.zones:
            self.problem = f"no RAPL energy counters under {root}"
        elif self.read() is None:
            self.problem = f"RAPL counters under {root} are not readable"

    def read(self) -> list[int] | None:
        try:
            return [int((z / "energy_uj").read_text()) for z in self.zones]
        except (OSError, ValueError):
            return None

    def joules(self, before: list[int], after: list[int]) -> float:
        total = 0
        for zone, start, end in zip(self.zones, before, after, strict=True):
            if end < start:  # the counter wrapped around
                end += int((zone / "max_energy_range_uj").read_text())
            total += end - start
        return total / 1_000_000


def _timed(meter: Rapl | None, work: Any) -> tuple[float, float | None]:
    before = meter.read() if meter else None
    start = time.perf_counter()
    work()
    seconds = time.perf_counter() - start
    after = meter.read() if meter else None
    if meter is None or before is None or after is None:
        return seconds, None
    return seconds, meter.joules(before, after)


def _prompt(llm: Any, length: int, run: int) -> list[int]:
    # A different opening each run, so no run reuses another's cached prompt.
    text = f"Run {run}. " + _PROMPT_TEXT * (length // 40 + 2)
    return list(llm.tokenize(text.encode()))[:length]


def _run_once(llm: Any, prompt: list[int], output: int, meter: Rapl | None) -> BenchRun:
    at = datetime.now(tz=UTC)
    llm.reset()
    prompt_s, prompt_j = _timed(meter, lambda: llm.eval(prompt))

    def generate() -> None:
        for _ in range(output):
            llm.eval([llm.sample(temp=0.0)])

    eval_s, eval_j = _timed(meter, generate)
    return BenchRun(
        at, Phase(len(prompt), prompt_s, prompt_j), Phase(output, eval_s, eval_j)
    )


def _load(path: Path, context: int, threads: int) -> Any:
    try:
        from llama_cpp import Llama
    except ImportError:
        raise CostauditError(
            "bench-local needs llama-cpp-python: pip install 'costaudit[local]'"
        ) from None
    if not path.is_file():
        raise CostauditError(f"{path}: no such model file")
    try:
        return Llama(
            model_path=str(path), n_ctx=context, n_threads=threads,
            n_threads_batch=threads, verbose=False,
        )  # fmt: skip
    except (ValueError, RuntimeError) as exc:
        raise CostauditError(f"{path}: llama.cpp cannot load it: {exc}") from None


def run_bench(
    path: Path,
    name: str,
    prompt_tokens: int = 256,
    output_tokens: int = 64,
    runs: int = 3,
    threads: int | None = None,
    meter: Rapl | None = None,
) -> BenchResult:
    """Measure ``runs`` prefills of ``prompt_tokens`` and generations of
    ``output_tokens`` on ``threads`` threads (default: every core)."""
    threads = threads or os.cpu_count() or 1
    meter = meter or Rapl()
    llm = _load(path, prompt_tokens + output_tokens + 16, threads)
    usable = meter if meter.problem is None else None
    done = []
    for run in range(runs):
        prompt = _prompt(llm, prompt_tokens, run)
        done.append(_run_once(llm, prompt, output_tokens, usable))
        log.info("bench run %d of %d done", run + 1, runs)
    source = "RAPL counters" if usable else f"configured power ({meter.problem})"
    return BenchResult(name, path, path.stat().st_size, threads, done, source)


def store_runs(ledger: Ledger, result: BenchResult) -> int:
    """Keep each run as a call event so throughput is measured from it, and
    its energy (where RAPL was read) so the power draw is too."""
    for index, run in enumerate(result.runs):
        key = f"{result.name}:{run.at.isoformat()}:{index}"
        ledger.con.execute(
            "INSERT OR REPLACE INTO bench_energy VALUES (?, ?, ?, ?)",
            [key, result.name, run.prompt.joules, run.generation.joules],
        )
        ledger.con.execute(
            "INSERT OR REPLACE INTO call_events (source, event_key, path, \"at\", "
            "profile, model, provider, endpoint, session_id, prompt_tokens, "
            "cache_read_tokens, output_tokens, latency_s, prompt_eval_s, eval_s) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, 0, ?, ?, ?, ?)",
            [
                BENCH_SOURCE, key,
                str(result.path), run.at, BENCH_SOURCE, result.name,
                "llama-cpp-python",
                # The model ran on this machine: a local endpoint by definition.
                "localhost",
                run.prompt.tokens, run.generation.tokens,
                run.prompt.seconds + run.generation.seconds,
                run.prompt.seconds, run.generation.seconds,
            ],
        )  # fmt: skip
    return len(result.runs)
