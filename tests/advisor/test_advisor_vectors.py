from collections.abc import Sequence
from pathlib import Path

import numpy as np

from costaudit.analysis.advisor.vectors import MAX_CHUNKS, StoredEmbedder
from costaudit.strategies.embeddings import WindowedEmbedder
from tests.advisor.scenarios import FakeEmbedder


def test_vectors_are_kept_between_runs(tmp_path: Path) -> None:
    inner = FakeEmbedder([["a"], ["b"]])
    first = StoredEmbedder(inner, tmp_path).embed(["a", "b", "a"])
    assert inner.calls == 1

    again = FakeEmbedder()
    stored = StoredEmbedder(again, tmp_path)
    second = stored.embed(["b", "a"])
    assert again.calls == 0
    assert stored.reused == 2
    np.testing.assert_array_equal(second, first[[1, 0]])


def test_chunks_are_merged(tmp_path: Path) -> None:
    for i in range(MAX_CHUNKS + 1):
        StoredEmbedder(FakeEmbedder(), tmp_path).embed([f"text {i}"])
    chunks = list((tmp_path / "fake").glob("chunk-*.npz"))
    assert len(chunks) <= 2
    stored = StoredEmbedder(FakeEmbedder(), tmp_path)
    stored.embed([f"text {i}" for i in range(MAX_CHUNKS + 1)])
    assert stored.reused == MAX_CHUNKS + 1


def test_a_damaged_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "chunk-0.npz").write_bytes(b"not numpy")
    stored = StoredEmbedder(FakeEmbedder(), tmp_path)
    assert stored.embed(["x"]).shape == (1, 64)


def test_the_store_passes_on_the_model_window(tmp_path: Path) -> None:
    """Vectors kept on disk do not hide how far the model reads."""

    class Windowed(FakeEmbedder):
        max_tokens = 3

        def truncated(self, texts: Sequence[str]) -> list[bool]:
            return [len(t.split()) > 3 for t in texts]

    stored = StoredEmbedder(Windowed(), tmp_path)
    assert isinstance(stored, WindowedEmbedder)
    assert stored.max_tokens == 3
    assert stored.truncated(["a b c", "a b c d"]) == [False, True]

    plain = StoredEmbedder(FakeEmbedder(), tmp_path)
    assert plain.max_tokens is None
    assert plain.truncated(["a b c d"]) == [False]
