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


def chart_box(svg: str, caption: str = "", title: str = "") -> str:
    """A chart with its title shown above it (the SVG's own title is for
    screen readers, which is why this one is hidden from them)."""
    head = (
        element("div", esc(title), class_="chart-title", aria_hidden="true")
        if title
        else ""
    )
    note = element("figcaption", esc(caption)) if caption else ""
    return element("figure", head + svg + note, class_="chart-box")


def placeholder(name: str, message: str) -> str:
    return element(
        "div", element("p", esc(message)), class_="placeholder", data_placeholder=name
    )


def figure(key: str, value: Any, shown: str, unit: str = "", style: str = "") -> str:
    """A figure the tests read back: ``key`` is its dotted path in the
    document, ``data-value`` its exact value, the text what a reader sees."""
    # The unit may move under the figure on a narrow card, but stays whole.
    whole = unit[:1] + unit[1:].replace(" ", "\u00a0")
    after = element("span", esc(whole), class_="unit") if unit else ""
    return element(
        "div",
        element("span", esc(shown), class_="figure") + after,
        class_=style or None,
        data_key=key,
        data_value=data_value(value),
    )


def stat(
    key: str,
    label: str,
    value: Any,
    shown: str,
    note: str = "",
    unit: str = "",
    extra: str = "",
) -> str:
    """One headline figure; ``extra`` is markup under it (a second figure)."""
    parts = [
        element("div", esc(label), class_="stat-label"),
        figure(key, value, shown, unit, "stat-value"),
        extra,
    ]
    if note:
        parts.append(element("div", esc(note), class_="stat-note"))
    return element("div", "".join(parts), class_="stat")
