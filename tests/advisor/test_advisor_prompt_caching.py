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

    # The repeated prefix is the smallest prompt a call sent (the warm
    # record's, system prompt and 50 tokens of tools). Calls 2 to 5 could
    # have read it at $0.10 instead of $0.40 per MTok; OpenAI charges no
    # premium to write it.
    prefix = size + 50
    assert first.cost is not None and warm.cost is not None
    saved = first.cost - draft.projected[first.index]
    assert saved == 4 * prefix * Decimal("0.3") / MTOK
    assert warm.cost - draft.projected[warm.index] == prefix * Decimal("0.3") / MTOK
    assert cached.index not in draft.projected
    (found,) = draft.evidence["repeated_prefix_not_read"]
    assert (found["provider"], found["records"], found["tokens_readable"]) == (
        "openai", 2, 5 * prefix,
    )  # fmt: skip
    assert found["prefix_tokens"] == prefix


def test_tool_schemas_count_in_the_prefix(scenario: Scenario, record: Recorder) -> None:
    """A system prompt under the cacheable minimum, sent with 3,000 tokens of
    tool schemas on every call: the prefix is cacheable after all."""
    short = "You are brief."
    scenario.write(
        [record(system_prompt=short, calls=4, input_tokens=4 * 3_200),
         record(system_prompt=short, calls=2, input_tokens=2 * 3_400,
                at=T0 + timedelta(hours=3))]
    )  # fmt: skip
    facts = scenario.facts()
    draft = prompt_caching.analyse(facts)
    first, _second = facts.history.rows

    assert first.cost is not None
    assert first.cost - draft.projected[first.index] == (
        3 * 3_200 * Decimal("0.3") / MTOK
    )
    (found,) = draft.evidence["repeated_prefix_not_read"]
    assert found["prefix_tokens"] == 3_200
    assert "smallest prompt per call" in found["prefix_from"]


def test_explain_lists_what_was_skipped_and_why(
    scenario: Scenario, record: Recorder
) -> None:
    scenario.write(
        [record(system_prompt=SYSTEM, calls=3, input_tokens=6_000,
                cache_read_tokens=3_000),
         record(model="qwen2.5-3b-instruct", provider="local",
                endpoint="http://127.0.0.1:8080/v1", calls=2),
         record(call_kind="title_generation"),
         record(system_prompt="Be brief.", input_tokens=300,
                at=T0 + timedelta(hours=1))]
    )  # fmt: skip
    draft = prompt_caching.analyse(scenario.facts())

    assert draft.projected == {}
    assert draft.confidence_why.startswith("none of the 4 priced records")
    reasons = {s["reason"]: s["records"] for s in draft.evidence["skipped"]}
    assert reasons == {
        "reads the provider's cache already": 1,
        "a local model: no provider cache to use": 1,
        "a side call (title, compression, ...): it sends a prompt of its own, "
        "not the session's prefix": 1,
        "prefix under 1,024 tokens, which providers do not cache": 1,
    }
    assert draft.steps[0].startswith("examined 4 records")
    assert "  skipped 1 records (2 calls): a local model" in "\n".join(draft.steps)


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
