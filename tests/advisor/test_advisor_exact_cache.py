from decimal import Decimal

from costaudit.analysis.advisor import exact_cache
from costaudit.analysis.advisor.model import Confidence
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
