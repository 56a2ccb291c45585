"""The terminal's small charts: the sparkline, the bars, and ``costaudit
audit`` drawn within the width of the terminal."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.cells import cell_len

from costaudit.interfaces.cli.charts import BAR_MAX, bar, bar_lines, sparkline
from costaudit.workspace import Options
from tests.conftest import Result
from tests.html.audit_data import prepare

LEVELS = "▁▂▃▄▅▆▇█"
BLOCKS = set(LEVELS) | set("▏▎▍▌▋▊▉")

amounts = st.lists(
    st.decimals(min_value=0, max_value=10_000, places=6, allow_nan=False),
    max_size=60,
)


def test_sparkline_draws_one_cell_a_value() -> None:
    assert sparkline([]) == ""
    assert sparkline([0, 0]) == "  "
    assert sparkline([Decimal("0.5"), None, Decimal(1)]) == "▄ █"


def test_a_cheap_day_is_never_a_gap() -> None:
    line = sparkline([Decimal("0.0001"), Decimal(100)])
    assert line == "▁█"


@given(amounts)
def test_sparkline_keeps_order_and_blanks(values: list[Decimal]) -> None:
    line = sparkline(values)
    assert len(line) == len(values)
    for value, cell in zip(values, line, strict=True):
        assert (cell == " ") == (value <= 0)
        assert cell == " " or cell in LEVELS
    drawn = sorted(
        (v, LEVELS.index(c)) for v, c in zip(values, line, strict=True) if v > 0
    )
    assert [level for _, level in drawn] == sorted(level for _, level in drawn)
    if any(v > 0 for v in values):
        assert line[values.index(max(values))] == "█"


def test_bar_is_drawn_in_eighths() -> None:
    assert bar(1, 1, 4) == "████"
    assert bar(0.5, 1, 4) == "██"
    assert bar(1, 8 * 4, 4) == "▏"
    assert bar(0, 1, 4) == bar(None, 1, 4) == ""
    assert bar(5, 1, 4) == "████", "a value above the top stays in the width"


@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=70), st.floats(0, 1e6)),
        min_size=1,
        max_size=12,
    ),
    st.integers(min_value=30, max_value=160),
)
def test_bar_lines_fit_the_width(rows: list[tuple[str, float]], width: int) -> None:
    labels = [label.replace("\n", " ") for label, _ in rows]
    values = [value for _, value in rows]
    figures = [f"${value:,.2f}" for value in values]
    lines = bar_lines(labels, figures, values, width)
    assert len(lines) == len(rows)
    figure_room = max(len(f) for f in figures)
    if 2 + 4 + 1 + figure_room + 1 + 8 <= width:
        assert all(cell_len(line) <= width for line in lines)
    for line, figure in zip(lines, figures, strict=True):
        assert figure in line


def test_bar_lines_cut_long_names_and_scale_to_the_largest() -> None:
    labels = ["a short one", "a task named after its very long first prompt, cut"]
    values = [Decimal("2.00"), Decimal("0.50")]
    lines = bar_lines(labels, ["$2.00", "$0.50"], values, 80)
    assert "…" in lines[1] and "cut" not in lines[1]
    longest = lines[0].split("$2.00 ")[1]
    assert longest == "█" * len(longest) and len(longest) <= BAR_MAX
    assert lines[1].split("$0.50 ")[1] == "█" * (len(longest) // 4)
    assert bar_lines([], [], [], 80) == []


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Options:
    return prepare(tmp_path_factory.mktemp("terminal"))


def run_at(
    width: int,
    sample: Options,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
) -> list[str]:
    """The output lines of a command on the sample, ``width`` columns wide."""
    monkeypatch.setenv("COLUMNS", str(width))
    done = cli(
        "--config",
        str(sample.config_path),
        "--ledger",
        str(sample.ledger_path),
        "--hermes-home",
        str(sample.hermes_home),
        *argv,
    )
    assert done.code == 0, done.err
    return done.out.splitlines()


def audit_at(
    width: int,
    sample: Options,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    *options: str,
) -> list[str]:
    return run_at(width, sample, cli, monkeypatch, "audit", "--no-scan", *options)


def sparkline_of(lines: list[str]) -> tuple[str, str]:
    """The daily spend's heading (its wrapped lines joined) and its chart:
    the first line after it drawn only in blocks."""
    start = next(i for i, line in enumerate(lines) if line.startswith("Daily spend"))
    end = next(
        i
        for i in range(start + 1, len(lines))
        if lines[i].strip() and set(lines[i]) <= BLOCKS | {" "}
    )
    heading = " ".join(line.strip() for line in lines[start:end])
    return heading, lines[end][2:]


@pytest.mark.parametrize("width", [100, 80])
def test_audit_fits_the_terminal(
    width: int,
    sample: Options,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = audit_at(width, sample, cli, monkeypatch)
    too_wide = [line for line in lines if cell_len(line) > width]
    assert too_wide == []

    heading, spark = sparkline_of(lines)
    assert heading.startswith("Daily spend over 35 days:")
    assert len(spark) == 35 and set(spark) <= set(LEVELS) | {" "}

    model_title = lines.index("Cost by model, share of spend")
    bars = lines[model_title + 1 : model_title + 4]
    assert all("█" in line or "▏" in line for line in bars)
    assert "█" * 10 in bars[0]

    assert any(
        line.strip().startswith("November 2026 (Nov 1-30): spend $") for line in lines
    )


def test_the_sparkline_leaves_out_days_that_do_not_fit(
    sample: Options, cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = audit_at(30, sample, cli, monkeypatch, "--no-advice")
    heading, spark = sparkline_of(lines)
    assert "the last 26 of 35 days" in heading
    assert len(spark) == 26


def test_breakeven_at_80_columns_names_models_whole_and_wraps_its_legend(
    sample: Options,
    cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The API models' names are the table's point: a narrow terminal loses
    an optional column before it cuts them. Legend entries too long for the
    line go on, indented, on the next."""
    lines = run_at(80, sample, cli, monkeypatch, "breakeven", "--no-scan")
    assert all(cell_len(line) <= 80 for line in lines)
    names = ("deepseek-chat", "deepseek-reasoner", "gpt-4.1-mini", "claude-sonnet-4-5")
    rows = [line for line in lines if line.startswith(" ") and "API" in line]
    for name in names:
        assert any(line.split()[0] == name for line in rows), name
    assert "left out to fit 80 columns: local $/Mtok energy," in "\n".join(lines)
    axis = next(i for i, line in enumerate(lines) if line.strip().startswith("1k"))
    legend = [line for line in lines[axis + 1 :] if line.strip()]
    assert legend and all(line.startswith(" " * 12) for line in legend)
    assert any(line.startswith(" " * 14) for line in legend)
