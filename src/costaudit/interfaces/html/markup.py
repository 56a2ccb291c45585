"""Building HTML text safely, and showing numbers the way people read them.

Every piece of text from the document goes through :func:`esc`; elements are
built by :func:`element` so that attribute values are escaped too.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

Attribute = str | int | float | Decimal | None


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def attributes(values: dict[str, Attribute]) -> str:
    """`` name="value"`` pairs; None leaves an attribute out."""
    return "".join(
        f' {name}="{esc(value)}"' for name, value in values.items() if value is not None
    )


def element(name: str, content: str = "", /, **values: Attribute) -> str:
    """An element; ``class_`` names the class, ``data_x`` the ``data-x``."""
    return void(name, **values) + f"{content}</{name}>"


def void(tag: str, /, **values: Attribute) -> str:
    """An element with no content or end tag, such as ``<meta>``."""
    named = {key.rstrip("_").replace("_", "-"): v for key, v in values.items()}
    return f"<{tag}{attributes(named)}>"


def data_value(value: Any) -> str:
    """A number as the exact text tests and the sorting script read back."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{round(value, 10).normalize():f}"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def money(value: Any) -> str:
    """Dollars with the precision a reader needs: cents, or more if small."""
    if value is None:
        return "unpriced"
    amount = Decimal(value)
    size = abs(amount)
    if size == 0:
        return "$0.00"
    if size < Decimal("0.0001"):
        return f"{'-' if amount < 0 else ''}<$0.0001"
    places = 2 if size >= 1 else 4
    sign = "-" if amount < 0 else ""
    return f"{sign}${size:,.{places}f}"


def money_places(values: Iterable[Any]) -> int:
    """Decimal places that give the smallest non-zero amount two significant
    digits, between cents and four places: one precision for a whole column."""
    sizes = [abs(Decimal(v)) for v in values if v is not None and Decimal(v) != 0]
    if not sizes:
        return 2
    smallest = min(sizes)
    return min(4, max(2, -math.floor(math.log10(smallest)) + 1))


def money_at(value: Any, places: int) -> str:
    """Dollars at a fixed number of places; amounts too small to show at four
    places say so rather than round to zero."""
    if value is None:
        return "unpriced"
    amount = Decimal(value)
    size = abs(amount)
    sign = "-" if amount < 0 else ""
    if 0 < size < Decimal(1).scaleb(-places) / 2:
        return f"{sign}<${Decimal(1).scaleb(-places):f}"
    return f"{sign}${size:,.{places}f}"


def count(value: Any) -> str:
    return "" if value is None else f"{int(value):,}"


def short_count(value: float) -> str:
    """12,300,000 as 12.3M: for axes and headline figures."""
    size = abs(value)
    for limit, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            text = f"{value / limit:.1f}".removesuffix(".0")
            return text + suffix
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2g}"


def percent(value: Any) -> str:
    return "n/a" if value is None else f"{float(value) * 100:.1f}%"
