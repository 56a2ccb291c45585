import json
from pathlib import Path

import click
import pytest
import typer

from costaudit.analysis.advisor import STRATEGY_IDS, AdviceOptions, advice_section
from costaudit.errors import CostauditError
from costaudit.interfaces.cli import app as cli_app
from costaudit.interfaces.cli.commands import advise
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
