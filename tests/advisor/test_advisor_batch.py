from datetime import UTC, datetime, timedelta

import pytest

from costaudit.analysis.advisor import batch
from costaudit.analysis.advisor.batch import (
    ALREADY_CHEAPEST,
    MULTI_TURN,
    NEITHER,
    judge_timing,
)
from tests.advisor.scenarios import T0, Recorder, Scenario

DAY = 86_400.0


def test_batch_platform_work_batched_or_shifted(
    scenario: Scenario, record: Recorder
) -> None:
    evening = datetime(2025, 3, 3, 20, 0, tzinfo=UTC)
    scenario.write(
        [
            record("Daily report", platform="batch"),
            record("Daily report", platform="batch", model="deepseek-chat",
                   provider="deepseek", input_tokens=1_000, cache_read_tokens=500),
            record("Daily report", platform="batch", model="deepseek-chat",
                   provider="deepseek", at=evening),
            record("Daily report", platform="batch", model="mistral-large-latest",
                   provider="mistral"),
            record("Hi there"),
        ]
    )  # fmt: skip
    facts = scenario.facts()
    openai, peak, _evening, _mistral, _chat = facts.history.rows
    draft = batch.analyse(facts)

    assert openai.cost is not None and peak.cost is not None
    # OpenAI's batch API: half price.
    assert draft.projected[openai.index] == openai.cost / 2
    # DeepSeek's off-peak list prices are half its peak ones, on every kind
    # of token: $0.135 / $0.035 / $0.55 against $0.27 / $0.07 / $1.10.
    assert draft.projected[peak.index] == peak.cost / 2
    assert set(draft.projected) == {openai.index, peak.index}
    options = {o["how"]: o for o in draft.evidence["options"]}
    assert options["off-peak from 16:30 UTC"]["provider"] == "deepseek"
    assert options["batch API"]["provider"] == "openai"
    notes = {(n["provider"], n["note"]) for n in draft.evidence["not_moved"]}
    assert notes == {("deepseek", ALREADY_CHEAPEST), ("mistral", NEITHER)}


def test_cron_job_at_varying_times_is_batched(
    scenario: Scenario, record: Recorder
) -> None:
    runs = [T0 + timedelta(days=d, hours=3 * d) for d in range(4)]
    scenario.write(
        [record("Summarise the changelog", platform="cron", cron_job_id="j1",
                task="changelog", at=at) for at in runs]
    )  # fmt: skip
    facts = scenario.facts()
    draft = batch.analyse(facts)

    for row in facts.history.rows:
        assert row.cost is not None
        assert draft.projected[row.index] == row.cost / 2
    jobs = draft.evidence["jobs"]
    assert [(j["job"], j["runs"], j["can_wait"]) for j in jobs] == [
        ("changelog", 4, True)
    ]


def test_multi_turn_sessions_are_not_sent_to_a_batch_api(
    scenario: Scenario, record: Recorder
) -> None:
    runs = [T0 + timedelta(days=d, hours=3 * d) for d in range(3)]
    scenario.write(
        [record("Triage the inbox", platform="cron", cron_job_id="j2",
                task="triage", at=at, calls=4) for at in runs]
    )  # fmt: skip
    draft = batch.analyse(scenario.facts())

    assert draft.projected == {}
    notes = {n["note"] for n in draft.evidence["not_moved"]}
    assert notes == {MULTI_TURN}


@pytest.mark.parametrize(
    ("starts", "prompt", "movable", "firm", "why"),
    [
        ([0.0], "Check the build", False, True, "ran once"),
        ([0.0, 3600.0, 7200.0], "Check the build", False, True, "every 1.0 h"),
        ([0.0, DAY, 2 * DAY], "Plan my morning", False, True, "'morning'"),
        ([0.0, DAY + 600, 2 * DAY - 300], "Check the build", True, False, "00:00"),
        ([0.0, DAY + 5 * 3600, 2 * DAY + 11 * 3600], "Check the build",
         True, True, "varying times"),
    ],
)  # fmt: skip
def test_judge_timing(
    starts: list[float], prompt: str, movable: bool, firm: bool, why: str
) -> None:
    timing = judge_timing(starts, prompt)
    assert (timing.movable, timing.firm) == (movable, firm)
    assert why in timing.why
