from decimal import Decimal

from costaudit.analysis.advisor import exact_cache
from costaudit.analysis.advisor.model import Confidence, finish
from tests.advisor.scenarios import T0, Recorder, Scenario, hours


def test_n_identical_prompts_give_n_minus_one_hits(
    scenario: Scenario, record: Recorder
) -> None:
    records = [
        record("Give me a recipe for pancakes", at=T0 + hours(i)) for i in range(5)
    ]
    scenario.write(records)
    facts = scenario.facts()
    draft = exact_cache.analyse(facts)

    assert draft.evidence["lookups"] == 5
    assert draft.evidence["hits"] == 4
    # The first request is a miss that fills the cache; the four others
    # would have cost nothing: 100 in x $0.40 + 20 out x $1.60 per MTok each.
    each = Decimal(100) * Decimal("0.4") / 10**6 + Decimal(20) * Decimal("1.6") / 10**6
    rows = facts.history.rows
    assert sorted(draft.projected) == [r.index for r in rows[1:]]
    assert all(v == 0 for v in draft.projected.values())
    assert sum(r.cost for r in rows[1:] if r.cost) == 4 * each
    assert draft.confidence is Confidence.HIGH


def test_time_dependent_cron_prompt_gives_no_hit(
    scenario: Scenario, record: Recorder
) -> None:
    records = [
        record(
            "Summarise today's top headlines",
            at=T0 + hours(i),
            platform="cron",
            cron_job_id="job1",
        )
        for i in range(4)
    ]
    scenario.write(records)
    draft = exact_cache.analyse(scenario.facts())

    assert draft.evidence["hits"] == 0
    assert draft.projected == {}
    assert draft.evidence["not_cacheable_repeats"] == 3
    reasons = draft.evidence["not_cacheable"][0]["reasons"]
    assert "runs on a schedule" in reasons
    assert any("today" in reason for reason in reasons)


def test_repeated_question_about_the_present_is_not_cached(
    scenario: Scenario, record: Recorder
) -> None:
    scenario.write([record("What's the weather in Paris right now?") for _ in range(3)])
    draft = exact_cache.analyse(scenario.facts())
    assert draft.evidence["hits"] == 0
    assert draft.evidence["not_cacheable"][0]["repeats"] == 2


def test_answer_expires_after_the_ttl(scenario: Scenario, record: Recorder) -> None:
    records = [
        record("Give me a recipe for pancakes", at=T0 + hours(i)) for i in (0, 30)
    ]
    scenario.write(records, "[advisor]\ncache_ttl_seconds = 86400\n")
    draft = exact_cache.analyse(scenario.facts())
    assert draft.evidence["hits"] == 0
    assert draft.evidence["expired_misses"] == 1


def test_different_model_or_system_prompt_is_another_key(
    scenario: Scenario, record: Recorder
) -> None:
    prompt = "Give me a recipe for pancakes"
    scenario.write(
        [
            record(prompt),
            record(prompt, model="gpt-4.1"),
            record(prompt, system_prompt="You are a pirate."),
        ]
    )
    assert exact_cache.analyse(scenario.facts()).evidence["hits"] == 0


def test_a_hit_on_a_multi_call_session_saves_its_first_call(
    scenario: Scenario, record: Recorder
) -> None:
    prompt = "Give me a recipe for pancakes"
    scenario.write([record(prompt), record(prompt, at=T0 + hours(1), calls=4)])
    facts = scenario.facts()
    draft = exact_cache.analyse(facts)
    second = facts.history.rows[1]
    assert second.cost is not None
    assert draft.projected[second.index] == second.cost - second.cost / 4
    assert draft.evidence["multi_call_hits"] == 1
    (repeat,) = draft.evidence["repeated_prompts"]
    assert (repeat["calls_answered"], repeat["calls_of_hit_records"]) == (1, 4)
    assert repeat["cost_of_hit_records_usd"] == second.cost
    assert repeat["savings_usd"] == second.cost / 4


def test_applies_to_counts_the_calls_a_cache_answers(
    scenario: Scenario, record: Recorder
) -> None:
    """Three sessions of four calls repeat a prompt: the cache answers the
    first call of two of them, so it applies to 2 calls, not 8."""
    prompt = "Give me a recipe for pancakes"
    scenario.write([record(prompt, calls=4, at=T0 + hours(i)) for i in range(3)])
    facts = scenario.facts()
    strategy = finish(
        facts.history, exact_cache.ID, exact_cache.TITLE, exact_cache.GROUP,
        exact_cache.analyse(facts),
    )  # fmt: skip
    assert strategy.applies_to["calls"] == 2
    assert strategy.applies_to["tasks"][0]["calls"] == 2
    assert strategy.draft.confidence_why.startswith("2 of the 2 hits start multi-call")


def test_the_date_in_the_system_prompt_does_not_split_the_cache(
    scenario: Scenario, record: Recorder
) -> None:
    """Hermes ends its system prompt with the day the conversation started.
    Masked, the same question asked on three days hits twice; keyed on the
    prompt as sent, it would never hit, and the report says so."""
    prompt = "Give me a recipe for pancakes"
    days = ["Monday, March 03, 2025", "Tuesday, March 04, 2025",
            "Wednesday, March 05, 2025"]  # fmt: skip
    scenario.write(
        [record(prompt, at=T0 + hours(24 * i),
                system_prompt=f"You are Hermes.\n\nConversation started: {day}")
         for i, day in enumerate(days)]
    )  # fmt: skip
    draft = exact_cache.analyse(scenario.facts())

    assert draft.evidence["hits"] == 2
    dates = draft.evidence["system_prompt_dates"]
    assert dates["records_with_masked_lines"] == 3
    assert dates["masked_lines"][0] == "Conversation started: Monday, March 03, 2025"
    assert (dates["system_prompts_as_sent"], dates["system_prompts_masked"]) == (3, 1)
    assert dates["hits_keyed_on_prompt_as_sent"] == 0
    assert dates["savings_keyed_on_prompt_as_sent_usd"] == 0
    assert any(c.startswith("the system prompt carries the date") for c in draft.change)
    assert any("masks the date" in a for a in draft.assumptions)


def test_a_prompt_about_the_workspace_is_not_cached(
    scenario: Scenario, record: Recorder
) -> None:
    prompt = "Review the staged changes and point out anything risky."
    scenario.write([record(prompt, at=T0 + hours(i)) for i in range(3)])
    draft = exact_cache.analyse(scenario.facts())
    assert draft.evidence["hits"] == 0
    assert "(workspace)" in draft.evidence["not_cacheable"][0]["reasons"][0]


def test_side_calls_and_unpriced_records_are_not_looked_up(
    scenario: Scenario, record: Recorder
) -> None:
    prompt = "Give me a recipe for pancakes"
    scenario.write(
        [
            record(prompt, call_kind="title_generation"),
            record(prompt, call_kind="title_generation"),
            record(prompt, model="no-such-model", provider="nowhere"),
            record(prompt, model="no-such-model", provider="nowhere"),
        ]
    )
    draft = exact_cache.analyse(scenario.facts())
    assert draft.evidence["lookups"] == 0
