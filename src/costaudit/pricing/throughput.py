"""Measured throughput of local models, from per-call events in the ledger.

Each model's speeds come from one source, never pooled across sources: a
benchmark and a day of real calls measure different things, and averaging
them would describe neither. Sources are tried in this order, and the first
with enough events for the model wins:

1. Hermes' ``agent.log``: the latency of the calls the agent really made;
2. llama.cpp server logs: prompt eval and eval timings per request;
3. Ollama server logs: the same timings, or the access line's latency;
4. OpenAI-compatible JSONL logs whose responses carry Ollama's or
   llama.cpp's durations;
5. OpenTelemetry spans: each call's latency;
6. ``bench-local`` runs on this machine.

Logs of real calls come first because they describe the user's own work
(prompt lengths, concurrency, the server's settings); a benchmark is a
controlled measurement of a set prompt and is the fallback before nothing.

Where a source reports prefill and generation time separately, speeds are
total tokens over total seconds. Where only a call's latency is known, the
two speeds are fitted together by least squares over the calls:
``latency = prompt / p + output / g``. Each figure's label names its source
and the number of calls, e.g. ``measured: Hermes agent.log, 332 calls``.

A ``bench-local`` run that read RAPL energy counters also gives the model's
measured power draw: its joules over its seconds.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal

import numpy as np

from costaudit.ledger.store import Ledger
from costaudit.pricing.energy import Figure, Throughput
from costaudit.pricing.locality import Locality

log = logging.getLogger(__name__)

MIN_EVENTS = 5
"""Calls needed before a latency fit is trusted."""
BENCH_SOURCE = "bench-local"
SOURCE_PRIORITY: tuple[tuple[str, str], ...] = (
    ("hermes_agent_log", "Hermes agent.log"),
    ("llamacpp", "llama.cpp server log"),
    ("ollama", "Ollama server log"),
    ("openai_jsonl", "OpenAI-compatible JSONL timings"),
    ("otel", "OpenTelemetry spans"),
    (BENCH_SOURCE, "bench-local"),
)
SOURCE_LABELS = dict(SOURCE_PRIORITY)
RAPL_HOW = ", RAPL counters"

Timed = tuple[int, int, float, float]
"""Prompt tokens, output tokens, prefill seconds, generation seconds."""
Latent = tuple[int, int, float]
"""Prompt tokens, output tokens, latency in seconds."""


def _rank(source: str) -> tuple[int, str]:
    order = [name for name, _ in SOURCE_PRIORITY]
    return (order.index(source) if source in order else len(order), source)


def measured_origin(source: str, count: int, how: str = "") -> str:
    """``measured: Hermes agent.log, 332 calls``: a measured figure's label."""
    label = SOURCE_LABELS.get(source, source)
    unit = "runs" if source == BENCH_SOURCE else "calls"
    if count == 1:
        unit = unit[:-1]
    return f"measured: {label}, {count} {unit}{how}"


def _from_timings(rows: list[Timed], source: str) -> Throughput | None:
    prompt = sum(r[0] for r in rows)
    output = sum(r[1] for r in rows)
    prompt_s = sum(r[2] for r in rows)
    eval_s = sum(r[3] for r in rows)
    if prompt_s <= 0 or eval_s <= 0 or prompt <= 0 or output <= 0:
        return None
    origin = measured_origin(source, len(rows))
    return Throughput(
        Figure(Decimal(str(round(prompt / prompt_s, 2))), origin),
        Figure(Decimal(str(round(output / eval_s, 2))), origin),
    )


def _from_latency(rows: list[Latent], source: str) -> Throughput | None:
    if len(rows) < MIN_EVENTS:
        return None
    design = np.array([[r[0], r[1]] for r in rows], dtype=np.float64)
    latency = np.array([r[2] for r in rows], dtype=np.float64)
    coef, *_ = np.linalg.lstsq(design, latency, rcond=None)
    per_prompt, per_output = float(coef[0]), float(coef[1])
    if per_prompt <= 0 or per_output <= 0:
        return None
    origin = measured_origin(source, len(rows), " (fitted to latency)")
    return Throughput(
        Figure(Decimal(str(round(1 / per_prompt, 2))), origin),
        Figure(Decimal(str(round(1 / per_output, 2))), origin),
    )


class _Events:
    """One model's call events, split by source and by what they measured."""

    def __init__(self) -> None:
        self.timed: dict[str, list[Timed]] = defaultdict(list)
        self.latent: dict[str, list[Latent]] = defaultdict(list)

    def add(self, source: str, row: tuple[int, int, float, float, float]) -> None:
        prompt, output, latency, prompt_s, eval_s = row
        if prompt_s and eval_s:
            self.timed[source].append((prompt, output, prompt_s, eval_s))
        elif latency:
            self.latent[source].append((prompt, output, latency))

    def best(self) -> Throughput | None:
        """The first source, in priority order, that gives both speeds."""
        for source in sorted(set(self.timed) | set(self.latent), key=_rank):
            found = _from_timings(self.timed.get(source, []), source) or (
                _from_latency(self.latent.get(source, []), source)
            )
            if found is not None:
                return found
        return None


def _local_models(ledger: Ledger, locality: Locality) -> set[str]:
    return {
        model
        for model, endpoint, stated in ledger.fetch(
            "SELECT DISTINCT model, endpoint, is_local FROM usage"
        )
        if locality.is_local(model, endpoint, stated)
    }


def measured_watts(ledger: Ledger) -> dict[str, Figure]:
    """Busy power per model from bench-local runs that read RAPL counters:
    total joules over total seconds of both phases."""
    rows = ledger.fetch(
        "SELECT e.model, count(*), sum(b.prompt_joules + b.eval_joules), "
        "sum(e.prompt_eval_s + e.eval_s) FROM bench_energy b "
        "JOIN call_events e ON e.source = ? AND e.event_key = b.event_key "
        "WHERE b.prompt_joules IS NOT NULL AND b.eval_joules IS NOT NULL "
        "GROUP BY 1",
        [BENCH_SOURCE],
    )
    watts = {}
    for model, runs, joules, seconds in rows:
        if seconds and joules and seconds > 0:
            origin = measured_origin(BENCH_SOURCE, int(runs), RAPL_HOW)
            value = Decimal(str(round(joules / seconds, 2)))
            watts[model] = Figure(value, origin)
    return watts


def measure_throughput(ledger: Ledger, locality: Locality) -> dict[str, Throughput]:
    """Throughput per local model from the call events the ledger holds, with
    the power draw a bench-local run measured for it, if any."""
    rows = ledger.fetch(
        "SELECT source, model, endpoint, prompt_tokens, output_tokens, latency_s, "
        "prompt_eval_s, eval_s FROM call_events WHERE output_tokens > 0"
    )
    local_models = _local_models(ledger, locality)
    events: dict[str, _Events] = defaultdict(_Events)
    for source, model, endpoint, prompt, output, latency, prompt_s, eval_s in rows:
        if model not in local_models and not locality.is_local(model, endpoint, None):
            continue
        events[model].add(source, (prompt, output, latency, prompt_s, eval_s))
    watts = measured_watts(ledger)
    measured: dict[str, Throughput] = {}
    for model, found in events.items():
        throughput = found.best()
        if throughput is not None:
            measured[model] = Throughput(
                throughput.prompt_tps, throughput.generation_tps, watts.get(model)
            )
    return measured
