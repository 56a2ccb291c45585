"""Semantic cache: guards, cache logic with a fake embedder, and the real model.

The fake-embedder tests pin the cache's rules (namespaces, threshold, TTL,
guards, candidates). The real-model tests run all-MiniLM-L6-v2 over the
hand-labelled pairs in tests/data/paraphrase_pairs.json and hold precision
and recall to floors measured with it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from costaudit.strategies.embeddings import (
    MINILM,
    Embedder,
    EmbeddingModelError,
    MiniLMEmbedder,
)
from costaudit.strategies.guards import (
    DEFAULT_GUARDS,
    AntonymGuard,
    EntityGuard,
    NegationGuard,
    NumberGuard,
    OrderGuard,
    run_guards,
)
from costaudit.strategies.semantic_cache import (
    DEFAULT_THRESHOLD,
    SemanticCache,
    namespace_for,
)
from costaudit.strategies.vector_index import FaissIndex, NumpyIndex

PAIRS = Path(__file__).parent / "data" / "paraphrase_pairs.json"


class FakeEmbedder:
    """Vectors chosen by the test; unknown texts get a vector of their own."""

    name = "fake"
    dim = 4

    def __init__(self, vectors: Mapping[str, Sequence[float]] | None = None) -> None:
        self.vectors = {
            k: np.asarray(v, np.float32) for k, v in (vectors or {}).items()
        }
        self.calls = 0

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        self.calls += 1
        rows = [self._vector(t) for t in texts]
        out = np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out

    def _vector(self, text: str) -> NDArray[np.float32]:
        if text in self.vectors:
            return self.vectors[text]
        seed = sum(map(ord, text))
        return np.random.default_rng(seed).normal(size=self.dim).astype(np.float32)


def at_cosine(cos: float) -> list[float]:
    """A unit vector whose cosine with [1, 0, 0, 0] is ``cos``."""
    return [cos, float(np.sqrt(1 - cos**2)), 0.0, 0.0]


def fake_cache(
    vectors: Mapping[str, Sequence[float]], **kwargs: Any
) -> SemanticCache[str]:
    return SemanticCache(FakeEmbedder(vectors), index_factory=NumpyIndex, **kwargs)


# --------------------------------------------------------------------------
# guards


@pytest.mark.parametrize(
    ("query", "cached"),
    [
        ("convert 5 km to miles", "convert 8 km to miles"),
        ("What is 15% of 200?", "What is 20% of 200?"),
        ("Give me three tips", "Give me ten tips"),
        ("convert 5 km to miles", "convert 5 kg to pounds"),
        ("Schedule it for May 3", "Schedule it for June 3"),
        ("Book a table for two hundred guests", "Book a table for 300 guests"),
    ],
)
def test_number_guard_vetoes_other_quantities(query: str, cached: str) -> None:
    assert NumberGuard().check(query, cached) is not None


@pytest.mark.parametrize(
    ("query", "cached"),
    [
        ("Convert five kilometres to miles", "convert 5 km to miles"),
        ("What is three hundred and six plus 25?", "What is 306 plus twenty five?"),
        ("Which one is better?", "Which is better?"),
        ("May I ask a question?", "Can I ask a question?"),
        ("What is 15% of 200?", "Calculate 15 percent of 200."),
        ("Cheap hotels these days", "Cheap hotels nowadays"),
        ("What is this year's best phone?", "Best phone this year?"),
        ("What tasks suit ML?", "What tasks suit machine learning?"),
    ],
)
def test_number_guard_passes_same_quantities(query: str, cached: str) -> None:
    assert NumberGuard().check(query, cached) is None


def test_number_guard_says_which_numbers() -> None:
    assert NumberGuard().check("convert 5 km", "convert 8 km") == "numbers {5} vs {8}"


@pytest.mark.parametrize(
    ("query", "cached"),
    [
        ("What's the weather in Paris today?", "What's the weather in Lyon today?"),
        ("How do I use `useEffect`?", "How do I use `useMemo`?"),
        ("What does os.path.join do?", "What does os.path.split do?"),
        ("Deploy a Flask app to Heroku", "Deploy a Flask app to AWS"),
        ("Compare it to the Simpson Desert", "Compare it to the Great Basin Desert"),
    ],
)
def test_entity_guard_vetoes_other_names(query: str, cached: str) -> None:
    assert EntityGuard().check(query, cached) is not None


@pytest.mark.parametrize(
    ("query", "cached"),
    [
        ("How do I reverse a list in Python?", "python: reversing a list"),
        ("Is Donald Trump winning?", "Is Trump winning?"),
        ("Best Machine Learning course?", "Best ML course?"),
        ("Is the Myers Briggs test accurate?", "Is the Myers-Briggs test accurate?"),
        ("Furthermore, it loads data.", "It also loads data."),
        ("What is Australia's capital?", "Which city is the capital of Australia?"),
        ("Call `load_dataset()` twice", "Call load_dataset two times"),
    ],
)
def test_entity_guard_passes_same_names(query: str, cached: str) -> None:
    assert EntityGuard().check(query, cached) is None


@pytest.mark.parametrize(
    ("query", "cached"),
    [
        ("convert 5 km to miles", "convert 5 miles to km"),
        ("Is Rust faster than Go?", "Is Go faster than Rust?"),
        ("Is Python more popular than Java?", "Is Java more popular than Python?"),
        ("flights from London to Paris", "flights from Paris to London"),
        ("flights from London to Paris", "flights to London from Paris"),
        ("Does correlation imply causation?", "Does causation imply correlation?"),
    ],
)
def test_order_guard_vetoes_reversals(query: str, cached: str) -> None:
    assert OrderGuard().check(query, cached) is not None


@pytest.mark.parametrize(
    ("query", "cached"),
    [
        ("difference between TCP and UDP", "difference between UDP and TCP"),
        ("Python vs Java for beginners", "Java vs Python for beginners"),
        ("flights from London to Paris", "flights to Paris from London"),
        ("How do I start a business online?", "How do I start an online business?"),
        ("Is Rust faster than Go?", "Is Rust quicker than Go?"),
    ],
)
def test_order_guard_passes_symmetric_or_same_order(query: str, cached: str) -> None:
    assert OrderGuard().check(query, cached) is None


@pytest.mark.parametrize(
    ("query", "cached", "vetoed"),
    [
        ("Is coffee bad for you?", "Is coffee not bad for you?", True),
        ("Which foods contain gluten?", "Which foods don't contain gluten?", True),
        ("Why doesn't it work?", "Why does it not work?", False),
        ("No, it is deprecated.", "It is deprecated.", False),
        ("Is astrology true?", "Is astrology true or not?", False),
        ("It loads not only CSV but also JSON", "It loads CSV and JSON", False),
    ],
)
def test_negation_guard(query: str, cached: str, vetoed: bool) -> None:
    assert (NegationGuard().check(query, cached) is not None) is vetoed


@pytest.mark.parametrize(
    ("query", "cached", "vetoed"),
    [
        ("How do I increase the heap?", "How do I decrease the heap?", True),
        ("Sort in ascending order", "Sort in descending order", True),
        ("Enabling 2FA on GitHub", "How to disable 2FA on GitHub", True),
        ("Recover a disabled account", "Enable a disabled account", False),
        ("Pros and cons of remote work", "Advantages and disadvantages of it", False),
    ],
)
def test_antonym_guard(query: str, cached: str, vetoed: bool) -> None:
    assert (AntonymGuard().check(query, cached) is not None) is vetoed


def test_run_guards_reports_every_veto_with_its_guard() -> None:
    found = run_guards(DEFAULT_GUARDS, "Weather on Monday", "Weather on Friday")
    assert [r.guard for r in found] == ["numbers", "entities"]
    assert str(found[0]) == "numbers: dates {monday} vs {friday}"


def test_guards_pass_identical_text() -> None:
    text = "Convert 5 km to miles, not kg, for `os.path` in Paris before noon"
    assert run_guards(DEFAULT_GUARDS, text, text) == ()


# --------------------------------------------------------------------------
# cache logic, fake embedder


def test_fake_embedder_satisfies_protocol() -> None:
    assert isinstance(FakeEmbedder(), Embedder)


def test_hit_at_or_above_threshold_and_miss_below() -> None:
    vectors = {"cached": at_cosine(1.0), "near": at_cosine(0.9), "far": at_cosine(0.7)}
    cache = fake_cache(vectors, threshold=0.85, guards=())
    cache.add("cached", "answer-1", namespace="m")

    match = cache.lookup("near", namespace="m")
    assert match is not None
    assert match.answer_ref == "answer-1"
    assert match.similarity == pytest.approx(0.9, abs=1e-5)
    assert match.reason.startswith("similarity 0.900 >= 0.850")

    assert cache.lookup("far", namespace="m") is None


def test_miss_still_reports_nearest_similarity() -> None:
    cache = fake_cache({"cached": at_cosine(1.0), "q": at_cosine(0.8)}, guards=())
    cache.add("cached", "a", namespace="m")

    found = cache.probe("q", namespace="m")
    assert not found.hit
    assert found.best_similarity == pytest.approx(0.8, abs=1e-5)
    assert found.reason == f"nearest: similarity 0.800 < {DEFAULT_THRESHOLD:.3f}"


def test_namespaces_never_share_answers() -> None:
    cache = fake_cache({})
    cache.add("What is a monad?", "gpt-answer", namespace=namespace_for("gpt-4o"))

    assert cache.lookup("What is a monad?", namespace=namespace_for("claude")) is None
    match = cache.lookup("What is a monad?", namespace=namespace_for("gpt-4o"))
    assert match is not None and match.answer_ref == "gpt-answer"
    assert cache.namespaces() == ["gpt-4o"]


def test_namespace_for_separates_system_prompts() -> None:
    plain = namespace_for("gpt-4o")
    pirate = namespace_for("gpt-4o", "Talk like a pirate.")
    assert plain == "gpt-4o"
    assert pirate.startswith("gpt-4o#") and "pirate" not in pirate
    assert pirate == namespace_for("gpt-4o", "Talk like a pirate.")
    assert pirate != namespace_for("gpt-4o", "Be brief.")


def test_guard_veto_turns_a_close_match_into_a_miss() -> None:
    same = at_cosine(1.0)
    vectors = {"convert 5 km to miles": same, "convert 8 km to miles": same}
    cache = fake_cache(vectors)
    cache.add("convert 5 km to miles", "five", namespace="m")

    found = cache.probe("convert 8 km to miles", namespace="m")
    assert not found.hit
    assert found.best_similarity == pytest.approx(1.0)
    assert found.reason == "nearest: numbers: numbers {8} vs {5}"

    unguarded = fake_cache(vectors, guards=())
    unguarded.add("convert 5 km to miles", "five", namespace="m")
    assert unguarded.lookup("convert 8 km to miles", namespace="m") is not None


def test_next_candidate_serves_when_the_nearest_is_vetoed() -> None:
    vectors = {
        "convert 5 km to miles": at_cosine(0.99),
        "how many miles is 8 km": at_cosine(0.9),
        "convert 8 km to miles": at_cosine(1.0),
    }
    cache = fake_cache(vectors)
    cache.add("convert 5 km to miles", "five", namespace="m")
    cache.add("how many miles is 8 km", "eight", namespace="m")

    found = cache.probe("convert 8 km to miles", namespace="m")
    assert found.match is not None and found.match.answer_ref == "eight"
    assert [c.accepted for c in found.candidates] == [False, True]
    assert found.candidates[0].rejections[0].guard == "numbers"


def test_one_candidate_only_when_asked() -> None:
    vectors = {
        "convert 5 km to miles": at_cosine(0.99),
        "how many miles is 8 km": at_cosine(0.9),
        "convert 8 km to miles": at_cosine(1.0),
    }
    cache = fake_cache(vectors, candidates=1)
    cache.add("convert 5 km to miles", "five", namespace="m")
    cache.add("how many miles is 8 km", "eight", namespace="m")
    assert cache.lookup("convert 8 km to miles", namespace="m") is None


def test_entries_expire_after_ttl() -> None:
    now = [1000.0]
    vectors = {"cached": at_cosine(1.0), "q": at_cosine(0.95)}
    cache = fake_cache(vectors, ttl_seconds=60, clock=lambda: now[0], guards=())
    cache.add("cached", "a", namespace="m")

    now[0] = 1059.0
    assert cache.lookup("q", namespace="m") is not None
    assert cache.lookup("cached", namespace="m") is not None

    now[0] = 1061.0
    found = cache.probe("q", namespace="m")
    assert not found.hit
    assert found.candidates[0].expired
    assert found.reason == "nearest: expired"
    assert cache.lookup("cached", namespace="m") is None


def test_identical_text_is_served_without_embedding() -> None:
    embedder = FakeEmbedder()
    cache: SemanticCache[int] = SemanticCache(embedder, index_factory=NumpyIndex)
    cache.add("What is a monad?", 7, namespace="m")
    calls = embedder.calls

    match = cache.lookup("  What is   a monad?", namespace="m")
    assert match is not None and match.exact and match.answer_ref == 7
    assert match.reason == "same text"
    assert embedder.calls == calls


def test_empty_namespace_is_a_miss_with_a_reason() -> None:
    found = fake_cache({}).probe("anything", namespace="m")
    assert found.match is None and found.best_similarity is None
    assert found.reason == "nothing cached in this namespace"


def test_add_many_with_precomputed_vectors() -> None:
    embedder = FakeEmbedder()
    cache: SemanticCache[int] = SemanticCache(embedder, index_factory=NumpyIndex)
    texts = ["one", "two", "three"]
    vectors = embedder.embed(texts)
    calls = embedder.calls

    cache.add_many(texts, [1, 2, 3], namespace="m", vectors=vectors)
    match = cache.lookup("two?", namespace="m", vector=vectors[1])
    assert match is not None and match.answer_ref == 2
    assert embedder.calls == calls
    assert len(cache) == 3


def test_rejects_mismatched_input() -> None:
    cache = fake_cache({})
    with pytest.raises(ValueError, match="2 texts but 1 answer_refs"):
        cache.add_many(["a", "b"], ["x"], namespace="m")
    with pytest.raises(ValueError, match=r"shape \(1, 4\)"):
        cache.add("a", "x", namespace="m", vector=np.ones(3, np.float32))
    with pytest.raises(ValueError, match="threshold"):
        fake_cache({}, threshold=1.5)


def test_numpy_and_faiss_indexes_agree() -> None:
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(200, 8)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    flat, plain = FaissIndex(8), NumpyIndex(8)
    flat.add(rows)
    plain.add(rows[:100])
    plain.add(rows[100:])

    for query in rows[:20]:
        fs, fi = flat.search(query, 5)
        ns, ni = plain.search(query, 5)
        assert list(fi) == list(ni)
        np.testing.assert_allclose(fs, ns, atol=1e-5)
    assert len(flat.search(rows[0], 500)[1]) == 200


# --------------------------------------------------------------------------
# the real model


@pytest.fixture(scope="module")
def minilm() -> Iterator[MiniLMEmbedder]:
    yield MiniLMEmbedder(threads=2)


def test_minilm_vectors_are_unit_length_and_batch_independent(
    minilm: MiniLMEmbedder,
) -> None:
    texts = ["short", "a somewhat longer prompt about sorting lists in Python", ""]
    batch = minilm.embed(texts)
    assert batch.shape == (3, 384) and batch.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    for text, row in zip(texts, batch, strict=True):
        np.testing.assert_allclose(minilm.embed([text])[0], row, atol=1e-4)
    assert minilm.embed([]).shape == (0, 384)


def test_minilm_truncates_long_prompts(minilm: MiniLMEmbedder) -> None:
    long = "word " * 5000
    cut = "word " * (minilm.max_tokens * 2)
    np.testing.assert_allclose(minilm.embed([long]), minilm.embed([cut]), atol=1e-5)


def test_missing_model_package_is_named() -> None:
    files = dataclasses.replace(
        MINILM, model_package="no_such_package", model_distribution="no-such-dist"
    )
    with pytest.raises(EmbeddingModelError, match="'no-such-dist' is not installed"):
        MiniLMEmbedder(files=files)


def test_wrong_file_hash_is_refused(minilm: MiniLMEmbedder) -> None:
    files = dataclasses.replace(MINILM, tokenizer_sha256="0" * 64)
    with pytest.raises(EmbeddingModelError, match="sha256"):
        MiniLMEmbedder(files=files)


def test_missing_explicit_model_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "model.onnx"
    with pytest.raises(EmbeddingModelError, match=str(missing)):
        MiniLMEmbedder(model_path=missing)


def labelled_pairs() -> list[dict[str, object]]:
    pairs: list[dict[str, object]] = json.loads(PAIRS.read_text())["pairs"]
    return pairs


def test_labelled_set_is_balanced_enough() -> None:
    pairs = labelled_pairs()
    kinds = {str(p["kind"]) for p in pairs}
    assert len(pairs) >= 60
    assert {"paraphrase", "number", "entity", "reversal", "negation"} <= kinds
    assert sum(bool(p["same"]) for p in pairs) >= 30


def test_precision_and_recall_on_labelled_pairs(minilm: MiniLMEmbedder) -> None:
    """Each pair in its own namespace: cache "a", look up "b".

    Measured at the default threshold (0.85): precision 0.98, recall 0.94
    (47 of 50 paraphrases; one false hit, "undo the last git commit" vs
    "... git push", at 0.851). The floors leave room for small numeric
    drift across onnxruntime builds, not for a worse rule.
    """
    cache: SemanticCache[int] = SemanticCache(minilm)
    true_hit = false_hit = missed = 0
    guard_kinds_hit = []
    for i, pair in enumerate(labelled_pairs()):
        cache.add(str(pair["a"]), i, namespace=f"pair-{i}")
        hit = cache.lookup(str(pair["b"]), namespace=f"pair-{i}") is not None
        if pair["same"]:
            true_hit += hit
            missed += not hit
        else:
            false_hit += hit
            if hit and pair["kind"] != "topic":
                guard_kinds_hit.append(pair)

    precision = true_hit / (true_hit + false_hit)
    recall = true_hit / (true_hit + missed)
    assert precision >= 0.95, (precision, recall)
    assert recall >= 0.90, (precision, recall)
    # Changed numbers, names, direction, negation and opposites: all caught.
    assert guard_kinds_hit == []
