from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from costaudit.analysis.advisor.combined import ORDER, combine
from costaudit.analysis.advisor.history import History, Row
from costaudit.analysis.advisor.model import Draft, finish
from costaudit.analysis.advisor.runner import AdviceOptions
from costaudit.analysis.window import Window
from costaudit.interfaces.html.markup import money
from costaudit.interfaces.html.plans import zero_steps
from tests.advisor.scenarios import T0, FakeEmbedder, Recorder, Scenario, hours

SYSTEM = "You are a careful assistant. Answer briefly and cite sources. " * 120
GROUPS = {"exact_cache": "cache", "semantic_cache": "cache", "model_routing": "venue",
          "local_vs_api": "venue", "batch": "venue"}  # fmt: skip


def _row(index: int, cost: Decimal) -> Row:
    return Row(index, "p", f"s{index}", "t", "main", "cli", "m", None, None, False,
               0.0, 1, 10, 0, 0, 5, "q", None, None, cost)  # fmt: skip


costs = st.lists(
    st.decimals(min_value=0, max_value=100, places=6), min_size=1, max_size=12
)
ratios = st.lists(
    st.decimals(min_value=0, max_value=3, places=3), min_size=12, max_size=12
)


@given(costs, st.lists(ratios, min_size=len(ORDER), max_size=len(ORDER)))
def test_combined_never_exceeds_spend(
    amounts: list[Decimal], per_strategy: list[list[Decimal]]
) -> None:
    rows = tuple(_row(i, c) for i, c in enumerate(amounts))
    history = History(rows, {}, 30, Window(ZoneInfo("UTC")))
    strategies = []
    for strategy_id, ratio in zip(ORDER, per_strategy, strict=True):
        draft = Draft({r.index: r.cost * ratio[r.index] for r in rows if r.cost})
        group = GROUPS.get(strategy_id)
        strategies.append(finish(history, strategy_id, strategy_id, group, draft))
    combined = combine(history, strategies)

    spend = sum(amounts, Decimal(0))
    assert combined.savings_usd <= spend
    assert combined.steps[-1]["residual_usd"] >= 0
    assert combined.savings_usd == spend - combined.steps[-1]["residual_usd"]


@given(costs, st.lists(ratios.map(lambda r: [min(x, Decimal(1)) for x in r]),
                       min_size=len(ORDER), max_size=len(ORDER)))  # fmt: skip
def test_savings_are_not_counted_twice(
    amounts: list[Decimal], per_strategy: list[list[Decimal]]
) -> None:
    rows = tuple(_row(i, c) for i, c in enumerate(amounts))
    history = History(rows, {}, 30, Window(ZoneInfo("UTC")))
    strategies = [
        finish(history, sid, sid, GROUPS.get(sid),
               Draft({r.index: r.cost * ratio[r.index] for r in rows if r.cost}))
        for sid, ratio in zip(ORDER, per_strategy, strict=True)
    ]  # fmt: skip
    combined = combine(history, strategies)
    assert 0 <= combined.savings_usd <= sum(s.savings_usd for s in strategies)


def test_strategies_on_the_same_calls_combine_below_spend(
    scenario: Scenario, record: Recorder
) -> None:
    prompt = "Give me a recipe for pancakes"
    scenario.write(
        [
            record(prompt, model="gpt-4.1", system_prompt=SYSTEM, calls=2,
                   input_tokens=8_000, at=T0 + hours(i))
            for i in range(5)
        ]
    )  # fmt: skip
    advice = scenario.advise(AdviceOptions(lambda: FakeEmbedder([[prompt]])))
    by_id = {s.id: s for s in advice.strategies}
    combined = advice.combined
    spend = advice.history.spend_usd

    assert by_id["exact_cache"].savings_usd > 0
    # The semantic cache sits behind the exact one: the four repeats are the
    # exact cache's saving, and it adds nothing to them.
    assert by_id["semantic_cache"].savings_usd == 0
    assert by_id["semantic_cache"].draft.evidence["exact_cache_hits_not_looked_up"] == 4
    steps = {step["id"]: step for step in combined.steps}
    assert steps["semantic_cache"]["savings_usd"] == 0
    assert 0 < combined.savings_usd < spend
    assert combined.savings_usd < sum(s.savings_usd for s in advice.strategies)


def test_monthly_figures_scale_by_days_in_window(
    scenario: Scenario, record: Recorder
) -> None:
    prompt = "Give me a recipe for pancakes"
    scenario.write([record(prompt), record(prompt, at=T0 + timedelta(days=13))],
                   "[advisor]\ncache_ttl_seconds = 2000000\n")  # fmt: skip
    advice = scenario.advise(AdviceOptions(only=("exact_cache",)))
    (strategy,) = advice.strategies
    assert advice.history.days == 14
    assert strategy.savings_usd == Decimal("0.000072")
    assert strategy.monthly_savings_usd == Decimal("0.000072") * Decimal("30.4375") / 14
    assert strategy.share == Decimal("0.5")
    assert "x 30.4375 / 14" in strategy.steps[-1]


def test_the_report_names_the_strategy_that_took_the_calls(
    scenario: Scenario, record: Recorder
) -> None:
    """Routing and moving a task both decide where a call runs: once routing
    has moved the titles, moving the task saves nothing more, and the HTML
    report says routing took those calls, reading each strategy's group."""
    scenario.write(
        [record(f"Give me a title for chat number {i}", task="titles",
                model="gpt-4.1", at=T0 + hours(i)) for i in range(6)]
    )  # fmt: skip
    document = scenario.advise().document()
    groups = {s["id"]: s["group"] for s in document["strategies"]}
    assert groups == {sid: GROUPS.get(sid) for sid in ORDER}
    alone = {s["id"]: s["monthly_savings_usd"] for s in document["strategies"]}
    combined = {
        s["id"]: s["monthly_savings_usd"] for s in document["combined"]["steps"]
    }
    assert alone["local_vs_api"] > 0 and combined["local_vs_api"] == 0
    assert combined["model_routing"] > 0

    listed = zero_steps(document)
    assert (
        "<b>Run each task where it costs least</b>: "
        f"{money(alone['local_vs_api'])} a month on its own, but Route easy calls "
        "to cheaper models, applied before it, already changed the same calls"
    ) in listed
