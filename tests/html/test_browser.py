"""The page in headless Chromium with the network blocked.

Chromium comes from Debian's ``chromium`` package, driven by Playwright for
Python; Playwright's own browser downloads are not used. Screenshots of each
width go to the artefacts directory for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from costaudit.interfaces.html import write_html
from costaudit.interfaces.html.markup import money

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE, DESKTOP = 390, 1366
# A common phone, and the most common laptop screen, the shorter of the two
# desktop sizes the first screen has to work on.
SCREEN_HEIGHTS = {PHONE: 844, DESKTOP: 768}
CHARTS = {
    "daily",
    "by-task",
    "by-model",
    "local-vs-api",
    "local-vs-api-totals",
    "advice",
    "breakeven",
}
HEADLINE = ("month.cost_usd", "month.profiles.0.cost_usd")

CHARTS_JS = """
() => Array.from(document.querySelectorAll("svg.chart")).map((svg) => {
  const box = svg.getBoundingClientRect();
  return {
    id: svg.dataset.chart,
    width: box.width,
    height: box.height,
    title: (svg.querySelector(":scope > title") || {}).textContent || "",
    marks: Array.from(svg.querySelectorAll("rect, polyline, circle")).filter(
      (mark) => !mark.closest("g.legend, g.notes, clipPath")).length,
    keyed: svg.querySelectorAll("[data-key]").length,
    ticks: svg.querySelectorAll(".tick").length,
    axisTitles: svg.querySelectorAll(".axis-title").length,
  };
})
"""

# Tables wider than the box that holds them, at this width.
WIDE_TABLES_JS = """
() => Array.from(document.querySelectorAll(".table-wrap"))
  .filter((wrap) => wrap.scrollWidth > wrap.clientWidth + 1)
  .map((wrap) => wrap.querySelector("table").dataset.table)
"""

# Chart text that runs outside its own SVG (a clipped tick label, say).
CLIPPED_TEXT_JS = """
() => Array.from(document.querySelectorAll("svg.chart")).flatMap((svg) => {
  const box = svg.getBoundingClientRect();
  return Array.from(svg.querySelectorAll("text")).filter((t) => {
    const r = t.getBoundingClientRect();
    return r.left < box.left - 1 || r.right > box.right + 1
      || r.top < box.top - 1 || r.bottom > box.bottom + 1;
  }).map((t) => svg.dataset.chart + ": " + t.textContent);
})
"""

# Where each headline figure is on the first screen, before any scrolling,
# and whether it is drawn at all.
FIGURE_BOXES_JS = """
(keys) => Object.fromEntries(keys.map((key) => {
  const found = document.querySelector(`[data-key="${key}"]`);
  if (!found) { return [key, null]; }
  const box = found.getBoundingClientRect();
  return [key, {
    top: box.top, bottom: box.bottom, left: box.left, right: box.right,
    shown: found.checkVisibility() && box.width > 0 && box.height > 0,
    text: found.textContent,
  }];
}))
"""


@dataclass
class Visit:
    url: str
    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    """Every URL the page tried to load other than the file itself."""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run must install it")
        pytest.skip("Debian's chromium package is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def visit(browser: Any, path: Path, width: int) -> Visit:
    height = SCREEN_HEIGHTS.get(width, 900)
    page = browser.new_page(viewport={"width": width, "height": height})
    seen = Visit(path.resolve().as_uri(), page)

    def route(handle: Any) -> None:
        if handle.request.url == seen.url:
            handle.continue_()
        else:
            seen.requests.append(handle.request.url)
            handle.abort()

    def request(made: Any) -> None:
        if made.url != seen.url and not made.url.startswith("data:"):
            seen.requests.append(made.url)

    page.route("**/*", route)
    page.on("request", request)
    page.on("console", lambda m: console(seen, m))
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    page.goto(seen.url, wait_until="load")
    return seen


def console(seen: Visit, message: Any) -> None:
    if message.type == "error":
        seen.errors.append(message.text)


def check_charts(seen: Visit, expected: set[str]) -> None:
    charts = seen.page.evaluate(CHARTS_JS)
    assert {c["id"] for c in charts} == expected
    for chart in charts:
        assert chart["width"] > 200 and chart["height"] > 100, chart
        assert chart["title"] and chart["marks"] > 0 and chart["keyed"] > 0, chart
        assert chart["ticks"] >= 2 and chart["axisTitles"] >= 1, chart


def check_first_screen(seen: Visit, document: dict[str, Any]) -> None:
    """This month's spend, where it went and the biggest saving are on the
    first screen, whole, without scrolling."""
    strategies = document["advice"]["strategies"]
    best = max(
        range(len(strategies)), key=lambda i: strategies[i]["monthly_savings_usd"]
    )
    keys = [*HEADLINE, f"advice.strategies.{best}.monthly_savings_usd"]
    boxes = seen.page.evaluate(FIGURE_BOXES_JS, keys)
    width, height = seen.page.evaluate("[window.innerWidth, window.innerHeight]")
    assert seen.page.evaluate("window.scrollY") == 0
    for key in keys:
        box = boxes[key]
        assert box is not None and box["shown"], key
        assert box["top"] >= 0 and box["bottom"] <= height, (key, box, height)
        assert box["left"] >= 0 and box["right"] <= width, (key, box, width)
    month = document["month"]
    assert money(month["cost_usd"]) in boxes["month.cost_usd"]["text"]


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_page_in_chromium(
    browser: Any,
    document: dict[str, Any],
    width: int,
    tmp_path: Path,
    artifacts: Path,
) -> None:
    target = tmp_path / "audit.html"
    write_html(document, target)
    seen = visit(browser, target, width)
    try:
        budgets = {f"budget-{i}" for i in range(len(document["budgets"]))}
        assert budgets, "the sample config has budgets"
        name = f"audit-sample-{width}"
        seen.page.screenshot(path=str(artifacts / f"{name}-first.png"))
        seen.page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
        check_charts(seen, CHARTS | budgets)
        overflow = seen.page.evaluate(
            "document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, "the page scrolls sideways"
        assert seen.page.evaluate(CLIPPED_TEXT_JS) == []
        if width == DESKTOP:
            assert seen.page.evaluate(WIDE_TABLES_JS) == []
        check_first_screen(seen, document)
        if width == DESKTOP:
            seen.page.emulate_media(media="print")
            seen.page.screenshot(
                path=str(artifacts / f"{name}-print.png"), full_page=True
            )
    finally:
        seen.page.close()
    assert seen.errors == []
    assert seen.requests == []


def test_headers_sort_the_rows(
    browser: Any, document: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "audit.html"
    write_html(document, target)
    seen = visit(browser, target, DESKTOP)
    costs = (
        "Array.from(document.querySelectorAll("
        '\'table[data-table="tasks"] tbody td[data-col="cost_usd"]\'))'
        ".map((td) => td.dataset.value)"
    )
    header = seen.page.locator('table[data-table="tasks"] th', has_text="Cost").first
    header.click()
    down = seen.page.evaluate(costs)
    header.click()
    up = seen.page.evaluate(costs)
    seen.page.close()
    priced = [float(v) for v in down if v]
    assert priced == sorted(priced, reverse=True)
    assert [float(v) for v in up if v] == sorted(priced)
    unpriced = [""] * (len(down) - len(priced))
    assert down[len(priced) :] == unpriced and up[len(priced) :] == unpriced
    assert seen.errors == []


def test_blocked_requests_are_seen(browser: Any, tmp_path: Path) -> None:
    """The harness notices a page that reaches out, so silence means none."""
    target = tmp_path / "leaky.html"
    target.write_text('<img src="https://example.com/pixel.png">', encoding="utf-8")
    seen = visit(browser, target, DESKTOP)
    seen.page.close()
    assert "https://example.com/pixel.png" in seen.requests
