"""Small terminal charts: a sparkline and horizontal bars within 100 columns."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

_BLOCKS = " ▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[Decimal | float | int | None]) -> str:
    numbers = [float(v or 0) for v in values]
    top = max(numbers, default=0.0)
    if top <= 0:
        return _BLOCKS[0] * len(numbers)
    return "".join(
        _BLOCKS[min(len(_BLOCKS) - 1, round(n / top * (len(_BLOCKS) - 1)))]
        for n in numbers
    )


def bar(
    value: Decimal | float | int | None, top: Decimal | float | int, width: int
) -> str:
    if not top or not value:
        return ""
    cells = float(value) / float(top) * width
    full = int(cells)
    return "█" * full + ("▌" if cells - full >= 0.5 else "")
