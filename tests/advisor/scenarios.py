"""Histories with known answers, written into a real ledger and priced,
and an embedder whose similarities the test chooses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from costaudit.analysis.advisor.facts import Facts
from costaudit.analysis.advisor.history import History
from costaudit.analysis.advisor.prices import Prices
from costaudit.analysis.advisor.runner import Advice, AdviceOptions, advise
from costaudit.analysis.advisor.settings import AdvisorSettings
from costaudit.config import load_config
from costaudit.ledger.store import Ledger
from costaudit.pricing.apply import price_ledger
from costaudit.pricing.pricer import Pricer
from costaudit.record import UsageRecord
from costaudit.sources.base import CallEvent, PathState, ScanBatch
from costaudit.workspace import Options, Workspace

# A Monday, 08:00 UTC: inside DeepSeek's peak hours in genai-prices.
T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


class Recorder:
    """Builds usage records with distinct keys and sensible defaults."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, prompt: str | None = "hello", **fields: Any) -> UsageRecord:
        self.count += 1
        at = fields.pop("at", T0)
        session = fields.pop("session", f"s{self.count}")
        values: dict[str, Any] = {
            "source": "hermes",
            "record_key": f"k{self.count}",
            "source_path": "state.db",
            "profile": "default",
            "session_id": session,
            "model": "gpt-4.1-mini",
            "provider": "openai",
            "started_at": at,
            "ended_at": at,
            "input_tokens": 100,
            "output_tokens": 20,
            "platform": "cli",
            "task": "chat",
            "first_prompt": prompt,
        }
        values.update(fields)
        return UsageRecord(**values)


class Scenario:
    """A ledger and config in a temporary directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ledger_path = root / "l.duckdb"
        self.config_path = root / "costaudit.toml"
        self.config_path.write_text("")

    def write(
        self,
        records: Sequence[UsageRecord],
        config: str = "",
        events: Sequence[CallEvent] = (),
    ) -> None:
        self.config_path.write_text(config)
        pricer = Pricer(load_config(self.config_path, required=True))
        ledger = Ledger.open(self.ledger_path)
        try:
            ledger.store_batch(
                ScanBatch("hermes", "state.db", PathState("hermes", "state.db"),
                          list(records), list(events))
            )  # fmt: skip
            price_ledger(ledger, pricer)
        finally:
            ledger.close()

    def workspace(self) -> Workspace:
        return Workspace(Options(self.config_path, self.ledger_path))

    def advise(self, options: AdviceOptions | None = None) -> Advice:
        with self.workspace() as workspace:
            window = workspace.window()
            return advise(workspace, window, options or AdviceOptions(fake_embedder))

    def facts(self) -> Facts:
        with self.workspace() as workspace:
            history = History.load(workspace.ledger, workspace.window())
            settings = AdvisorSettings.from_config(workspace.config)
            return Facts(history, Prices(workspace.pricer()), settings)


class FakeEmbedder:
    """Vectors chosen by the test: texts in one group share a direction."""

    name = "fake"
    dim = 64

    def __init__(self, groups: Sequence[Sequence[str]] = (), tilt: float = 0.0):
        self.vectors: dict[str, NDArray[np.float32]] = {}
        for i, group in enumerate(groups):
            for j, text in enumerate(group):
                vector = np.zeros(self.dim, dtype=np.float32)
                vector[i % self.dim] = 1.0
                # Later members lean away from the first by ``tilt``.
                vector[(i + 1) % self.dim] = tilt * j
                self.vectors[text] = vector / np.linalg.norm(vector)
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            if text in self.vectors:
                out[row] = self.vectors[text]
            else:
                # Unknown texts get their own direction, far from the rest.
                seed = sum(text.encode()) % 997
                vector = np.random.default_rng(seed).normal(size=self.dim)
                out[row] = vector / np.linalg.norm(vector)
        return out


def call_event(
    session: str, at: datetime, prompt_tokens: int, **fields: Any
) -> CallEvent:
    """One call as Hermes' agent.log records it."""
    values: dict[str, Any] = {
        "source": "hermes_agent_log",
        "event_key": f"{session}:{at.timestamp()}:{prompt_tokens}",
        "path": "agent.log",
        "at": at,
        "model": "gpt-4.1-mini",
        "profile": "default",
        "session_id": session,
        "prompt_tokens": prompt_tokens,
        "output_tokens": 50,
    }
    values.update(fields)
    return CallEvent(**values)


def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
