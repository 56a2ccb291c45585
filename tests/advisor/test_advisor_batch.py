from datetime import UTC, datetime

from costaudit.analysis.advisor import batch
from costaudit.analysis.advisor.batch import ALREADY_CHEAPEST, NEITHER
from tests.advisor.scenarios import Recorder, Scenario


def test_scheduled_work_batched_or_shifted(
    scenario: Scenario, record: Recorder
) -> None:
    evening = datetime(2025, 3, 3, 20, 0, tzinfo=UTC)
    scenario.write(
        [
            record("Daily report", platform="cron", cron_job_id="a"),
            record("Daily report", platform="cron", model="deepseek-chat",
                   provider="deepseek", input_tokens=1_000, cache_read_tokens=500),
            record("Daily report", platform="cron", model="deepseek-chat",
                   provider="deepseek", at=evening),
            record("Daily report", platform="cron", model="mistral-large-latest",
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
