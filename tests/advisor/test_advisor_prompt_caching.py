from datetime import timedelta
from decimal import Decimal

from costaudit.analysis.advisor import prompt_caching
from costaudit.strategies.tokens import count_tokens
from tests.advisor.scenarios import T0, Recorder, Scenario

MTOK = Decimal(1_000_000)
SYSTEM = "You are a careful assistant. Answer briefly and cite sources. " * 120


def test_repeated_system_prompt_never_read_from_cache(
    scenario: Scenario, record: Recorder
) -> None:
    size = count_tokens(SYSTEM, "gpt-4.1-mini").tokens
    scenario.write(
        [
            record(system_prompt=SYSTEM, calls=5, input_tokens=5 * size + 500),
            # A session of one call, 60 s after another with the same prompt:
            # its prefix is still in the provider's cache.
            record(system_prompt=SYSTEM, input_tokens=size + 50,
                   at=T0 + timedelta(seconds=60)),
            # Reads from the cache already: nothing to gain.
            record(system_prompt=SYSTEM, calls=5, input_tokens=size + 500,
                   cache_read_tokens=4 * size, at=T0 + timedelta(hours=2)),
        ]
    )  # fmt: skip
    facts = scenario.facts()
    draft = prompt_caching.analyse(facts)
    first, warm, cached = facts.history.rows

    # Calls 2 to 5 could have read the prefix at $0.10 instead of $0.40 per
    # MTok; OpenAI charges no premium to write it.
    assert first.cost is not None and warm.cost is not None
    assert first.cost - draft.projected[first.index] == 4 * size * Decimal("0.3") / MTOK
    assert warm.cost - draft.projected[warm.index] == size * Decimal("0.3") / MTOK
    assert cached.index not in draft.projected
    (found,) = draft.evidence["repeated_prefix_not_read"]
    assert (found["provider"], found["records"], found["tokens_readable"]) == (
        "openai", 2, 5 * size,
    )  # fmt: skip


def test_cache_writes_never_read(scenario: Scenario, record: Recorder) -> None:
    scenario.write(
        [
            record(model="claude-3-5-haiku-latest", provider="anthropic",
                   input_tokens=100, cache_write_tokens=2_000),
            # Written then read in the same session: the write paid off.
            record(model="claude-3-5-haiku-latest", provider="anthropic",
                   session="s9", input_tokens=100, cache_write_tokens=2_000,
                   cache_read_tokens=6_000, calls=4),
        ]
    )  # fmt: skip
    facts = scenario.facts()
    draft = prompt_caching.analyse(facts)
    wasted, used = facts.history.rows
    # Writes at $1.00 per MTok where plain input is $0.80.
    assert wasted.cost is not None
    assert wasted.cost - draft.projected[wasted.index] == Decimal("0.0004")
    assert used.index not in draft.projected
    assert draft.evidence["cache_writes_never_read"][0]["cache_write_tokens"] == 2_000
