import pytest

from costaudit.analysis.advisor import semantic_cache
from costaudit.analysis.advisor.model import Confidence
from costaudit.strategies.embeddings import Embedder, EmbeddingModelError
from tests.advisor.scenarios import T0, FakeEmbedder, Recorder, Scenario, hours

PANCAKES = "Give me a recipe for pancakes"
PANCAKES_AGAIN = "Share a pancake recipe please"
FIVE_KM = "Convert 5 km to miles"
EIGHT_KM = "Convert 8 km to miles"


def test_paraphrase_hits_and_guarded_pair_misses(
    scenario: Scenario, record: Recorder
) -> None:
    texts = [PANCAKES, PANCAKES_AGAIN, PANCAKES, FIVE_KM, EIGHT_KM]
    scenario.write([record(t, at=T0 + hours(i)) for i, t in enumerate(texts)])
    facts = scenario.facts()
    embedder = FakeEmbedder([[PANCAKES, PANCAKES_AGAIN], [FIVE_KM, EIGHT_KM]])
    draft = semantic_cache.analyse(facts, lambda: embedder)

    evidence = draft.evidence
    assert evidence["lookups"] == 5
    assert evidence["exact_hits"] == 1
    assert evidence["paraphrase_hits"] == 1
    assert evidence["vetoed_by_guards"] == 1
    rows = facts.history.rows
    assert sorted(draft.projected) == [rows[1].index, rows[2].index]
    vetoed = evidence["vetoed_pairs"]
    assert vetoed[0]["prompt"] == EIGHT_KM
    assert "numbers" in vetoed[0]["verdict"]
    # One batch of the distinct prompts, nothing embedded during the replay.
    assert embedder.calls == 1


def test_borderline_hits_are_listed_as_possible_wrong_answers(
    scenario: Scenario, record: Recorder
) -> None:
    scenario.write([record(PANCAKES), record(PANCAKES_AGAIN, at=T0 + hours(1))])
    facts = scenario.facts()
    # tilt 0.55 puts the paraphrase at cosine 1/sqrt(1 + 0.55^2) = 0.876.
    embedder = FakeEmbedder([[PANCAKES, PANCAKES_AGAIN]], tilt=0.55)
    draft = semantic_cache.analyse(facts, lambda: embedder)

    assert draft.evidence["paraphrase_hits"] == 1
    assert draft.evidence["possible_wrong_hits"] == 1
    (pair,) = draft.evidence["hits_nearest_threshold"]
    assert pair["similarity"] == pytest.approx(0.876, abs=1e-3)
    assert pair["cached_prompt"] == PANCAKES


def test_volatile_prompts_are_not_replayed(
    scenario: Scenario, record: Recorder
) -> None:
    prompt = "What's the weather in Paris right now?"
    scenario.write([record(prompt, at=T0 + hours(i)) for i in range(3)])
    draft = semantic_cache.analyse(scenario.facts(), FakeEmbedder)
    assert draft.evidence["lookups"] == 0
    assert draft.projected == {}


def test_missing_model_is_reported_not_raised(
    scenario: Scenario, record: Recorder
) -> None:
    scenario.write([record(PANCAKES), record(PANCAKES)])

    def missing() -> Embedder:
        raise EmbeddingModelError("the package 'onnxruntime' is not installed")

    draft = semantic_cache.analyse(scenario.facts(), missing)
    assert draft.confidence is Confidence.NONE
    assert draft.projected == {}
    assert "pip install --force-reinstall costaudit" in draft.change[0]
    assert "onnxruntime" in draft.evidence["unavailable"]


def test_real_model_finds_a_paraphrase(scenario: Scenario, record: Recorder) -> None:
    from costaudit.strategies.embeddings import MiniLMEmbedder

    scenario.write(
        [
            record("How do I convert kilometres to miles?"),
            record("How can I convert kilometers into miles?", at=T0 + hours(1)),
            record("Write a haiku about the sea", at=T0 + hours(2)),
        ]
    )
    draft = semantic_cache.analyse(scenario.facts(), MiniLMEmbedder)
    assert draft.evidence["paraphrase_hits"] == 1
    assert draft.evidence["embedding_model"] == "all-MiniLM-L6-v2-onnx-int8"


def test_answers_expire_after_the_ttl(scenario: Scenario, record: Recorder) -> None:
    scenario.write(
        [record(PANCAKES), record(PANCAKES_AGAIN, at=T0 + hours(30)),
         record(PANCAKES_AGAIN, at=T0 + hours(31))],
        "[advisor]\ncache_ttl_seconds = 86400\n",
    )  # fmt: skip
    embedder = FakeEmbedder([[PANCAKES, PANCAKES_AGAIN]])
    draft = semantic_cache.analyse(scenario.facts(), lambda: embedder)
    # 30 h after the first prompt its answer has expired; the paraphrase
    # is stored then and its repeat an hour later is a hit.
    assert draft.evidence["paraphrase_hits"] == 0
    assert draft.evidence["exact_hits"] == 1
