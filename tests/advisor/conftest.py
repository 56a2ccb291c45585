from __future__ import annotations

from pathlib import Path

import pytest

from tests.advisor.scenarios import Recorder, Scenario


@pytest.fixture
def record() -> Recorder:
    return Recorder()


@pytest.fixture
def scenario(tmp_path: Path) -> Scenario:
    return Scenario(tmp_path)
