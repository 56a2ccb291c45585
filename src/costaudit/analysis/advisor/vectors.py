"""Prompt embeddings kept on disk between runs of the advisor.

Embedding is the costly part of the semantic cache replay: a few hundred
prompts a second on two cores, where a month of an agent's history holds
tens of thousands of distinct prompts. History does not change, so each
prompt is embedded once and its vector kept, keyed by the embedding model's
name and the text's digest; a later run embeds only the prompts it has not
seen. Vectors are written in chunk files, one per run that added any, and
merged when there are many.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import platformdirs
from numpy.typing import NDArray

from costaudit.strategies.embeddings import Embedder, WindowedEmbedder

log = logging.getLogger(__name__)

MAX_CHUNKS = 8


def default_directory() -> Path:
    return Path(platformdirs.user_cache_dir("costaudit")) / "vectors"


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


class StoredEmbedder:
    """An :class:`Embedder` that remembers the vectors of ``inner`` on disk."""

    def __init__(self, inner: Embedder, directory: Path | None = None) -> None:
        self.inner = inner
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in inner.name)
        self.directory = (directory or default_directory()) / safe
        self._rows: dict[bytes, int] = {}
        self._vectors = np.empty((0, inner.dim), dtype=np.float32)
        self.reused = 0
        self._load()

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def max_tokens(self) -> int | None:
        """The inner model's window, so the cache refuses what it cannot see."""
        inner = self.inner
        return inner.max_tokens if isinstance(inner, WindowedEmbedder) else None

    def truncated(self, texts: Sequence[str]) -> list[bool]:
        inner = self.inner
        if isinstance(inner, WindowedEmbedder):
            return inner.truncated(texts)
        return [False] * len(texts)

    def _chunks(self) -> list[Path]:
        return sorted(self.directory.glob("chunk-*.npz"))

    def _load(self) -> None:
        keys: list[bytes] = []
        blocks = []
        for chunk in self._chunks():
            try:
                with np.load(chunk) as data:
                    found = data["vectors"]
                    if found.shape[1:] != (self.dim,):
                        continue
                    keys.extend(bytes(k) for k in data["keys"])
                    blocks.append(found.astype(np.float32))
            except (OSError, ValueError, KeyError) as exc:
                # A damaged chunk only costs re-embedding its prompts.
                log.warning("ignoring vector file %s: %s", chunk, exc)
        if blocks:
            self._vectors = np.concatenate(blocks)
            self._rows = {key: i for i, key in enumerate(keys)}

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        digests = [_digest(t) for t in texts]
        missing = sorted(
            {i for i, d in enumerate(digests) if d not in self._rows},
            key=lambda i: digests[i],
        )
        unique: dict[bytes, int] = {}
        for i in missing:
            unique.setdefault(digests[i], i)
        if unique:
            fresh = self.inner.embed([texts[i] for i in unique.values()])
            self._remember(list(unique), fresh)
        self.reused = len(texts) - len(unique)
        rows = [self._rows[d] for d in digests]
        return np.ascontiguousarray(self._vectors[rows])

    def _remember(self, keys: list[bytes], vectors: NDArray[np.float32]) -> None:
        start = len(self._vectors)
        self._vectors = np.concatenate([self._vectors, vectors])
        for offset, key in enumerate(keys):
            self._rows[key] = start + offset
        try:
            self._write(keys, vectors)
        except OSError as exc:
            log.warning("cannot keep prompt vectors in %s: %s", self.directory, exc)

    def _write(self, keys: list[bytes], vectors: NDArray[np.float32]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        chunks = self._chunks()
        if len(chunks) >= MAX_CHUNKS:
            # Rewrite everything known as one chunk, then drop the old ones.
            keys = list(self._rows)
            vectors = self._vectors[[self._rows[k] for k in keys]]
        name = f"chunk-{time.time_ns()}-{os.getpid()}"
        partial = self.directory / f"{name}.partial.npz"
        np.savez(partial, keys=np.array(keys, dtype="S16"), vectors=vectors)
        partial.replace(self.directory / f"{name}.npz")
        if len(chunks) >= MAX_CHUNKS:
            for chunk in chunks:
                chunk.unlink(missing_ok=True)
