from datetime import timedelta
from decimal import Decimal

from costaudit.analysis.advisor import rate_limit
from tests.advisor.scenarios import T0, Recorder, Scenario, call_event, hours


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


def test_burst_projects_a_per_minute_cap(scenario: Scenario, record: Recorder) -> None:
    """20 quiet sessions of one call, then 40 calls logged in one minute: a
    cap of 29 calls a minute (just under 30) refuses 11 of them."""
    quiet = [record(f"question {i}", at=T0 + hours(i)) for i in range(20)]
    start = T0 + hours(20)
    burst = record("sync everything", session="busy", calls=40,
                   input_tokens=40_000, at=start)  # fmt: skip
    events = [
        call_event("busy", start + timedelta(seconds=i), 1_000 + 100 * i)
        for i in range(40)
    ]
    # Runaway caps would claim the session first; here only the burst counts.
    scenario.write([*quiet, burst], "[advisor]\nrunaway_min_calls = 1000\n", events)
    facts = scenario.facts()
    draft = rate_limit.analyse(facts)

    row = facts.history.rows[-1]
    assert row.cost is not None
    assert draft.projected == {row.index: row.cost - row.cost * 11 / 40}
    (found,) = draft.evidence["bursts"]
    assert (found["calls"], found["cap_calls_per_minute"], found["refused_calls"]) == (
        40, 29, 11,
    )  # fmt: skip
    assert draft.confidence_why.startswith("a per-minute cap saves only")


def test_a_record_without_logged_times_is_spread_over_its_span(
    scenario: Scenario, record: Recorder
) -> None:
    """40 calls over 40 minutes are no burst, though they share a record."""
    quiet = [record(f"question {i}", at=T0 + hours(i)) for i in range(20)]
    start = T0 + hours(20)
    long = record(
        "long job", calls=40, at=start, ended_at=start + timedelta(minutes=40)
    )
    scenario.write([*quiet, long], "[advisor]\nrunaway_min_calls = 1000\n")
    draft = rate_limit.analyse(scenario.facts())
    assert draft.evidence["bursts"] == []
    assert draft.projected == {}


def test_identical_calls_inside_a_session(scenario: Scenario, record: Recorder) -> None:
    """Five calls in a row with the same 2,000-token prompt: the same
    request sent again. Keeping two saves the other three, each priced
    from its own tokens."""
    start = T0 + hours(1)
    sizes = [1_000, 1_500, 2_000, 2_000, 2_000, 2_000, 2_000, 2_500]
    events = [
        call_event("s-loop", start + timedelta(seconds=10 * i), size)
        for i, size in enumerate(sizes)
    ]
    looping = record(
        "fix the flaky test", session="s-loop", calls=8,
        input_tokens=sum(sizes), output_tokens=8 * 50, at=start,
    )  # fmt: skip
    scenario.write([looping], "", events)
    facts = scenario.facts()
    draft = rate_limit.analyse(facts)

    # 3 x (2,000 x $0.40 + 50 x $1.60) per MTok on gpt-4.1-mini.
    saved = 3 * (2_000 * Decimal("0.4") + 50 * Decimal("1.6")) / Decimal(1_000_000)
    (row,) = facts.history.rows
    assert row.cost is not None
    assert abs(row.cost - draft.projected[row.index] - saved) < Decimal("1e-12")
    (found,) = draft.evidence["repeated_calls"]
    assert (found["identical_calls"], found["prompt_tokens"]) == (5, 2_000)
