"""Notes under a table, on stderr: what a reader must know to trust it.

Costs that leave out unpriced calls are marked as lower bounds; energy
figures that are defaults, not the user's, are named; an empty result says
why nothing matched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from costaudit.analysis.provenance import local_models
from costaudit.analysis.report import no_match_reason
from costaudit.analysis.window import Window
from costaudit.interfaces.cli.context import note
from costaudit.interfaces.cli.output import money
from costaudit.pricing.cost import PartialAmount
from costaudit.workspace import Workspace

AT_LEAST = "≥"
"""Marks a cost that leaves out calls with no price: it is at least that."""


def bounded_money(places: int = 4) -> Callable[[Any], str]:
    """``money`` that marks a lower bound (some calls had no price)."""

    def render(value: Any) -> str:
        text = money(value, places)
        return AT_LEAST + text if isinstance(value, PartialAmount) else text

    return render


def partial_note(rows: Iterable[dict[str, Any]]) -> list[str]:
    """What the lower-bound mark means, when a row carries it."""
    if any(isinstance(v, PartialAmount) for row in rows for v in row.values()):
        return [
            f"note: {AT_LEAST} marks a cost that leaves out calls with no price "
            "(the unpriced column); those calls are not counted as $0"
        ]
    return []


def no_match_note(workspace: Workspace, window: Window) -> list[str]:
    """Why nothing matched the window."""
    return [f"note: {no_match_reason(workspace.ledger, window)}"]


def energy_note(workspace: Workspace, window: Window) -> list[str]:
    """The energy-model defaults that cost the window's local calls."""
    models = local_models(workspace.ledger, window)
    used = workspace.pricer().energy.defaults_used(models) if models else []
    if not used:
        return []
    return [
        "note: local calls are costed with energy-model defaults: "
        f"{'; '.join(used)}; set your own under [local] in the config"
    ]


def table_notes(workspace: Workspace, window: Window, empty: bool) -> list[str]:
    """The notes under a table of usage: why it is empty, if it is, and
    which energy-model defaults cost its local calls."""
    return (no_match_note(workspace, window) if empty else []) + energy_note(
        workspace, window
    )


def print_notes(notes: Iterable[str]) -> None:
    for text in notes:
        note(text)
