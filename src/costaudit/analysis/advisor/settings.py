"""The advisor's settings: the ``[advisor]`` and ``[advisor.routing]`` tables.

Every value has a default, so the advisor runs without a config file; the
report says which figures are defaults wherever it uses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from costaudit.config import Config, Section
from costaudit.strategies.difficulty import TIERS, Tier
from costaudit.strategies.semantic_cache import DEFAULT_THRESHOLD

DEFAULT_LADDER: dict[Tier, str] = {
    "simple": "qwen2.5-3b-instruct",
    "medium": "deepseek-chat",
    "hard": "gpt-4.1-mini",
    "expert": "gpt-4.1",
}
DEFAULT_API_MODEL = "gpt-4.1-mini"
DEFAULT_LOCAL_MODEL = "qwen2.5-3b-instruct"


@dataclass(frozen=True)
class AdvisorSettings:
    """Thresholds and targets of the strategies; see each field's use."""

    system_prompt_target_tokens: int = 1_000
    cache_ttl_seconds: float = 7 * 86_400.0
    """How long a cached answer is served (exact and semantic caches). A
    prompt about the present or outside state is never cached, whatever its
    age; for the rest the time to live bounds how old a stable answer (a
    regex, a drive time, a library's usage) may get: a week by default."""
    semantic_threshold: float = DEFAULT_THRESHOLD
    borderline_margin: float = 0.03
    """Similarity this close to the threshold makes a semantic hit doubtful."""
    provider_cache_ttl_seconds: float = 300.0
    """How long a provider keeps a prompt prefix cached (5 minutes is the
    shortest common figure, Anthropic's default and OpenAI's minimum)."""
    min_cacheable_tokens: int = 1_024
    """Shortest prefix providers cache (OpenAI and Anthropic Sonnet: 1,024)."""
    ladder: dict[Tier, str] = field(default_factory=lambda: dict(DEFAULT_LADDER))
    ladder_origin: dict[Tier, str] = field(default_factory=dict)
    api_model: str = DEFAULT_API_MODEL
    local_model: str | None = None
    """Local model for local-versus-API; None picks one from the ledger."""
    runaway_factor: float = 3.0
    runaway_min_calls: int = 20
    loop_gap_seconds: float = 120.0
    loop_min_repeats: int = 5
    loop_cap: int = 2
    burst_min_calls: int = 30
    examples: int = 5

    @classmethod
    def from_config(cls, config: Config) -> AdvisorSettings:
        section = config.section("advisor")
        routing = section.table("routing")
        ladder: dict[Tier, str] = {}
        origin: dict[Tier, str] = {}
        for tier in TIERS:
            named = routing.string(tier)
            ladder[tier] = named or DEFAULT_LADDER[tier]
            origin[tier] = "config" if named else "default"
        base = cls()
        return cls(
            system_prompt_target_tokens=_int(
                section, "system_prompt_target_tokens", base.system_prompt_target_tokens
            ),
            cache_ttl_seconds=_positive(
                section, "cache_ttl_seconds", base.cache_ttl_seconds
            ),
            semantic_threshold=_cosine(section, "semantic_threshold"),
            borderline_margin=_float(
                section, "borderline_margin", base.borderline_margin
            ),
            provider_cache_ttl_seconds=_positive(
                section, "provider_cache_ttl_seconds", base.provider_cache_ttl_seconds
            ),
            min_cacheable_tokens=_int(
                section, "min_cacheable_tokens", base.min_cacheable_tokens
            ),
            ladder=ladder,
            ladder_origin=origin,
            api_model=section.string("api_model")
            or config.section("audit").string("compare_api")
            or DEFAULT_API_MODEL,
            local_model=section.string("local_model"),
            runaway_factor=_float(section, "runaway_factor", base.runaway_factor),
            runaway_min_calls=_int(
                section, "runaway_min_calls", base.runaway_min_calls
            ),
            loop_gap_seconds=_positive(
                section, "loop_gap_seconds", base.loop_gap_seconds
            ),
            loop_min_repeats=_int(section, "loop_min_repeats", base.loop_min_repeats),
            loop_cap=_int(section, "loop_cap", base.loop_cap),
            burst_min_calls=_int(section, "burst_min_calls", base.burst_min_calls),
            examples=_int(section, "examples", base.examples),
        )


def _int(section: Section, key: str, default: int) -> int:
    value = section.integer(key, default)
    return default if value is None else value


def _float(section: Section, key: str, default: float) -> float:
    value = section.number(key, default)
    return default if value is None else value


def _positive(section: Section, key: str, default: float) -> float:
    value = _float(section, key, default)
    if value <= 0:
        raise section._fail(key, "a positive number", value)
    return value


def _cosine(section: Section, key: str) -> float:
    value = _float(section, key, DEFAULT_THRESHOLD)
    if value > 1:
        raise section._fail(key, "a cosine similarity between 0 and 1", value)
    return value
