"""Building HTML text safely, and showing numbers the way people read them.

Every piece of text from the document goes through :func:`esc`; elements are
built by :func:`element` so that attribute values are escaped too.
"""

from __future__ import annotations

import html
import math
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


SIGNIFICANT = 3
"""Digits every amount of money keeps, and never fewer than whole cents."""
SMALLEST = Decimal("0.000001")


def money(value: Any) -> str:
    """Dollars by one rule for every figure on the page, so that an amount
    reads the same in the headline, a table and a chart: three significant
    digits and never fewer than cents ($4.08, $13.80, $0.448, $0.00712)."""
    if value is None:
        return "unpriced"
    amount = Decimal(value)
    size = abs(amount)
    sign = "-" if amount < 0 else ""
    if size == 0:
        return "$0.00"
    if size < SMALLEST:
        return f"{sign}<${SMALLEST:f}"
    places = max(2, SIGNIFICANT - 1 - math.floor(math.log10(size)))
    shown = round(size, places)
    if shown and math.floor(math.log10(shown)) > math.floor(math.log10(size)):
        # 0.009996 rounds up to 0.0100: a place fewer keeps three digits.
        places = max(2, places - 1)
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
