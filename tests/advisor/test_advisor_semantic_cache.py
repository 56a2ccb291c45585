from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import pytest
from numpy.typing import NDArray

from costaudit.analysis.advisor import semantic_cache, semantic_writeup, wrong_hits
from costaudit.analysis.advisor.exact_cache import first_call_cost
from costaudit.analysis.advisor.model import Confidence, clip
from costaudit.analysis.advisor.wrong_hits import LabelledPair
from costaudit.strategies.embeddings import Embedder, EmbeddingModelError
from costaudit.strategies.semantic_cache import SemanticCache, namespace_for
from tests.advisor.scenarios import T0, FakeEmbedder, Recorder, Scenario, hours

PANCAKES = "Give me a recipe for pancakes"
PANCAKES_AGAIN = "Share a pancake recipe please"
FIVE_KM = "Convert 5 km to miles"
EIGHT_KM = "Convert 8 km to miles"
THRESHOLD = "[advisor]\nsemantic_threshold = 0.85\n"
# Three paraphrases and one trap that no guard can see (another noun): the
# cache accepts all four, so one accepted pair in four is wrong.
PAIRS = (
    LabelledPair("pick a red hat", "choose a red hat", True, "paraphrase"),
    LabelledPair("pick a blue cup", "choose a blue cup", True, "paraphrase"),
    LabelledPair("pick a green pen", "choose a green pen", True, "paraphrase"),
    LabelledPair("pick a green box", "pick a green bag", False, "topic"),
)
PAIR_GROUPS = [[p.cached, p.asked] for p in PAIRS]


class RecordingEmbedder(FakeEmbedder):
    """Keeps every text it was asked to embed."""

    def __init__(self, groups: Sequence[Sequence[str]] = (), tilt: float = 0.0):
        super().__init__(groups, tilt)
        self.texts: list[str] = []

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.texts += texts
        return super().embed(texts)


def test_paraphrase_hits_and_guarded_pair_misses(
    scenario: Scenario, record: Recorder
) -> None:
    texts = [PANCAKES, PANCAKES_AGAIN, PANCAKES, FIVE_KM, EIGHT_KM]
    scenario.write(
        [record(t, at=T0 + hours(i)) for i, t in enumerate(texts)], THRESHOLD
    )
    facts = scenario.facts()
    embedder = FakeEmbedder([[PANCAKES, PANCAKES_AGAIN], [FIVE_KM, EIGHT_KM]])
    draft = semantic_cache.analyse(facts, lambda: embedder, PAIRS[:3])

    evidence = draft.evidence
    # The repeat of PANCAKES is the exact cache's: it never reaches this one.
    assert evidence["exact_cache_hits_not_looked_up"] == 1
    assert evidence["lookups"] == 4
    assert (evidence["same_text_hits"], evidence["paraphrase_hits"]) == (0, 1)
    assert evidence["vetoed_by_guards"] == 1
    rows = facts.history.rows
    assert sorted(draft.projected) == [rows[1].index]
    assert draft.answered == {rows[1].index: 1}
    vetoed = evidence["vetoed_pairs"]
    assert vetoed[0]["prompt"] == EIGHT_KM
    assert "numbers" in vetoed[0]["verdict"]
    # One batch of the history's prompts, one of the labelled pairs.
    assert embedder.calls == 2


def test_wrong_hit_rate_is_measured_and_discounts_paraphrase_hits(
    scenario: Scenario, record: Recorder
) -> None:
    scenario.write(
        [record(PANCAKES), record(PANCAKES_AGAIN, at=T0 + hours(1))], THRESHOLD
    )
    facts = scenario.facts()
    embedder = FakeEmbedder([[PANCAKES, PANCAKES_AGAIN], *PAIR_GROUPS])
    draft = semantic_cache.analyse(facts, lambda: embedder, PAIRS)

    measured = draft.evidence["labelled_pairs"]
    assert (measured["accepted"], measured["wrong_hits"]) == (4, 1)
    assert measured["wrong_hit_rate"] == Decimal("0.25")
    assert measured["accepted_traps"][0]["prompt"] == "pick a green bag"
    second = facts.history.rows[1]
    full = first_call_cost(second)
    # A quarter of the hit is expected wrong, and a wrong hit saves nothing.
    assert second.cost is not None
    assert second.cost - draft.projected[second.index] == full - full * Decimal("0.25")
    assert draft.evidence["expected_wrong_hits"] == Decimal("0.25")
    assert draft.evidence["expected_wrong_hits_usd"] == full * Decimal("0.25")
    (pair,) = draft.evidence["hits_nearest_threshold"]
    assert (pair["calls"], pair["cost_usd"]) == (second.calls, second.cost)


def test_wilson_bound_is_above_the_rate() -> None:
    wrong = tuple(wrong_hits.WrongHit("a", "b", "number", 0.9) for _ in range(2))
    rate = wrong_hits.WrongHitRate(0.8, 50, 50, 38, wrong)
    assert rate.rate == Decimal(2) / Decimal(40)
    # Wilson, z = 1.96: (0.05 + z^2/80 + z sqrt(0.05 x 0.95 / 40 + z^2 / 6400))
    # / (1 + z^2 / 40) = 0.1650.
    assert rate.upper == Decimal("0.1650")
    assert rate.recall == Decimal("0.76")


def test_shipped_pairs_are_balanced_and_held_out() -> None:
    pairs = wrong_hits.labelled_pairs()
    assert len(pairs) >= 100
    assert sum(p.same for p in pairs) * 2 == len(pairs)
    kinds = {p.kind for p in pairs if not p.same}
    assert {"number", "entity", "reversal", "negation", "opposite", "topic"} <= kinds


def test_hits_near_the_threshold_are_listed(
    scenario: Scenario, record: Recorder
) -> None:
    scenario.write(
        [record(PANCAKES), record(PANCAKES_AGAIN, at=T0 + hours(1))], THRESHOLD
    )
    facts = scenario.facts()
    # tilt 0.55 puts the paraphrase at cosine 1/sqrt(1 + 0.55^2) = 0.876.
    embedder = FakeEmbedder([[PANCAKES, PANCAKES_AGAIN]], tilt=0.55)
    draft = semantic_cache.analyse(facts, lambda: embedder, PAIRS[:3])

    assert draft.evidence["paraphrase_hits"] == 1
    assert draft.evidence["hits_within_margin"] == 1
    (pair,) = draft.evidence["hits_nearest_threshold"]
    assert pair["similarity"] == pytest.approx(0.876, abs=1e-3)
    assert pair["cached_prompt"] == PANCAKES


def test_system_prompts_differing_by_date_share_a_namespace(
    scenario: Scenario, record: Recorder
) -> None:
    """Hermes writes the day into the system prompt: a paraphrase asked the
    next day is still compared, and the report says the masking made it."""

    def system(day: str) -> str:
        return f"You are Hermes.\n\nConversation started: {day}\nModel: gpt-4.1-mini"

    scenario.write(
        [record(PANCAKES, system_prompt=system("Monday, March 03, 2025")),
         record(PANCAKES_AGAIN, system_prompt=system("Tuesday, March 04, 2025"),
                at=T0 + hours(25))],
        THRESHOLD,
    )  # fmt: skip
    embedder = FakeEmbedder([[PANCAKES, PANCAKES_AGAIN]])
    draft = semantic_cache.analyse(scenario.facts(), lambda: embedder, PAIRS[:3])

    evidence = draft.evidence
    assert (evidence["namespaces"], evidence["namespaces_as_sent"]) == (1, 2)
    assert evidence["paraphrase_hits"] == 1
    assert evidence["hits_needing_masked_date"] == 1
    assert any("carries the date" in change for change in draft.change)


def test_prompts_alone_in_their_namespace_are_not_embedded(
    scenario: Scenario, record: Recorder
) -> None:
    scenario.write(
        [record(PANCAKES), record(PANCAKES_AGAIN, at=T0 + hours(1)),
         record(FIVE_KM, model="gpt-4.1", at=T0 + hours(2))],
        THRESHOLD,
    )  # fmt: skip
    embedder = RecordingEmbedder([[PANCAKES, PANCAKES_AGAIN]])
    draft = semantic_cache.analyse(scenario.facts(), lambda: embedder, PAIRS[:1])

    assert FIVE_KM not in embedder.texts
    assert {PANCAKES, PANCAKES_AGAIN} <= set(embedder.texts)
    assert draft.timings["not_embedded"] == 1
    assert draft.evidence["paraphrase_hits"] == 1


def test_volatile_prompts_are_not_replayed(
    scenario: Scenario, record: Recorder
) -> None:
    prompt = "What's the weather in Paris right now?"
    scenario.write([record(prompt, at=T0 + hours(i)) for i in range(3)])
    draft = semantic_cache.analyse(scenario.facts(), FakeEmbedder, PAIRS)
    assert draft.evidence["lookups"] == 0
    assert draft.projected == {}
    assert draft.confidence_why


def test_missing_model_is_reported_not_raised(
    scenario: Scenario, record: Recorder
) -> None:
    scenario.write([record(PANCAKES), record(PANCAKES)])

    def missing() -> Embedder:
        raise EmbeddingModelError("the package 'onnxruntime' is not installed")

    draft = semantic_cache.analyse(scenario.facts(), missing)
    assert draft.confidence is Confidence.NONE
    assert draft.confidence_why
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
    # The wrong-hit rate is measured on the shipped pairs with the real model.
    measured = draft.evidence["labelled_pairs"]
    assert measured["pairs"] == len(wrong_hits.labelled_pairs())
    assert measured["accepted"] > 0 and measured["wrong_hit_rate"] is not None


def test_answers_expire_after_the_ttl(scenario: Scenario, record: Recorder) -> None:
    scenario.write(
        [record(PANCAKES), record(PANCAKES_AGAIN, at=T0 + hours(30)),
         record(PANCAKES_AGAIN, at=T0 + hours(31))],
        "[advisor]\ncache_ttl_seconds = 86400\n",
    )  # fmt: skip
    embedder = FakeEmbedder([[PANCAKES, PANCAKES_AGAIN]])
    draft = semantic_cache.analyse(scenario.facts(), lambda: embedder, PAIRS[:3])
    # 30 h after the first prompt its answer has expired; the paraphrase is
    # stored then, and its repeat an hour later is the exact cache's hit.
    assert draft.evidence["paraphrase_hits"] == 0
    assert draft.evidence["exact_cache_hits_not_looked_up"] == 1
    assert draft.projected == {}


NAME = "Suggest a name for my new bakery"
TAGLINE = "Suggest a tagline for my new bakery"
BRAND = "Give me ideas to brand my new bakery"


def between_two_answers() -> FakeEmbedder:
    """NAME and TAGLINE at cosine 0.5, BRAND halfway: 0.866 from each."""
    embedder = FakeEmbedder()
    name, tagline = np.zeros(64, np.float32), np.zeros(64, np.float32)
    name[0] = 1.0
    tagline[:2] = 0.5, np.sqrt(0.75)
    embedder.vectors = {
        NAME: name,
        TAGLINE: tagline,
        BRAND: (name + tagline) / np.linalg.norm(name + tagline),
    }
    return embedder


@pytest.mark.parametrize("first_hour", [1, 15], ids=["one period", "two periods"])
def test_two_close_answers_are_ambiguous_across_periods(
    scenario: Scenario, record: Recorder, first_hour: int
) -> None:
    """The replay keeps one cache per day here; at 15 h after T0 (08:00) the
    first prompt is stored the day before the other two. Either way the
    lookup sees both stored prompts, as one live cache would, and two
    answers equally close make it ambiguous: a miss, not the nearer one."""
    at = [T0 + hours(first_hour + h) for h in (0, 2, 3)]
    scenario.write(
        [record(NAME, at=at[0]), record(TAGLINE, at=at[1]), record(BRAND, at=at[2])],
        "[advisor]\ncache_ttl_seconds = 86400\n",
    )
    assert (at[0].date() == at[1].date()) is (first_hour == 1)
    embedder = between_two_answers()
    draft = semantic_cache.analyse(scenario.facts(), lambda: embedder, PAIRS[:3])

    evidence = draft.evidence
    assert evidence["lookups"] == 3 and evidence["hits"] == 0
    (miss,) = [m for m in evidence["misses_nearest_threshold"] if m["prompt"] == BRAND]
    assert miss["similarity"] == pytest.approx(0.866, abs=1e-3)
    assert "ambiguous: a prompt with another answer is at 0.866" in miss["verdict"]
    assert draft.projected == {}


def test_periods_settle_like_one_live_cache() -> None:
    """The same prompts through the replay's per-period caches and through
    one cache give the same lookup, decided by the same rule."""
    embedder = between_two_answers()
    clock = {"now": 0.0}

    def make() -> SemanticCache[int]:
        return SemanticCache(embedder, ttl_seconds=100.0, clock=lambda: clock["now"])

    periods = semantic_cache._Periods(make, 100.0)
    live = make()
    vectors = {t: embedder.embed([t])[0] for t in (NAME, TAGLINE, BRAND)}
    for ref, (text, at) in enumerate([(NAME, 90.0), (TAGLINE, 110.0)]):
        clock["now"] = at
        periods.add(text, ref, "space", vectors[text], at)
        live.add(text, ref, namespace="space", vector=vectors[text])
    clock["now"] = 120.0
    pooled = periods.probe(BRAND, "space", vectors[BRAND], 120.0)
    single = live.probe(BRAND, namespace="space", vector=vectors[BRAND])
    assert pooled.match is None and single.match is None
    assert pooled.reason == single.reason
    assert "ambiguous" in pooled.reason


class WindowedEmbedder(FakeEmbedder):
    """Reads only the first ``max_tokens`` words of a text."""

    def __init__(self, groups: Sequence[Sequence[str]], max_tokens: int) -> None:
        super().__init__(groups)
        self.max_tokens = max_tokens

    def truncated(self, texts: Sequence[str]) -> list[bool]:
        return [len(t.split()) > self.max_tokens for t in texts]


def test_prompts_past_the_embedding_window_are_counted_apart(
    scenario: Scenario, record: Recorder
) -> None:
    poem = "Here is a poem: " + "roses are red and violets are blue. " * 4
    first, second = poem + "Give it a title.", poem + "Explain its rhyme scheme."
    scenario.write(
        [record(first), record(second, at=T0 + hours(1)),
         record(PANCAKES, at=T0 + hours(2)), record(PANCAKES_AGAIN, at=T0 + hours(3))],
        THRESHOLD,
    )  # fmt: skip
    # The two long prompts embed alike, as a model that stops reading early.
    embedder = WindowedEmbedder([[first, second], [PANCAKES, PANCAKES_AGAIN]], 16)
    draft = semantic_cache.analyse(scenario.facts(), lambda: embedder, PAIRS[:3])

    evidence = draft.evidence
    assert evidence["embedding_window_tokens"] == 16
    assert evidence["paraphrase_hits"] == 1
    assert (evidence["too_long_to_compare"], evidence["vetoed_by_guards"]) == (1, 0)
    (pair,) = evidence["too_long_pairs"]
    assert (pair["prompt"], pair["cached_prompt"]) == (clip(second), clip(first))
    assert pair["verdict"].startswith("length: too long to compare: both prompts")
    assert any("over 16 tokens" in step for step in draft.steps)
    assert any("over 16 tokens" in a for a in draft.assumptions)


def test_the_replay_namespace_is_the_gateway_namespace(
    scenario: Scenario, record: Recorder
) -> None:
    """The advisor computes each record's namespace with namespace_for on the
    system prompt as sent, as a gateway would."""
    monday = "You are Hermes.\n\nConversation started: Monday, March 03, 2025"
    scenario.write([record(PANCAKES, system_prompt=monday)])
    facts = scenario.facts()
    replay = semantic_writeup.Replay()
    (space,) = semantic_cache._namespaces(facts, list(facts.history.rows), replay)
    assert space == namespace_for("gpt-4.1-mini", monday)
    assert space != namespace_for("gpt-4.1-mini", monday, keep_volatile_lines=True)
