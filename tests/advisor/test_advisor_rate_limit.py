from datetime import timedelta

from costaudit.analysis.advisor import rate_limit
from tests.advisor.scenarios import T0, Recorder, Scenario, hours


def test_runaway_session_capped_at_the_task_p90(
    scenario: Scenario, record: Recorder
) -> None:
    usual = [
        record(f"research topic {i}", task="research", calls=4, at=T0 + hours(i))
        for i in range(10)
    ]
    runaway = record("research topic x", task="research", calls=100,
                     input_tokens=10_000, at=T0 + hours(11))  # fmt: skip
    scenario.write([*usual, runaway])
    facts = scenario.facts()
    draft = rate_limit.analyse(facts)

    row = facts.history.rows[-1]
    assert row.cost is not None
    # Median 4 calls; 100 > 3 x 4 and > 20; the usual sessions' p90 is 4.
    assert draft.projected == {row.index: row.cost * 4 / 100}
    (found,) = draft.evidence["runaway_sessions"]
    assert (found["task_median_calls"], found["cap_calls"]) == (4, 4)


def test_identical_requests_in_a_loop_keep_two(
    scenario: Scenario, record: Recorder
) -> None:
    loop = [
        record("retry the upload", at=T0 + timedelta(seconds=30 * i)) for i in range(6)
    ]
    scheduled = [
        record("retry the upload", platform="cron", at=T0 + timedelta(seconds=30 * i))
        for i in range(6)
    ]
    scenario.write([*loop, *scheduled])
    facts = scenario.facts()
    draft = rate_limit.analyse(facts)

    looped = [r for r in facts.history.rows if r.platform == "cli"]
    assert draft.projected == {r.index: 0 for r in looped[2:]}
    (found,) = draft.evidence["loops"]
    assert (found["repeats"], found["kept"], found["seconds"]) == (6, 2, 150)


def test_percentile_is_nearest_rank() -> None:
    assert rate_limit.nearest_rank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9
    assert rate_limit.nearest_rank([7], 0.9) == 7
