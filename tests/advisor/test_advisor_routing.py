from decimal import Decimal

from costaudit.analysis.advisor import model_routing
from tests.advisor.scenarios import Recorder, Scenario

MTOK = Decimal(1_000_000)
LADDER = """
[advisor.routing]
simple = "gpt-4.1-nano"
medium = "gpt-4.1-mini"
hard = "gpt-4.1-mini"
expert = "gpt-4.1"
"""
SIMPLE = "What is the capital of France?"
EXPERT = (
    "Prove by induction that $\\sum_{i=1}^n i = n(n+1)/2$, then design a "
    "distributed algorithm, compare the trade-offs step by step, analyse the "
    "root cause of its worst case and explain why.\n"
    "```python\ndef f(x):\n    return x\n```\n"
)


def usd(
    input_tokens: int, input_mtok: str, output_tokens: int, output_mtok: str
) -> Decimal:
    return (
        input_tokens * Decimal(input_mtok) + output_tokens * Decimal(output_mtok)
    ) / MTOK


def test_calls_move_down_to_their_tier_model(
    scenario: Scenario, record: Recorder
) -> None:
    scenario.write(
        [
            record(SIMPLE, model="gpt-4.1"),
            record(SIMPLE, model="gpt-4.1-mini"),
            record(SIMPLE, model="deepseek-chat", provider="deepseek"),
            record(EXPERT, model="gpt-4.1-nano", output_tokens=5_000, calls=60),
        ],
        LADDER,
    )
    facts = scenario.facts()
    rows = facts.history.rows
    difficulty = facts.difficulty(rows[3])
    assert difficulty is not None and difficulty.tier == "expert"
    draft = model_routing.analyse(facts)

    nano = usd(100, "0.1", 20, "0.4")
    assert nano == Decimal("0.000018")
    assert draft.projected == {0: nano, 1: nano, 2: nano}
    assert rows[0].cost == usd(100, "2", 20, "8")
    assert rows[1].cost == usd(100, "0.4", 20, "1.6")
    # DeepSeek at 08:00 UTC, its peak price.
    assert rows[2].cost == usd(100, "0.27", 20, "1.1")
    moves = {(m["from"], m["tier"]): m["savings_usd"] for m in draft.evidence["moves"]}
    assert moves[("gpt-4.1", "simple")] == Decimal("0.000342")
    assert moves[("gpt-4.1-mini", "simple")] == Decimal("0.000054")
    assert moves[("deepseek-chat", "simple")] == Decimal("0.000031")
    # The expert call on the cheapest model is never moved up.
    assert 3 not in draft.projected


def test_default_ladder_sends_simple_calls_to_the_local_model(
    scenario: Scenario, record: Recorder
) -> None:
    scenario.write([record(SIMPLE, model="gpt-4.1")])
    draft = model_routing.analyse(scenario.facts())
    # Energy model defaults: 65 W busy, 40 prompt and 8 generated tokens a
    # second, $0.30 per kWh: 100/40 + 20/8 = 5 s.
    energy = Decimal(65) * Decimal(5) / Decimal(3_600_000) * Decimal("0.30")
    assert draft.projected == {0: energy}
    ladder = {step["tier"]: step for step in draft.evidence["ladder"]}
    assert ladder["simple"]["costed_as"] == "qwen2.5-3b-instruct (local, energy model)"
    assert ladder["medium"]["costed_as"] == "deepseek-chat (deepseek)"


def test_main_calls_without_a_prompt_are_not_classified(
    scenario: Scenario, record: Recorder
) -> None:
    scenario.write([record(None, model="gpt-4.1", calls=7)], LADDER)
    draft = model_routing.analyse(scenario.facts())
    assert draft.projected == {}
    assert draft.evidence["unclassified_calls"] == 7


def test_side_calls_count_as_simple(scenario: Scenario, record: Recorder) -> None:
    scenario.write(
        [record(None, model="gpt-4.1", call_kind="title_generation")], LADDER
    )
    draft = model_routing.analyse(scenario.facts())
    assert draft.projected == {0: usd(100, "0.1", 20, "0.4")}
    assert draft.evidence["examples"][0]["prompt"] == "(title_generation)"
