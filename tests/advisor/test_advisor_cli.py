import json
from decimal import Decimal
from pathlib import Path

import click
import pytest
import typer

from costaudit.analysis.advisor import STRATEGY_IDS, AdviceOptions, advice_section
from costaudit.errors import CostauditError
from costaudit.interfaces.cli import app as cli_app
from costaudit.interfaces.cli.commands import advise
from costaudit.interfaces.cli.output import money
from tests.advisor.scenarios import T0, Recorder, Scenario, hours

PROMPT = "Give me a recipe for pancakes"


@pytest.fixture(autouse=True)
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stored prompt vectors go to a temporary cache, not the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def run(scenario: Scenario, *argv: str) -> int:
    """The advise command under the global options, as the lead wires it."""
    app = typer.Typer()
    app.callback()(cli_app.root)
    app.command("advise")(advise.advise)
    command = typer.main.get_command(app)
    args = ["--config", str(scenario.config_path), "--ledger",
            str(scenario.ledger_path), "advise", "--no-scan", *argv]  # fmt: skip
    try:
        command.main(args=args, prog_name="costaudit", standalone_mode=False)
    except CostauditError as exc:
        click.echo(f"costaudit: error: {exc}", err=True)
        return 1
    return 0


@pytest.fixture
def history(scenario: Scenario, record: Recorder) -> Scenario:
    records = [record(PROMPT, at=T0 + hours(i)) for i in range(3)]
    records.append(record("Summarise today's news", platform="cron"))
    scenario.write(records, "[advisor]\nsemantic_threshold = 0.9\n")
    return scenario


def test_json_lists_every_strategy_ranked(
    history: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(history, "--format", "json") == 0
    document = json.loads(capsys.readouterr().out)
    strategies = document["strategies"]
    assert {s["id"] for s in strategies} == set(STRATEGY_IDS)
    savings = [s["monthly_savings_usd"] for s in strategies]
    assert savings == sorted(savings, reverse=True)
    first = strategies[0]
    for key in ("share", "applies_to", "assumptions", "confidence", "change"):
        assert key in first
    # Every confidence comes with its reason.
    assert all(s["confidence_why"] for s in strategies)
    assert document["combined"]["savings_usd"] <= document["period"]["spend_usd"]


def test_explain_prints_the_steps_with_real_figures(
    history: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(history, "--explain", "exact_cache") == 0
    out = capsys.readouterr().out
    assert "replayed 3 main-loop records" in out
    assert "2 hits (66.7%)" in out
    assert "x 30.4375 / 1 = $0.004383 a month" in out


def test_explain_unknown_id_suggests_the_right_one(
    history: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(history, "--explain", "exact_cach") == 1
    assert "did you mean 'exact_cache'?" in capsys.readouterr().err


def test_table_output_shows_changes_and_total(
    history: Scenario,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    assert run(history) == 0
    out = capsys.readouterr().out
    assert "Ways to spend less" in out
    assert "change: answer exact repeats" in out
    assert "All together" in out


def test_audit_section_is_the_advice_document(history: Scenario) -> None:
    with history.workspace() as workspace:
        section = advice_section(workspace, workspace.window())
    assert set(section) == {"period", "strategies", "combined"}


def test_unknown_strategy_is_refused(history: Scenario) -> None:
    with pytest.raises(CostauditError, match="did you mean 'batch'"):
        history.advise(AdviceOptions(only=("bacth",)))


def _moves(n: int) -> list[dict[str, object]]:
    return [{"from": f"m{i}", "savings_usd": Decimal(i)} for i in range(n)]


def test_short_evidence_lists_print_whole() -> None:
    lines = advise.evidence_lines({"tiers": _moves(4)})
    assert [text for _, text in lines] == [
        f"tiers: from m{i}, savings_usd {money(Decimal(i), 4)}" for i in range(4)
    ]


def test_long_lists_say_how_many_are_shown_and_what_the_rest_save() -> None:
    lines = [text for _, text in advise.evidence_lines({"moves": _moves(12)})]
    assert len(lines) == advise.SHOWN_ITEMS + 1
    rest = sum(range(advise.SHOWN_ITEMS, 12))
    assert lines[-1] == (
        f"moves: {advise.SHOWN_ITEMS} of 12 shown; the other "
        f"{12 - advise.SHOWN_ITEMS} save {money(Decimal(rest), 4)} (--format json)"
    )


def test_a_list_without_savings_is_cut_without_a_sum() -> None:
    items = [{"prompt": f"p{i}", "repeats": i} for i in range(9)]
    lines = [text for _, text in advise.evidence_lines({"not_cacheable": items})]
    assert (
        lines[-1] == f"not_cacheable: {advise.SHOWN_ITEMS} of 9 shown (--format json)"
    )


def test_a_list_cut_in_the_document_gives_its_total() -> None:
    evidence = {"repeated_prompts": _moves(10), "repeated_prompts_total": 25}
    lines = [text for _, text in advise.evidence_lines(evidence)]
    assert (
        lines[-1]
        == f"repeated_prompts: {advise.SHOWN_ITEMS} of 25 shown (--format json)"
    )
    assert not any(line.startswith("repeated_prompts_total") for line in lines)


def test_text_shows_why_the_confidence(
    history: Scenario,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert run(history) == 0
    out = capsys.readouterr().out
    assert "why high: 2 hits on prompts repeated word for word" in out
    assert "tiers: tier expert" in out


def test_explain_prompt_caching_says_what_it_skipped(
    history: Scenario, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(history, "--explain", "prompt_caching") == 0
    out = capsys.readouterr().out
    assert out.startswith("examined 4 records")
    assert "prefix under 1,024 tokens, which providers do not cache" in out
