"""Reports: the JSON contract, groups that sum to totals, the table's shape."""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costaudit.analysis.infra import Infrastructure
from costaudit.analysis.report import build_report
from costaudit.analysis.window import Window
from tests.conftest import Result
from tests.ledger_data import SAMPLE_RECORDS, ledger_with, record

SNAPSHOTS = Path(__file__).parent / "snapshots"
ROW_FIELDS = {
    "calls", "sessions", "input_tokens", "cache_read_tokens", "cache_write_tokens",
    "output_tokens", "reasoning_tokens", "total_tokens", "cost_usd", "api_cost_usd",
    "local_cost_usd", "unpriced_calls", "cost_per_query_usd",
}  # fmt: skip


def base(tmp_path: Path) -> list[str]:
    if not (tmp_path / "l.duckdb").exists():
        ledger_with(tmp_path / "l.duckdb", SAMPLE_RECORDS).close()
    empty = tmp_path / "no-hermes"
    empty.mkdir(exist_ok=True)
    return ["--ledger", str(tmp_path / "l.duckdb"), "--hermes-home", str(empty)]


def test_json_contract(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli(*base(tmp_path), "report", "--by", "profile,task", "--format", "json")
    assert result.code == 0, result.err
    document = result.json()
    assert document["group_by"] == ["profile", "task"]
    for row in document["rows"]:
        assert row.keys() >= ROW_FIELDS
        assert {"profile", "task"} <= row.keys()
    assert document["totals"].keys() >= ROW_FIELDS
    unpriced = [r for r in document["rows"] if r["unpriced_calls"]]
    assert unpriced and unpriced[0]["task"] == "design review"
    codi = next(r for r in document["rows"] if r["profile"] == "codi")
    assert codi["local_cost_usd"] > 0 and codi["api_cost_usd"] == 0


def test_unknown_model_alone_is_unpriced_not_zero(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli(*base(tmp_path), "report", "--by", "model", "--format", "json")
    mystery = next(r for r in result.json()["rows"] if r["model"] == "mystery-model-x")
    assert mystery["cost_usd"] is None
    assert mystery["unpriced_calls"] == 1
    table = cli(*base(tmp_path), "report", "--by", "model")
    line = next(x for x in table.out.splitlines() if "mystery-model-x" in x)
    assert "unpriced" in line and "$0.00" not in line


def test_top_json(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli(*base(tmp_path), "top", "--limit", "2", "--format", "json")
    rows = result.json()["rows"]
    assert len(rows) == 2
    assert {"profile", "task", "runs", "total_tokens", "cost_usd"} <= rows[0].keys()
    assert rows[0]["cost_usd"] >= rows[1]["cost_usd"]


def test_table_snapshot_at_fixed_width(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    result = cli(*base(tmp_path), "report", "--by", "profile")
    snapshot = SNAPSHOTS / "report_by_profile.txt"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.write_text(result.out)
    assert result.out == snapshot.read_text()


def test_csv_has_a_totals_row(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli(*base(tmp_path), "report", "--by", "profile", "--format", "csv")
    lines = result.out.strip().splitlines()
    assert lines[0].startswith("profile,calls,sessions")
    assert lines[-1].startswith("total,")


def test_bad_usage_exits_2_and_errors_exit_1(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    args = base(tmp_path)
    assert cli(*args, "report", "--format", "yaml").code == 2
    assert cli(*args, "report", "--since", "yesterday").code == 2
    bad_key = cli(*args, "report", "--by", "colour")
    assert bad_key.code == 1 and "cannot group by 'colour'" in bad_key.err
    missing = cli("--config", str(tmp_path / "nope.toml"), *args, "report")
    assert missing.code == 1 and "nope.toml" in missing.err


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["hermy", "codi", "sira"]),
            st.sampled_from(["deepseek-chat", "gpt-4.1", "qwen-local", "unknown-x"]),
            st.integers(0, 9),
            st.integers(1, 5),
            st.integers(0, 50_000),
            st.integers(0, 5_000),
        ),
        min_size=1,
        max_size=25,
    ),
    st.sampled_from([["profile"], ["model"], ["day"], ["profile", "model"], ["week"]]),
)
def test_groups_sum_to_totals(
    tmp_path_factory: object, rows: list[tuple[str, str, int, int, int, int]],
    keys: list[str],
) -> None:  # fmt: skip
    import tempfile

    records = [
        record(
            f"r{i}", profile=p, model=m, day=d, calls=c, input_tokens=i_t,
            output_tokens=o_t,
            endpoint="http://127.0.0.1:8080" if m == "qwen-local" else "https://x.io",
            provider="openai" if m == "gpt-4.1" else "deepseek",
        )
        for i, (p, m, d, c, i_t, o_t) in enumerate(rows)
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        ledger = ledger_with(Path(tmp) / "l.duckdb", records)
        infra = Infrastructure(Decimal(20), "config")
        report = build_report(ledger, Window(ZoneInfo("Europe/Berlin")), keys, infra)
        ledger.close()
    for field in ("calls", "input_tokens", "output_tokens", "total_tokens",
                  "unpriced_calls"):  # fmt: skip
        assert sum(r[field] for r in report.rows) == report.totals[field]
    priced = [r["cost_usd"] for r in report.rows if r["cost_usd"] is not None]
    assert sum(priced, Decimal(0)) == (report.totals["cost_usd"] or 0)
    infra_sum = sum((r["infra_cost_usd"] for r in report.rows), Decimal(0))
    assert abs(infra_sum - report.totals["infra_cost_usd"]) < Decimal("1e-20")
