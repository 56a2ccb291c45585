"""Which sources are read, from their usual places and the config."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from costaudit.config import Config
from costaudit.errors import ConfigError
from costaudit.ledger import Ledger
from costaudit.ledger.ingest import ingest
from costaudit.sources.registry import describe_sources, file_sources

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    shutil.copytree(FIXTURES / "claude_code", home / ".claude")
    shutil.copytree(FIXTURES / "codex", home / ".codex")
    shutil.copytree(FIXTURES / "hermes_agent_log" / "home", home / ".hermes")
    return home


def names(config: Mapping[str, Any], home: Path, env: dict[str, str]) -> list[str]:
    return [s.name for s in file_sources(Config(raw=config), home=home, env=env)]


def test_usual_places(home: Path) -> None:
    sources = file_sources(Config(), home=home, env={})
    by_name = {s.name: s for s in sources}

    assert list(by_name) == [
        "claude_code",
        "codex",
        "llm",
        "ollama",
        "hermes_agent_log",
    ]
    assert len(by_name["claude_code"].locations()) == 3
    assert len(by_name["codex"].locations()) == 1
    assert by_name["llm"].locations() == []
    assert len(by_name["hermes_agent_log"].locations()) == 3


def test_environment_moves_the_usual_places(home: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    shutil.copytree(home / ".claude", other)
    env = {"CLAUDE_CONFIG_DIR": f"{tmp_path}/missing,{other}"}
    source = file_sources(Config(), home=tmp_path, env=env)[0]

    assert source.name == "claude_code"
    assert all(p.startswith(str(other)) for p in source.locations())


def test_config_turns_off_and_points_elsewhere(home: Path) -> None:
    config = {
        "sources": {
            "codex": {"enabled": False},
            "openai_jsonl": {
                "paths": [str(FIXTURES / "openai_jsonl" / "*.jsonl")],
                "fields": {"timestamp": "meta.ts", "profile": "meta.app"},
            },
            "llamacpp": {"paths": [str(FIXTURES / "llamacpp")], "as_usage": True},
            "otel": {"paths": []},
        }
    }

    assert names(config, home, {}) == [
        "claude_code",
        "llm",
        "openai_jsonl",
        "llamacpp",
        "ollama",
        "hermes_agent_log",
    ]


def test_config_mistakes_name_the_field(home: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"unknown source \[sources.claude\].*claude_code"
    ):
        names({"sources": {"claude": {}}}, home, {})
    with pytest.raises(ConfigError, match=r"sources.codex.path .*did you mean 'paths'"):
        names({"sources": {"codex": {"path": ["x"]}}}, home, {})
    with pytest.raises(ConfigError, match=r"sources.ollama.timezone 'Mars/Base'"):
        names({"sources": {"ollama": {"timezone": "Mars/Base"}}}, home, {})
    with pytest.raises(ConfigError, match=r"sources.llamacpp.as_usage must be true"):
        names({"sources": {"llamacpp": {"paths": ["x"], "as_usage": "yes"}}}, home, {})
    assert names({"sources": {"hermes": {"enabled": True}}}, home, {})


def test_describe_sources(home: Path, tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path / "l.duckdb")
    sources = file_sources(Config(), home=home, env={})
    ingest(ledger, sources)

    rows = describe_sources(ledger, sources)
    by_path = {str(Path(r["path"]).relative_to(home)): r for r in rows}

    assert set(rows[0]) == {
        "path",
        "source",
        "records",
        "events",
        "issues",
        "last_scan",
    }
    shop = by_path[
        ".claude/projects/-home-dev-shop-api/6f1c2a9e-3b4d-4c5e-8f70-1a2b3c4d5e6f.jsonl"
    ]
    # Its second message is repeated by the resumed session, read after it.
    assert (shop["source"], shop["records"], shop["issues"]) == ("claude_code", 2, 1)
    assert shop["last_scan"] is not None
    assert by_path[".hermes/logs/agent.log"]["events"] == 3
    assert by_path[".hermes/logs/agent.log"]["issues"] == 1
    assert by_path[".hermes/profiles/work/logs/agent.log"]["events"] == 2
