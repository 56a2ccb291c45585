"""The ``costaudit`` command: global options, command registry, exit codes.

Exit codes: 0 ok, 1 error (the message on stderr), 2 bad usage. Commands
with their own documented codes (``budget check``) add to these.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from costaudit import __version__
from costaudit.errors import CostauditError
from costaudit.interfaces.cli.commands import (
    advise,
    audit,
    breakeven,
    budget,
    compare,
    report,
    scan,
    sources,
    top,
)
from costaudit.interfaces.cli.context import State, configure_logging
from costaudit.workspace import Options

app = typer.Typer(
    name="costaudit",
    help="What your LLM agents' tokens cost, where the money goes, how to spend less.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"costaudit {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", help="Config file (TOML).")
    ] = None,
    ledger: Annotated[
        Path | None, typer.Option("--ledger", help="Ledger file (DuckDB).")
    ] = None,
    hermes_home: Annotated[
        Path | None, typer.Option("--hermes-home", help="Hermes home directory.")
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log detail.")
    ] = 0,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    configure_logging(verbose)
    ctx.obj = State(Options(config, ledger, hermes_home))


app.command("scan")(scan.scan)
app.command("report")(report.report)
app.command("top")(top.top)
app.command("compare")(compare.compare)
app.command("audit")(audit.audit)
app.command("sources")(sources.sources)
app.command("advise")(advise.advise)
app.add_typer(budget.budget_app, name="budget")
app.command("breakeven")(breakeven.breakeven)
app.command("bench-local")(breakeven.bench_local)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv``; return the exit code."""
    command = typer.main.get_command(app)
    try:
        # Standalone mode lets typer print usage errors and exit with 2.
        command.main(
            args=list(argv) if argv is not None else None,
            prog_name="costaudit",
            standalone_mode=True,
        )
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except CostauditError as exc:
        sys.stderr.write(f"costaudit: error: {exc}\n")
        return 1
    return 0


def main() -> None:
    sys.exit(run())
