"""Nearest-neighbour search over unit vectors, behind one small interface.

The semantic cache asks three things of its index: store a prompt's vector
under an id, forget an id (the entry expired or was evicted), and say which
stored vectors are closest to a new one. Search is exact: one pass over
every stored vector. At 30,000 prompts that takes about two milliseconds
with faiss's inner-product kernel on one core, needs no training, and
returns the same neighbours an approximate index only promises.

The vectors live in one dense float32 matrix that this module owns.
Removing an id moves the last row into its place, so the matrix never has
holes to skip, and ids freed by removal are handed out again by later
adds: a cache that evicts as fast as it adds keeps the same footprint.
Where faiss is not installed, numpy runs the same search, slower.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

logger = logging.getLogger(__name__)

__all__ = ["FaissIndex", "FlatIndex", "NumpyIndex", "VectorIndex", "make_index"]

Kernel = Callable[
    [NDArray[np.float32], NDArray[np.float32], int],
    tuple[NDArray[np.float32], NDArray[np.int64]],
]


class VectorIndex(Protocol):
    """Unit vectors stored under integer ids."""

    def __len__(self) -> int:
        """How many vectors are stored."""
        ...

    def add(self, vectors: NDArray[np.float32]) -> NDArray[np.int64]:
        """Store rows of shape (n, dim); return the id given to each row."""
        ...

    def remove(self, ids: NDArray[np.int64] | list[int]) -> None:
        """Forget these ids; their numbers may be given to later rows."""
        ...

    def search(
        self, vector: NDArray[np.float32], k: int
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """The k stored vectors nearest one vector: inner products and ids,
        best first. Fewer than k come back when fewer are stored."""
        ...


class FlatIndex:
    """Exact search over a dense matrix with stable, reusable ids.

    ``kernel(query, rows, k)`` returns the k best row positions for one
    query; :class:`FaissIndex` and :class:`NumpyIndex` supply one each.
    """

    def __init__(self, dim: int, kernel: Kernel) -> None:
        self.dim = dim
        self._kernel = kernel
        self._rows = np.empty((0, dim), dtype=np.float32)
        self._size = 0
        self._id_of_row = np.empty(0, dtype=np.int64)
        self._row_of_id: dict[int, int] = {}
        self._free: list[int] = []
        self._next_id = 0

    def __len__(self) -> int:
        return self._size

    def add(self, vectors: NDArray[np.float32]) -> NDArray[np.int64]:
        rows = _rows(vectors, self.dim)
        self._reserve(self._size + len(rows))
        ids = np.array([self._new_id() for _ in range(len(rows))], dtype=np.int64)
        end = self._size + len(rows)
        self._rows[self._size : end] = rows
        self._id_of_row[self._size : end] = ids
        for offset, id_ in enumerate(ids.tolist()):
            self._row_of_id[id_] = self._size + offset
        self._size = end
        return ids

    def remove(self, ids: NDArray[np.int64] | list[int]) -> None:
        for id_ in [int(i) for i in ids]:
            row = self._row_of_id.pop(id_, None)
            if row is None:
                raise KeyError(f"no vector stored under id {id_}")
            last = self._size - 1
            if row != last:
                # Fill the hole with the last row so the matrix stays dense.
                moved = int(self._id_of_row[last])
                self._rows[row] = self._rows[last]
                self._id_of_row[row] = moved
                self._row_of_id[moved] = row
            self._size = last
            self._free.append(id_)

    def search(
        self, vector: NDArray[np.float32], k: int
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        k = min(k, self._size)
        if k <= 0:
            return np.empty(0, np.float32), np.empty(0, np.int64)
        query = _rows(vector, self.dim)
        scores, positions = self._kernel(query, self._rows[: self._size], k)
        return scores.astype(np.float32), self._id_of_row[positions]

    def _new_id(self) -> int:
        if self._free:
            return self._free.pop()
        self._next_id += 1
        return self._next_id - 1

    def _reserve(self, needed: int) -> None:
        if needed <= len(self._rows):
            return
        # Grow by doubling so adding one prompt at a time stays cheap.
        capacity = max(needed, 2 * len(self._rows), 64)
        rows = np.empty((capacity, self.dim), dtype=np.float32)
        rows[: self._size] = self._rows[: self._size]
        id_of_row = np.empty(capacity, dtype=np.int64)
        id_of_row[: self._size] = self._id_of_row[: self._size]
        self._rows, self._id_of_row = rows, id_of_row


class FaissIndex(FlatIndex):
    """Exact inner-product search with faiss's brute-force kernel.

    ``threads`` sets faiss's OpenMP threads, which is process-wide. The
    cache searches one vector at a time, where spreading a scan over
    threads costs more than it saves: at 30,000 rows on two cores a search
    took about 2 ms on one thread and several times that on two. None
    leaves faiss's setting alone.
    """

    def __init__(self, dim: int, *, threads: int | None = 1) -> None:
        import faiss

        if threads is not None:
            faiss.omp_set_num_threads(threads)
        metric = faiss.METRIC_INNER_PRODUCT

        def kernel(
            query: NDArray[np.float32], rows: NDArray[np.float32], k: int
        ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
            scores, positions = faiss.knn(query, rows, k, metric=metric)
            return scores[0], positions[0].astype(np.int64)

        super().__init__(dim, kernel)


class NumpyIndex(FlatIndex):
    """Exact search with one matrix product; no dependency beyond numpy."""

    def __init__(self, dim: int) -> None:
        super().__init__(dim, _numpy_kernel)


def _numpy_kernel(
    query: NDArray[np.float32], rows: NDArray[np.float32], k: int
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    scores = rows @ query[0]
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best], kind="stable")]
    return scores[best], best.astype(np.int64)


def make_index(dim: int) -> VectorIndex:
    """A faiss index when faiss is installed, else the numpy one."""
    try:
        return FaissIndex(dim)
    except ImportError:
        logger.debug("faiss is not installed; using numpy search")
        return NumpyIndex(dim)


def _rows(vectors: NDArray[np.float32], dim: int) -> NDArray[np.float32]:
    rows = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim)
    if not np.isfinite(rows).all():
        raise ValueError("vectors contain NaN or infinity")
    return rows
