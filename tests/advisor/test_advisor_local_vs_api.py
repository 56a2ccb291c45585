from decimal import Decimal

from costaudit.analysis.advisor import local_vs_api
from costaudit.analysis.advisor.model import usd
from tests.advisor.scenarios import Recorder, Scenario

EXPERT = (
    "Prove by induction that $\\sum_{i=1}^n i = n(n+1)/2$, then design a "
    "distributed algorithm, compare the trade-offs step by step, analyse the "
    "root cause of its worst case and explain why."
)


def energy(prompt_tokens: int, prompt_tps: int, output_tokens: int) -> Decimal:
    seconds = Decimal(prompt_tokens) / prompt_tps + Decimal(output_tokens) / 8
    return Decimal(65) * seconds / Decimal(3_600_000) * Decimal("0.30")


def test_each_task_moves_where_it_costs_least(
    scenario: Scenario, record: Recorder
) -> None:
    local = {"model": "qwen2.5-3b-instruct", "provider": "local",
             "endpoint": "http://localhost:8080/v1"}  # fmt: skip
    scenario.write(
        [
            record("Give me a title for this chat", task="titles"),
            record(EXPERT, task="proofs", output_tokens=5_000, calls=60),
            record("Summarise this file", task="bulk", input_tokens=1_000_000,
                   output_tokens=100_000, **local),
        ],
        '[advisor]\napi_model = "gpt-4.1-nano"\n',
    )  # fmt: skip
    facts = scenario.facts()
    titles, proofs, bulk = facts.history.rows
    draft = local_vs_api.analyse(facts)

    assert draft.projected[titles.index] == energy(100, 40, 20)
    assert proofs.index not in draft.projected
    # Energy-model defaults: 40 prompt and 8 generated tokens a second.
    # The bulk task's electricity costs more than gpt-4.1-nano's $0.10 in
    # and $0.40 out per MTok.
    assert bulk.cost == energy(1_000_000, 40, 100_000)
    assert draft.projected[bulk.index] == Decimal("0.14")
    moves = {(t["task"], t["move"]) for t in draft.evidence["tasks"]}
    assert moves == {("titles", "to local"), ("proofs", None), ("bulk", "to API")}
    # Held back, with what the move would have saved for the user to weigh.
    assert proofs.cost is not None
    saves = usd(proofs.cost - energy(100, 40, 5_000))
    assert saves == "$0.004641"
    assert draft.evidence["held_back"] == [
        f"default/proofs: 60 hard or expert calls; it would save {saves}"
    ]
