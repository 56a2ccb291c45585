"""The audit as one self-contained HTML file: charts, tables, no network."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from costaudit.interfaces.html.page import render_page

__all__ = ["render_page", "write_html"]


def write_html(document: dict[str, Any], path: Path) -> None:
    """Write the audit ``document`` (from ``build_audit``) to ``path``."""
    path.write_text(render_page(document), encoding="utf-8")
