"""The usage record: one row of token usage, whatever source it came from.

A record covers one (source, session, model, provider, call kind) and carries
token counts with one meaning across sources:

- ``input_tokens``: prompt tokens that were neither read from nor written to
  a provider's prompt cache (non-cached input);
- ``cache_read_tokens`` and ``cache_write_tokens``: prompt tokens read from or
  written to the cache; the whole prompt is the sum of the three;
- ``output_tokens``: completion tokens, ``reasoning_tokens`` being a subset.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

MAIN_CALL = "main"

TOKEN_FIELDS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)


def check_count(name: str, value: object) -> int:
    """Return ``value`` as a token or call count, refusing what cannot be one."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a whole number, got a boolean")
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value) or not value.is_integer():
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


@lru_cache(maxsize=4096)
def text_hash(text: str) -> str:
    """Stable short hash of a text, used to refer to prompts kept once."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """Token usage of one (source, session, model, provider, call kind)."""

    source: str
    """Kind of source: ``hermes``, ``claude_code``, ``codex``, ``llm``, ..."""
    record_key: str
    """Natural key, unique within ``source``; a re-read row has the same key."""
    source_path: str
    """File or database the record was read from."""
    profile: str
    session_id: str
    model: str
    started_at: datetime
    """Time of the first call (timezone-aware, UTC)."""
    ended_at: datetime
    """Time of the last call (timezone-aware, UTC)."""
    calls: int = 1
    input_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    provider: str | None = None
    endpoint: str | None = None
    """Base URL the calls went to, when known."""
    is_local: bool | None = None
    """True or False when the source knows; None lets pricing decide."""
    parent_session_id: str | None = None
    platform: str | None = None
    """Where the session came from: cli, telegram, cron, ..."""
    task: str = ""
    call_kind: str = MAIN_CALL
    """``main`` for the agent's own loop, else the side call's name."""
    title: str | None = None
    first_prompt: str | None = None
    """First user message of the session, kept for task naming and advice."""
    system_prompt: str | None = None
    """System prompt text; the ledger keeps each distinct text once."""
    cron_job_id: str | None = None
    tool_calls: int | None = None
    """Tool calls the agent's main loop made in the record's session, as the
    source counts them; None when the source does not say (and on side
    calls). A session figure: a session whose main loop switched model
    carries it on each of its main-loop records."""
    agent_cost_usd: Decimal | None = None
    """The agent's own cost figure, when it recorded one."""
    agent_cost_status: str | None = None
    agent_cost_source: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "calls", check_count("calls", self.calls))
        for name in TOKEN_FIELDS:
            object.__setattr__(self, name, check_count(name, getattr(self, name)))
        if self.tool_calls is not None:
            object.__setattr__(
                self, "tool_calls", check_count("tool_calls", self.tool_calls)
            )
        if self.started_at.tzinfo is None or self.ended_at.tzinfo is None:
            raise ValueError("started_at and ended_at must be timezone-aware")

    @property
    def prompt_tokens(self) -> int:
        """The whole prompt: non-cached input plus cache reads and writes."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens

    @property
    def system_prompt_hash(self) -> str | None:
        return text_hash(self.system_prompt) if self.system_prompt else None
