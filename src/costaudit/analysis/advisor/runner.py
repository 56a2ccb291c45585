"""Running the strategies over a window and ranking what they would save."""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from costaudit.analysis.advisor import (
    batch,
    exact_cache,
    local_vs_api,
    model_routing,
    prompt_caching,
    rate_limit,
    semantic_cache,
    system_prompt,
)
from costaudit.analysis.advisor.combined import Combined, combine
from costaudit.analysis.advisor.facts import Facts
from costaudit.analysis.advisor.history import History
from costaudit.analysis.advisor.model import Draft, Strategy, finish
from costaudit.analysis.advisor.prices import Prices
from costaudit.analysis.advisor.semantic_cache import EmbedderFactory
from costaudit.analysis.advisor.settings import AdvisorSettings
from costaudit.analysis.advisor.vectors import StoredEmbedder
from costaudit.analysis.window import Window
from costaudit.errors import CostauditError
from costaudit.strategies.embeddings import Embedder
from costaudit.workspace import Workspace

log = logging.getLogger(__name__)


def default_embedder() -> Embedder:
    """MiniLM, with each prompt's vector kept on disk for the next run."""
    from costaudit.strategies.embeddings import MiniLMEmbedder

    return StoredEmbedder(MiniLMEmbedder())


@dataclass(frozen=True)
class AdviceOptions:
    make_embedder: EmbedderFactory = default_embedder
    only: tuple[str, ...] = ()
    """Strategy ids to run; all when empty."""


@dataclass(frozen=True)
class _Spec:
    id: str
    title: str
    group: str | None
    run: Callable[[Facts, AdviceOptions], Draft]


SPECS = (
    _Spec(system_prompt.ID, system_prompt.TITLE, system_prompt.GROUP,
          lambda f, _o: system_prompt.analyse(f)),
    _Spec(exact_cache.ID, exact_cache.TITLE, exact_cache.GROUP,
          lambda f, _o: exact_cache.analyse(f)),
    _Spec(semantic_cache.ID, semantic_cache.TITLE, semantic_cache.GROUP,
          lambda f, o: semantic_cache.analyse(f, o.make_embedder)),
    _Spec(model_routing.ID, model_routing.TITLE, model_routing.GROUP,
          lambda f, _o: model_routing.analyse(f)),
    _Spec(prompt_caching.ID, prompt_caching.TITLE, prompt_caching.GROUP,
          lambda f, _o: prompt_caching.analyse(f)),
    _Spec(batch.ID, batch.TITLE, batch.GROUP, lambda f, _o: batch.analyse(f)),
    _Spec(local_vs_api.ID, local_vs_api.TITLE, local_vs_api.GROUP,
          lambda f, _o: local_vs_api.analyse(f)),
    _Spec(rate_limit.ID, rate_limit.TITLE, rate_limit.GROUP,
          lambda f, _o: rate_limit.analyse(f)),
)  # fmt: skip
STRATEGY_IDS = tuple(spec.id for spec in SPECS)


@dataclass
class Advice:
    history: History
    strategies: list[Strategy]
    """Ranked by monthly savings, largest first."""
    combined: Combined
    timings: dict[str, float] = field(default_factory=dict)

    def period(self) -> dict[str, Any]:
        h = self.history
        return {
            "days": h.days,
            "calls": h.calls,
            "spend_usd": h.spend_usd,
            "monthly_spend_usd": h.spend_usd * h.month_factor,
            "unpriced_calls": h.unpriced_calls,
            "timezone": h.window.tz_name,
        }

    def document(self) -> dict[str, Any]:
        return {
            "period": self.period(),
            "strategies": [s.document() for s in self.strategies],
            "combined": self.combined.document(),
        }

    def explain(self, strategy_id: str) -> list[str]:
        """How one projection (or ``combined``) was worked out, step by step."""
        if strategy_id == "combined":
            return self.combined.explanation
        for strategy in self.strategies:
            if strategy.id == strategy_id:
                return strategy.steps
        raise unknown_strategy(strategy_id)


def unknown_strategy(strategy_id: str) -> CostauditError:
    known = [*STRATEGY_IDS, "combined"]
    close = difflib.get_close_matches(strategy_id, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return CostauditError(
        f"no strategy {strategy_id!r}: choose from {', '.join(known)}{hint}"
    )


def advise(
    workspace: Workspace, window: Window, options: AdviceOptions | None = None
) -> Advice:
    """Run the strategies on the window's records and combine them."""
    options = options or AdviceOptions()
    for wanted in options.only:
        if wanted not in STRATEGY_IDS:
            raise unknown_strategy(wanted)
    started = time.perf_counter()
    history = History.load(workspace.ledger, window)
    settings = AdvisorSettings.from_config(workspace.config)
    facts = Facts(history, Prices(workspace.pricer()), settings)
    timings = {"load_s": time.perf_counter() - started}
    strategies = []
    for spec in SPECS:
        if options.only and spec.id not in options.only:
            continue
        started = time.perf_counter()
        draft = spec.run(facts, options)
        strategies.append(finish(history, spec.id, spec.title, spec.group, draft))
        timings[f"{spec.id}_s"] = time.perf_counter() - started
        timings.update({f"{spec.id}.{k}": v for k, v in draft.timings.items()})
        log.info("%s: %.2f s", spec.id, timings[f"{spec.id}_s"])
    strategies.sort(key=lambda s: (-s.monthly_savings_usd, s.id))
    return Advice(history, strategies, combine(history, strategies), timings)


def advice_section(workspace: Workspace, window: Window) -> dict[str, Any]:
    """The advice as a section of the audit document."""
    return advise(workspace, window).document()
