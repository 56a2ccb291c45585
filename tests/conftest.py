"""Shared test helpers: the CLI runner, ledgers, and real Hermes homes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from costaudit.interfaces.cli.app import run

REPO = Path(__file__).resolve().parent.parent
WRITER = REPO / "tests" / "hermes_writer" / "write_home.py"
SAMPLE_HOME = REPO / "samples" / "hermes-home"


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run ``costaudit`` in-process with a fixed terminal width."""
    monkeypatch.setenv("COLUMNS", "120")

    def invoke(*argv: str) -> Result:
        capsys.readouterr()
        code = run(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


def hermes_python() -> str | None:
    """The interpreter of a venv with hermes-agent 0.19.0, if there is one."""
    candidates = [
        os.environ.get("COSTAUDIT_HERMES_PYTHON"),
        str(REPO / ".venv-hermes" / "bin" / "python"),
        "/tmp/hermesvenv/bin/python",
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture
def write_hermes_home(tmp_path: Path) -> Callable[..., Path]:
    """Write a Hermes home from a spec with real hermes-agent code."""
    python = hermes_python()
    if python is None:
        if os.environ.get("CI"):
            pytest.fail("hermes-agent is not installed: .ci/run must install it")
        pytest.skip("hermes-agent 0.19.0 venv not found (set COSTAUDIT_HERMES_PYTHON)")

    def write(
        spec: dict[str, Any], name: str = "home", schema: int | None = None
    ) -> Path:
        spec_file = tmp_path / f"{name}.json"
        spec_file.write_text(json.dumps(spec))
        home = tmp_path / name
        argv = [python, str(WRITER), str(spec_file), str(home)]
        if schema is not None:
            argv += ["--schema", str(schema)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return home

    return write


@pytest.fixture
def sample_home(tmp_path: Path) -> Path:
    """A copy of the bundled sample home (scans must not depend on its path)."""
    target = tmp_path / "sample-home"
    shutil.copytree(SAMPLE_HOME, target)
    return target


def python_executable() -> str:
    return sys.executable


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test reads the real ``~/.claude``, ``~/.codex`` or config dirs."""
    home = tmp_path_factory.mktemp("user-home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    for name in ("HERMES_HOME", "CLAUDE_CONFIG_DIR", "CODEX_HOME", "LLM_USER_PATH"):
        monkeypatch.delenv(name, raising=False)
