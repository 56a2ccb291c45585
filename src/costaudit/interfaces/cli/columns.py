"""How a field shows as a table column.

Kept apart from :mod:`tables`, which draws tables with rich: every command
declares its columns when it is imported, and a command that prints JSON or
CSV should not pay for importing rich.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# A name column is not narrowed below this to keep an optional column.
NAME_MIN = 24
# Nor widened beyond this, so one long task name cannot take every column.
NAME_MAX = 40


@dataclass(frozen=True)
class Column:
    """How one field shows in a table.

    ``optional``: 0 means always shown; a column with a higher number is
    left out sooner when the table does not fit. ``whole``: a text that is
    never cut (a status, a date); figures are always whole. ``keep_end``:
    cut from the left, for paths whose end says the most.
    """

    key: str
    label: str
    render: Callable[[Any], str] = str
    numeric: bool = False
    optional: int = 0
    whole: bool = False
    min_width: int = NAME_MIN
    max_width: int = NAME_MAX
    keep_end: bool = False

    @property
    def cut(self) -> bool:
        """Whether the column's cells may be shortened to fit."""
        return not (self.numeric or self.whole)
