"""Measure the semantic cache the way GPTCache measured its own.

Method (shared/data/semantic-cache/README.md): store every ``origin`` of a
set of paraphrase pairs with its own index as the answer, then look up every
``similar``. A hit on its own origin is correct, a hit on another origin is
wrong, no hit is a miss. Two looser counts sit beside that strict one,
because both sets repeat questions: "same text" also counts a hit on another
origin with the very same text as correct (its answer answers the question),
and for QQP "same cluster" counts a hit on any question that Quora's labels
link to this one through a chain of duplicates.

Prints, to stdout:
  * the 999 GPTCache mock pairs at several thresholds, with and without the
    guards;
  * the 30,141 QQP duplicate pairs (30k cached prompts) at the same
    thresholds;
  * lookup latency at 30k entries, p50 and p95, with the prompt already
    embedded and end to end;
  * embeddings per second on this machine.

Runs offline. Embeddings are kept in benchmarks/out/ (ignored by git), keyed
by model and text, so a second run takes seconds; pass --no-vector-cache to
recompute. Usage:

    .venv/bin/python benchmarks/semantic_cache.py [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from costaudit.strategies.embeddings import Embedder, MiniLMEmbedder
from costaudit.strategies.guards import DEFAULT_GUARDS
from costaudit.strategies.semantic_cache import (
    DEFAULT_CANDIDATES,
    DEFAULT_THRESHOLD,
    Lookup,
    SemanticCache,
)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "semantic-cache"
THRESHOLDS = (0.75, 0.80, 0.83, 0.85, 0.87, 0.90, 0.95)
NAMESPACE = "benchmark"


@dataclass(frozen=True)
class PairSet:
    name: str
    origins: list[str]
    similars: list[str]


@dataclass
class Tally:
    correct: int = 0
    wrong: int = 0
    miss: int = 0
    correct_same_text: int = 0
    correct_cluster: int = 0

    def row(self, total: int) -> str:
        wrong_text = self.wrong - (self.correct_same_text - self.correct)
        wrong_cluster = self.wrong - (self.correct_cluster - self.correct)
        return (
            f"{self.correct:>6} {self.wrong:>6} {self.miss:>6}"
            f" {pct(self.correct, total):>7} {pct(self.wrong, total):>6}"
            f" | {pct(self.correct_same_text, total):>7}"
            f" {pct(wrong_text, total):>6}"
            f" | {pct(self.correct_cluster, total):>7}"
            f" {pct(wrong_cluster, total):>6}"
        )


def pct(part: int, total: int) -> str:
    return f"{100 * part / total:.1f}%"


def load_pairs(path: Path, name: str, limit: int | None) -> PairSet:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        pairs = json.load(fh)[:limit]
    return PairSet(name, [p["origin"] for p in pairs], [p["similar"] for p in pairs])


def embed_cached(
    embedder: Embedder, texts: Sequence[str], store: Path | None
) -> NDArray[np.float32]:
    """Embed, reusing vectors saved by an earlier run for the same texts."""
    key = hashlib.sha256(embedder.name.encode())
    for text in texts:
        key.update(text.encode("utf-8") + b"\0")
    path = None if store is None else store / f"{key.hexdigest()[:24]}.npy"
    if path is not None and path.exists():
        vectors: NDArray[np.float32] = np.load(path)
        return vectors
    start = time.perf_counter()
    vectors = embedder.embed(texts)
    note(f"  embedded {len(texts)} texts in {time.perf_counter() - start:.0f} s")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors


def clusters(pairs: PairSet) -> dict[str, int]:
    """Connected components of the 'is a duplicate of' graph, by text."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(pairs.origins, pairs.similars, strict=True):
        parent[find(a)] = find(b)
    roots: dict[str, int] = {}
    return {t: roots.setdefault(find(t), len(roots)) for t in list(parent)}


def probe_all(
    pairs: PairSet,
    origin_vectors: NDArray[np.float32],
    similar_vectors: NDArray[np.float32],
    *,
    guarded: bool,
) -> list[Lookup[int]]:
    """Fill a cache with the origins, then look up every similar.

    The cache runs at threshold -1 so every lookup keeps its candidates
    with the guards' verdicts; the decision at any threshold t is then the
    first candidate at or above t that no guard vetoed, which is what a
    cache built with threshold t returns (the candidates do not depend on
    the threshold). check_decide() confirms it on the mock set.
    """
    cache = _filled_cache(pairs, origin_vectors, -1.0, guarded)
    return [
        cache.probe(text, namespace=NAMESPACE, vector=vector)
        for text, vector in zip(pairs.similars, similar_vectors, strict=True)
    ]


def _filled_cache(
    pairs: PairSet, vectors: NDArray[np.float32], threshold: float, guarded: bool
) -> SemanticCache[int]:
    cache: SemanticCache[int] = SemanticCache(
        _NoEmbedder(vectors.shape[1]),
        threshold=threshold,
        guards=DEFAULT_GUARDS if guarded else (),
    )
    refs = list(range(len(pairs.origins)))
    cache.add_many(pairs.origins, refs, namespace=NAMESPACE, vectors=vectors)
    return cache


def check_decide(
    pairs: PairSet,
    origin_vectors: NDArray[np.float32],
    similar_vectors: NDArray[np.float32],
    lookups: list[Lookup[int]],
) -> None:
    """Fail loudly if the sweep's shortcut disagrees with a real cache."""
    cache = _filled_cache(pairs, origin_vectors, DEFAULT_THRESHOLD, True)
    for i, (text, vector) in enumerate(
        zip(pairs.similars, similar_vectors, strict=True)
    ):
        match = cache.lookup(text, namespace=NAMESPACE, vector=vector)
        got = None if match is None else match.answer_ref
        if got != decide(lookups[i], DEFAULT_THRESHOLD):
            raise AssertionError(f"sweep and cache disagree on pair {i}")


def decide(lookup: Lookup[int], threshold: float) -> int | None:
    if lookup.match is not None and lookup.match.exact:
        return lookup.match.answer_ref
    for candidate in lookup.candidates:
        if candidate.similarity >= threshold and not candidate.rejections:
            return candidate.entry.answer_ref
    return None


def tally(pairs: PairSet, lookups: list[Lookup[int]], threshold: float) -> Tally:
    groups = clusters(pairs)
    out = Tally()
    for i, lookup in enumerate(lookups):
        got = decide(lookup, threshold)
        if got is None:
            out.miss += 1
            continue
        if got == i:
            out.correct += 1
        else:
            out.wrong += 1
        same_text = " ".join(pairs.origins[got].split()) == " ".join(
            pairs.origins[i].split()
        )
        out.correct_same_text += got == i or same_text
        same = groups[pairs.origins[got]] == groups[pairs.origins[i]]
        out.correct_cluster += got == i or same_text or same
    return out


def report_sweep(
    pairs: PairSet,
    origin_vectors: NDArray[np.float32],
    similar_vectors: NDArray[np.float32],
    thresholds: Sequence[float],
) -> list[Lookup[int]]:
    """Print the sweep table; return the guarded lookups."""
    total = len(pairs.similars)
    print(f"\n{pairs.name}: {total} pairs, {len(pairs.origins)} cached prompts")
    print(
        "guards  thresh correct  wrong   miss correct% wrong%"
        " | same-text: correct% wrong% | same-cluster: correct% wrong%"
    )
    guarded_lookups: list[Lookup[int]] = []
    for guarded in (False, True):
        lookups = probe_all(pairs, origin_vectors, similar_vectors, guarded=guarded)
        if guarded:
            guarded_lookups = lookups
        for t in thresholds:
            label = "on " if guarded else "off"
            print(f"{label:<7} {t:>6.2f} {tally(pairs, lookups, t).row(total)}")
    return guarded_lookups


def latency_table(
    embedder: Embedder,
    pairs: PairSet,
    origin_vectors: NDArray[np.float32],
    similar_vectors: NDArray[np.float32],
    samples: int,
) -> None:
    """Per-lookup time with the default settings, at the set's full size.

    First with each prompt already embedded (index search plus guards, what
    a replay over history pays), then end to end from text for a sample.
    """
    cache: SemanticCache[int] = SemanticCache(embedder)
    cache.add_many(
        pairs.origins,
        list(range(len(pairs.origins))),
        namespace=NAMESPACE,
        vectors=origin_vectors,
    )
    embedded = []
    for text, vector in zip(pairs.similars, similar_vectors, strict=True):
        start = time.perf_counter()
        cache.probe(text, namespace=NAMESPACE, vector=vector)
        embedded.append(time.perf_counter() - start)
    end_to_end = []
    for text in pairs.similars[-samples:]:
        start = time.perf_counter()
        cache.probe(text, namespace=NAMESPACE)
        end_to_end.append(time.perf_counter() - start)

    print(f"\nlookup latency at {len(pairs.origins)} cached prompts (ms)")
    print("what                                n    p50    p95    max")
    for what, seconds in (
        ("search + guards (pre-embedded)", embedded),
        ("embed + search + guards", end_to_end),
    ):
        ms = sorted(s * 1000 for s in seconds)
        p50, p95 = statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]
        print(f"{what:<30} {len(ms):>6} {p50:>6.2f} {p95:>6.2f} {ms[-1]:>6.1f}")


def show_wrong(pairs: PairSet, lookups: list[Lookup[int]], count: int) -> None:
    """Print wrong hits at the default threshold for a reader to judge.

    Hits on the same text or the same duplicate cluster are left out: the
    question is how many of the rest would serve a wrong answer.
    """
    groups = clusters(pairs)
    wrong = []
    for i, lookup in enumerate(lookups):
        got = decide(lookup, DEFAULT_THRESHOLD)
        if got is None or got == i:
            continue
        if groups[pairs.origins[got]] == groups[pairs.origins[i]]:
            continue
        wrong.append((i, got, lookup.candidates[0].similarity))
    picked = np.random.default_rng(0).permutation(len(wrong))[:count]
    print(f"\n{pairs.name}: {len(picked)} of {len(wrong)} wrong hits, at random")
    for k in sorted(picked):
        i, got, similarity = wrong[k]
        print(f"[{similarity:.3f}] lookup: {pairs.similars[i]}")
        print(f"        served: {pairs.origins[got]}")
        print(f"        own:    {pairs.origins[i]}")


def throughput_table(embedder: MiniLMEmbedder, sets: Sequence[PairSet]) -> None:
    """Embeddings per second in batches of 32 and one prompt at a time.

    The load average is printed alongside: on a shared machine it explains
    a low figure.
    """
    print(f"\nembeddings per second ({os.cpu_count()} cores)")
    print("texts               mean tokens  batch     n  per s  load avg")
    for pairs in sets:
        for batch, n in ((32, 1024), (1, 256)):
            texts = pairs.similars[:n]
            tokens = statistics.mean(embedder.token_counts(texts))
            start = time.perf_counter()
            for i in range(0, len(texts), batch):
                embedder.embed(texts[i : i + batch])
            rate = len(texts) / (time.perf_counter() - start)
            load = os.getloadavg()[0]
            print(
                f"{pairs.name:<20} {tokens:>11.0f} {batch:>6} {len(texts):>5}"
                f" {rate:>6.0f} {load:>9.1f}"
            )


class _NoEmbedder:
    """Stands in where every vector is supplied, so nothing is embedded twice."""

    name = "precomputed"

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        raise RuntimeError("the benchmark passes vectors for every text")


def note(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--vector-cache", type=Path, default=ROOT / "benchmarks/out")
    parser.add_argument("--no-vector-cache", action="store_true")
    parser.add_argument("--qqp-limit", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--latency-samples", type=int, default=500)
    parser.add_argument("--show-wrong", type=int, default=0, metavar="N")
    parser.add_argument("--thresholds", type=float, nargs="+", default=list(THRESHOLDS))
    args = parser.parse_args(argv)
    store = None if args.no_vector_cache else args.vector_cache

    embedder = MiniLMEmbedder(threads=args.threads)
    mock = load_pairs(args.data_dir / "gptcache_mock_pairs.json", "gptcache mock", None)
    qqp = load_pairs(
        args.data_dir / "qqp_duplicate_pairs.json.gz", "qqp duplicates", args.qqp_limit
    )
    print(
        "GPTCache's own figures on the mock pairs (correct/wrong/miss):"
        " 0.95: 425/25/549, 0.90: 804/77/118, 0.80 (its default): 904/92/3"
    )
    print(
        f"model {embedder.name}, default threshold {DEFAULT_THRESHOLD},"
        f" {DEFAULT_CANDIDATES} candidates per lookup,"
        f" guards: {', '.join(g.name for g in DEFAULT_GUARDS)}"
    )

    for pairs in (mock, qqp):
        note(f"embedding {pairs.name} ...")
        origins = embed_cached(embedder, pairs.origins, store)
        similars = embed_cached(embedder, pairs.similars, store)
        lookups = report_sweep(pairs, origins, similars, args.thresholds)
        if pairs is mock:
            check_decide(pairs, origins, similars, lookups)
        if args.show_wrong:
            show_wrong(pairs, lookups, args.show_wrong)
        if pairs is qqp:
            latency_table(embedder, pairs, origins, similars, args.latency_samples)

    throughput_table(embedder, (mock, qqp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
