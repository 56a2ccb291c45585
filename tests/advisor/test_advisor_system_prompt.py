from decimal import Decimal

from costaudit.analysis.advisor import system_prompt
from costaudit.strategies.tokens import count_tokens
from tests.advisor.scenarios import Recorder, Scenario

MTOK = Decimal(1_000_000)
LONG_PROMPT = "You are a careful assistant. Answer briefly and cite sources. " * 120


def test_trimmed_system_prompt_saving_is_exact(
    scenario: Scenario, record: Recorder
) -> None:
    size = count_tokens(LONG_PROMPT, "gpt-4.1-mini").tokens
    assert size > 1_000
    calls = 3
    prompt = size * calls + 300
    scenario.write(
        [
            # All input, no cache: each trimmed token saves $0.40 per MTok.
            record(system_prompt=LONG_PROMPT, calls=calls, input_tokens=prompt,
                   output_tokens=100),
            # A quarter read from cache ($0.10 per MTok), the rest input.
            record(system_prompt=LONG_PROMPT, calls=calls,
                   input_tokens=prompt - prompt // 4,
                   cache_read_tokens=prompt // 4, output_tokens=100),
        ],
        "[advisor]\nsystem_prompt_target_tokens = 1000\n",
    )  # fmt: skip
    facts = scenario.facts()
    draft = system_prompt.analyse(facts)

    removed = (size - 1_000) * calls
    first, second = facts.history.rows
    assert first.cost is not None and second.cost is not None
    assert first.cost - draft.projected[first.index] == removed * Decimal("0.4") / MTOK
    mix = (prompt - prompt // 4) * Decimal("0.4") + (prompt // 4) * Decimal("0.1")
    expected = removed * mix / prompt / MTOK
    saved = second.cost - draft.projected[second.index]
    assert abs(saved - expected) < Decimal("1e-15")

    (found,) = draft.evidence["profiles"]
    assert found["system_prompt_tokens"] == size
    assert found["tokenizer"] == "o200k_base, exact"
    assert found["system_prompt_tokens_sent"] == size * calls * 2
    assert found["tokens_removed"] == removed * 2


def test_prompt_under_the_target_saves_nothing(
    scenario: Scenario, record: Recorder
) -> None:
    scenario.write([record(system_prompt="Be brief.", calls=5)])
    draft = system_prompt.analyse(scenario.facts())
    assert draft.projected == {}
    assert draft.evidence["profiles"][0]["system_prompt_tokens"] == 3


def test_models_without_their_tokenizer_are_labelled_estimates(
    scenario: Scenario, record: Recorder
) -> None:
    scenario.write(
        [record(system_prompt=LONG_PROMPT, model="deepseek-chat",
                provider="deepseek", input_tokens=20_000)]
    )  # fmt: skip
    draft = system_prompt.analyse(scenario.facts())
    assert draft.evidence["profiles"][0]["tokenizer"] == "o200k_base, estimate"


def test_each_model_of_a_profile_keeps_its_own_tokenizer_label(
    scenario: Scenario, record: Recorder
) -> None:
    """One profile on two models: gpt-4.1-mini is counted exactly, and does
    not become an estimate because deepseek-chat of the same profile is."""
    scenario.write(
        [record(system_prompt=LONG_PROMPT, input_tokens=20_000),
         record(system_prompt=LONG_PROMPT, model="deepseek-chat",
                provider="deepseek", input_tokens=20_000)]
    )  # fmt: skip
    draft = system_prompt.analyse(scenario.facts())

    labels = {p["model"]: p["tokenizer"] for p in draft.evidence["profiles"]}
    assert labels == {
        "gpt-4.1-mini": "o200k_base, exact",
        "deepseek-chat": "o200k_base, estimate",
    }
    assert draft.confidence_why.startswith("1 of 2 profile and model pairs")
