from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from costaudit.workspace import Options
from tests.html.audit_data import audit_document, prepare

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Options:
    return prepare(tmp_path_factory.mktemp("audit"))


@pytest.fixture(scope="session")
def document(filled: Options) -> dict[str, Any]:
    return audit_document(filled)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go: ``$COSTAUDIT_ARTIFACTS`` or ``artifacts/``."""
    base = Path(os.environ.get("COSTAUDIT_ARTIFACTS") or ROOT / "artifacts")
    target = base / "html"
    target.mkdir(parents=True, exist_ok=True)
    return target
