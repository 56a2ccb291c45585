"""Reports: the JSON contract, groups that sum to totals, the table's shape."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costaudit.analysis.infra import Infrastructure
from costaudit.analysis.provenance import estimate_disagreements
from costaudit.analysis.report import build_report
from costaudit.analysis.window import Window
from costaudit.config import Config
from costaudit.pricing.library import library_version
from costaudit.record import UsageRecord
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
    assert bad_key.code == 2
    assert bad_key.err == (
        "costaudit: error: cannot group by 'colour': choose from profile, task, "
        "model, provider, platform, source, call_kind, cost_source, day, week, "
        "month\n"
    )
    rank = cli(*args, "top", "--rank", "bogus")
    assert rank.code == 2 and "'bogus' is not one of 'cost', 'tokens'" in rank.err
    zone = cli(*args, "report", "--tz", "Europe/Pariss")
    assert zone.code == 2
    assert "time zone 'Europe/Pariss' is not known" in zone.err
    assert "did you mean Europe/Paris" in zone.err
    api = cli(*args, "compare", "--api", "gpt-4.2-turbo-x")
    assert api.code == 2 and "genai-prices has no price for 'gpt-4.2-turbo-x'" in (
        api.err
    )
    missing = cli("--config", str(tmp_path / "nope.toml"), *args, "report")
    assert missing.code == 1 and "nope.toml" in missing.err
    broken = tmp_path / "broken.toml"
    broken.write_text("[local]\nwatts = 'x'\n")
    bad_value = cli("--config", str(broken), *args, "report")
    assert bad_value.code == 1 and "local.watts must be a number" in bad_value.err


def test_group_by_cost_source(cli: Callable[..., Result], tmp_path: Path) -> None:
    result = cli(*base(tmp_path), "report", "--by", "cost_source", "--format", "json")
    document = result.json()
    rows = {r["cost_source"]: r for r in document["rows"]}
    assert set(rows) == {"price_library", "energy_model", "unpriced"}
    assert rows["unpriced"]["cost_usd"] is None
    assert rows["energy_model"]["local_cost_usd"] == rows["energy_model"]["cost_usd"]
    assert sum(r["calls"] for r in rows.values()) == document["totals"]["calls"]


def test_an_empty_result_says_why(cli: Callable[..., Result], tmp_path: Path) -> None:
    args = base(tmp_path)
    profile = cli(*args, "report", "--profile", "hermes")
    assert profile.code == 0
    assert (
        "note: no records match: no profile 'hermes' (did you mean hermy?) in the "
        "ledger, which has codi, hermy, sira\n" in profile.err
    )
    both = cli(*args, "report", "--profile", "codi", "--model", "gpt-4.2")
    assert "no model 'gpt-4.2' (did you mean gpt-4.1?) in the ledger" in both.err
    assert "no profile" not in both.err
    # Nothing matched: nothing was spent, which is not unknown.
    assert both.out.splitlines()[-1].split()[:4] == ["total", "0", "0", "$0.0000"]
    dates = cli(*args, "top", "--since", "2030-01-01")
    assert (
        "note: no records match: the ledger's usage runs from 2026-11-02 to "
        "2026-11-04 (UTC)" in dates.err
    )
    together = cli(*args, "compare", "--api", "gpt-4.1", "--profile", "codi",
                   "--until", "2026-11-01")  # fmt: skip
    assert "no records match" in together.err
    assert "cost/query includes" not in profile.err


def test_energy_defaults_are_named_where_they_are_used(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    args = base(tmp_path)
    for command in (["report"], ["top"]):
        result = cli(*args, *command)
        assert (
            "note: local calls are costed with energy-model defaults: electricity "
            "$0.30/kWh; busy power draw 65 W (qwen2.5-coder-3b); prompt speed "
            "40 tok/s (qwen2.5-coder-3b); generation speed 8 tok/s "
            "(qwen2.5-coder-3b); set your own under [local] in the config"
        ) in result.err
    api_only = cli(*args, "report", "--profile", "sira")
    assert "energy-model defaults" not in api_only.err
    as_json = cli(*args, "report", "--format", "json")
    assert as_json.err == ""
    config = tmp_path / "energy.toml"
    config.write_text(
        "[local]\nwatts = 40\nkwh_price_usd = 0.2\n"
        "prompt_tokens_per_second = 50\ngeneration_tokens_per_second = 9\n"
    )
    assert "energy-model defaults" not in cli("--config", str(config), *args,
                                              "report").err  # fmt: skip


OVERRIDE = '[prices."my-model"]\ninput_mtok = 2\noutput_mtok = 8\n'


def test_cost_per_query_by_hand(tmp_path: Path) -> None:
    records = [
        record("r1", model="my-model", day=0, calls=3, input_tokens=100_000,
               output_tokens=10_000),
        record("r2", model="my-model", day=1, calls=1, input_tokens=50_000,
               output_tokens=5_000, profile="sira"),
        record("r3", model="mystery-model-x", provider="acme", day=1, calls=2),
    ]  # fmt: skip
    config = Config(raw=tomllib.loads(OVERRIDE))
    # A month's rent of 30.4375 is $1 a day; two days are $2 over 6 calls.
    infra = Infrastructure(Decimal("30.4375"), "config")
    with ledger_with(tmp_path / "l.duckdb", records, config) as ledger:
        report = build_report(ledger, Window(ZoneInfo("UTC")), ["model"], infra)
        sira = build_report(
            ledger, Window(ZoneInfo("UTC"), profiles=("sira",)), [], infra
        )
    rows = {r["model"]: r for r in report.rows}
    mine = rows["my-model"]
    # 150,000 input tokens at $2/MTok and 15,000 output at $8/MTok.
    assert mine["cost_usd"] == Decimal("0.30") + Decimal("0.12")
    # Its 4 calls: $0.42 / 4 of tokens, plus $2 / 6 of rent each.
    assert close(mine["cost_per_query_usd"], Decimal("0.105") + Decimal(2) / 6)
    assert close(mine["infra_cost_usd"], Decimal(4) * 2 / 6)
    assert rows["mystery-model-x"]["cost_per_query_usd"] is None
    # The unpriced calls take their share of rent, not a share of the cost.
    assert close(report.totals["cost_per_query_usd"], mine["cost_per_query_usd"])
    assert close(report.totals["infra_cost_usd"], Decimal(2))
    # One profile's report keeps the same rent per call: r2's $0.14, 1 call.
    assert close(sira.totals["cost_per_query_usd"], Decimal("0.14") + Decimal(2) / 6)


def close(got: Decimal, expected: Decimal) -> bool:
    return abs(got - expected) < Decimal("1e-20")


def _estimated(key: str, model: str, agent: str) -> UsageRecord:
    return replace(
        record(key, model=model, provider="openai", calls=1,
               endpoint="https://api.openai.com/v1", input_tokens=1_000_000,
               output_tokens=0),
        agent_cost_usd=Decimal(agent), agent_cost_status="estimated",
    )  # fmt: skip


def test_only_estimates_more_than_ten_percent_off_are_reported(
    cli: Callable[..., Result], tmp_path: Path
) -> None:
    records = [
        # Ours: 1M input tokens of gpt-4.1 at $2/MTok; exactly 10% above.
        _estimated("e1", "gpt-4.1", "2.20"),
        # gpt-4.1-mini at $0.40/MTok: 15% above.
        _estimated("e2", "gpt-4.1-mini", "0.46"),
        # gpt-4.1-nano at $0.10/MTok: 12% below.
        _estimated("e3", "gpt-4.1-nano", "0.088"),
    ]
    ledger = ledger_with(tmp_path / "l.duckdb", records)
    found = estimate_disagreements(ledger, Window(ZoneInfo("UTC")))
    ledger.close()
    shares = {row["model"]: row["difference_share"] for row in found}
    assert shares == {"gpt-4.1-mini": Decimal("0.15"), "gpt-4.1-nano": Decimal("-0.12")}
    empty = tmp_path / "no-hermes"
    empty.mkdir()
    result = cli("--ledger", str(tmp_path / "l.duckdb"), "--hermes-home", str(empty),
                 "report")  # fmt: skip
    assert (
        "note: the agent estimated $0.4600 for gpt-4.1-mini (its one call); "
        f"{library_version()}: openai/gpt-4.1-mini gives $0.4000 (the agent's "
        "figure is +15% off ours)"
    ) in result.err
    assert "for gpt-4.1 (" not in result.err


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
