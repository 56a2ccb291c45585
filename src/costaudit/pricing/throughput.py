"""Measured throughput of local models, from per-call events in the ledger.

Where a server reports prefill and generation time separately (llama.cpp,
Ollama), speeds are total tokens over total seconds. Where only a call's
latency is known (Hermes' agent.log), the two speeds are fitted together by
least squares over the calls: ``latency = prompt / p + output / g``.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import numpy as np

from costaudit.ledger.store import Ledger
from costaudit.pricing.energy import Figure, Throughput
from costaudit.pricing.locality import Locality

log = logging.getLogger(__name__)

MIN_EVENTS = 5


def _from_timings(rows: list[tuple[int, int, float, float]]) -> Throughput | None:
    prompt = sum(r[0] for r in rows)
    output = sum(r[1] for r in rows)
    prompt_s = sum(r[2] for r in rows)
    eval_s = sum(r[3] for r in rows)
    if prompt_s <= 0 or eval_s <= 0 or prompt <= 0 or output <= 0:
        return None
    origin = f"measured over {len(rows)} calls (server timings)"
    return Throughput(
        Figure(Decimal(str(round(prompt / prompt_s, 2))), origin),
        Figure(Decimal(str(round(output / eval_s, 2))), origin),
    )


def _from_latency(rows: list[tuple[int, int, float]]) -> Throughput | None:
    if len(rows) < MIN_EVENTS:
        return None
    design = np.array([[r[0], r[1]] for r in rows], dtype=np.float64)
    latency = np.array([r[2] for r in rows], dtype=np.float64)
    coef, *_ = np.linalg.lstsq(design, latency, rcond=None)
    per_prompt, per_output = float(coef[0]), float(coef[1])
    if per_prompt <= 0 or per_output <= 0:
        return None
    origin = f"fitted to the latency of {len(rows)} calls"
    return Throughput(
        Figure(Decimal(str(round(1 / per_prompt, 2))), origin),
        Figure(Decimal(str(round(1 / per_output, 2))), origin),
    )


def measure_throughput(ledger: Ledger, locality: Locality) -> dict[str, Throughput]:
    """Throughput per local model from the call events the ledger holds."""
    rows = ledger.fetch(
        "SELECT model, endpoint, prompt_tokens, output_tokens, latency_s, "
        "prompt_eval_s, eval_s FROM call_events WHERE output_tokens > 0"
    )
    local_models = {
        model
        for model, endpoint, stated in ledger.fetch(
            "SELECT DISTINCT model, endpoint, is_local FROM usage"
        )
        if locality.is_local(model, endpoint, stated)
    }
    timings: dict[str, list[tuple[int, int, float, float]]] = {}
    latencies: dict[str, list[tuple[int, int, float]]] = {}
    for model, endpoint, prompt, output, latency, prompt_s, eval_s in rows:
        if model not in local_models and not locality.is_local(model, endpoint, None):
            continue
        if prompt_s and eval_s:
            timings.setdefault(model, []).append((prompt, output, prompt_s, eval_s))
        elif latency:
            latencies.setdefault(model, []).append((prompt, output, latency))
    measured: dict[str, Throughput] = {}
    for model in set(timings) | set(latencies):
        found = _from_timings(timings.get(model, [])) or _from_latency(
            latencies.get(model, [])
        )
        if found is not None:
            measured[model] = found
    return measured
