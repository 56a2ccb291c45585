"""Audit documents for the HTML tests: the bundled sample home, as the
README's first command audits it (the sample config, with its budgets)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from costaudit.analysis.audit import AuditOptions
from costaudit.interfaces.cli.commands.audit import build_document
from costaudit.workspace import Options, Workspace

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SAMPLE_HOME = SAMPLES / "hermes-home"


def prepare(directory: Path) -> Options:
    """The sample config and a ledger of the scanned sample home."""
    config = directory / "config.toml"
    shutil.copyfile(SAMPLES / "config.toml", config)
    options = Options(config, directory / "ledger.duckdb", SAMPLE_HOME)
    with Workspace(options) as workspace:
        workspace.scan()
    return options


def audit_document(options: Options) -> dict[str, Any]:
    """The audit as ``costaudit audit`` builds it."""
    with Workspace(options) as workspace:
        return build_document(workspace, AuditOptions(workspace.window()))
