"""Page blocks every section uses: the section, a chart box, a figure card
and the placeholder shown when an analysis has not run."""

from __future__ import annotations

from typing import Any

from costaudit.interfaces.html.markup import data_value, element, esc


def number(value: Any) -> float | None:
    """A document value as a float for drawing; None stays None (unpriced)."""
    return None if value is None else float(value)


def section(section_id: str, heading: str, body: str, intro: str = "") -> str:
    title = element("h2", esc(heading), id=f"{section_id}-heading")
    lead = element("p", esc(intro), class_="intro") if intro else ""
    return element(
        "section",
        title + lead + body,
        id=section_id,
        aria_labelledby=f"{section_id}-heading",
    )


def chart_box(svg: str, caption: str = "") -> str:
    note = element("figcaption", esc(caption)) if caption else ""
    return element("figure", svg + note, class_="chart-box")


def placeholder(name: str, message: str) -> str:
    return element(
        "div", element("p", esc(message)), class_="placeholder", data_placeholder=name
    )


def stat(
    key: str, label: str, value: Any, shown: str, note: str = "", unit: str = ""
) -> str:
    """One headline figure; ``key`` is its dotted path in the document."""
    after = element("span", esc(unit), class_="unit") if unit else ""
    parts = [
        element("div", esc(label), class_="stat-label"),
        element(
            "div",
            esc(shown) + after,
            class_="stat-value",
            data_key=key,
            data_value=data_value(value),
        ),
    ]
    if note:
        parts.append(element("div", esc(note), class_="stat-note"))
    return element("div", "".join(parts), class_="stat")
