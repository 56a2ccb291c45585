"""How often the semantic cache serves a wrong answer, measured, not assumed.

The advisor runs the semantic cache it projects (same embedder, threshold
and guards) over labelled prompt pairs shipped with costaudit
(``labelled_pairs.json``): half are paraphrases one answer serves, half are
traps where it would be wrong (another number, name, direction, a negation,
an opposite, a neighbouring topic). Each pair gets a namespace of its own;
the first prompt is cached and the second looked up.

Of the pairs the cache accepts, the share that are traps is the wrong-hit
rate at that threshold; the replay's paraphrase hits are discounted by it.
The pairs are written in the shape of an agent's requests and kept apart
from the ones the guards were tuned on, so the figure is a held-out one.
With as many traps as paraphrases it leans pessimistic for traffic with
few near misses; a 95% upper bound (Wilson) goes with it, since a hundred
pairs cannot pin a small rate down.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from costaudit.strategies.embeddings import Embedder
from costaudit.strategies.semantic_cache import SemanticCache

PAIRS_FILE = "labelled_pairs.json"
_Z95 = 1.959964


@dataclass(frozen=True)
class LabelledPair:
    cached: str
    asked: str
    same: bool
    kind: str


@dataclass(frozen=True)
class WrongHit:
    """A trap the cache accepted, for the report."""

    cached: str
    asked: str
    kind: str
    similarity: float

    def document(self) -> dict[str, object]:
        return {
            "cached_prompt": self.cached,
            "prompt": self.asked,
            "trap": self.kind,
            "similarity": round(self.similarity, 4),
        }


@dataclass(frozen=True)
class WrongHitRate:
    """The cache's record on the labelled pairs at one threshold."""

    threshold: float
    paraphrases: int
    traps: int
    true_hits: int
    wrong: tuple[WrongHit, ...]

    @property
    def accepted(self) -> int:
        return self.true_hits + len(self.wrong)

    @property
    def rate(self) -> Decimal | None:
        """Wrong hits per accepted pair; None when none was accepted."""
        if not self.accepted:
            return None
        return Decimal(len(self.wrong)) / Decimal(self.accepted)

    @property
    def upper(self) -> Decimal | None:
        """The Wilson 95% upper bound of :attr:`rate`."""
        n = self.accepted
        if not n:
            return None
        p = len(self.wrong) / n
        z2 = _Z95 * _Z95
        centre = p + z2 / (2 * n)
        spread = _Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
        return Decimal(str(round(min((centre + spread) / (1 + z2 / n), 1.0), 4)))

    @property
    def recall(self) -> Decimal | None:
        if not self.paraphrases:
            return None
        return Decimal(self.true_hits) / Decimal(self.paraphrases)

    def document(self) -> dict[str, Any]:
        return {
            "pairs": self.paraphrases + self.traps,
            "paraphrases": self.paraphrases,
            "traps": self.traps,
            "accepted": self.accepted,
            "wrong_hits": len(self.wrong),
            "wrong_hit_rate": self.rate,
            "wrong_hit_rate_upper_95": self.upper,
            "recall": self.recall,
            "accepted_traps": [w.document() for w in self.wrong],
        }


@cache
def labelled_pairs() -> tuple[LabelledPair, ...]:
    """The pairs shipped with costaudit."""
    text = resources.files(__package__).joinpath(PAIRS_FILE).read_text("utf-8")
    return tuple(
        LabelledPair(str(p["a"]), str(p["b"]), bool(p["same"]), str(p["kind"]))
        for p in json.loads(text)["pairs"]
    )


def measure(
    embedder: Embedder,
    threshold: float,
    pairs: tuple[LabelledPair, ...] | None = None,
) -> WrongHitRate:
    """Run the semantic cache over ``pairs`` (the shipped ones by default)."""
    pairs = labelled_pairs() if pairs is None else pairs
    texts = sorted({t for p in pairs for t in (p.cached, p.asked)})
    vectors = embedder.embed(texts)
    row = {text: i for i, text in enumerate(texts)}
    cache: SemanticCache[int] = SemanticCache(embedder, threshold=threshold)
    true_hits = 0
    wrong: list[WrongHit] = []
    for i, pair in enumerate(pairs):
        space = f"pair-{i}"
        cache.add(pair.cached, i, namespace=space, vector=vectors[row[pair.cached]])
        match = cache.lookup(
            pair.asked, namespace=space, vector=vectors[row[pair.asked]]
        )
        if match is None:
            continue
        if pair.same:
            true_hits += 1
        else:
            wrong.append(WrongHit(pair.cached, pair.asked, pair.kind, match.similarity))
    paraphrases = sum(p.same for p in pairs)
    return WrongHitRate(
        threshold, paraphrases, len(pairs) - paraphrases, true_hits, tuple(wrong)
    )
