"""The ``costaudit`` command: global options, command registry, exit codes.

Exit codes: 0 ok, 1 error (the message on stderr), 2 bad usage: an unknown
option or command, or an option's value that names nothing (a group key, a
time zone, a model). Commands with their own documented codes (``budget
check``) add to these.

The commands that need the advisor, notifications or the break-even model
are imported when they run: their modules take half a second to import,
which ``scan``, ``report`` or ``top`` should not pay.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from costaudit import __version__
from costaudit.errors import CostauditError, UsageError
from costaudit.interfaces.cli.commands import compare, report, scan, sources, top
from costaudit.interfaces.cli.context import State, configure_logging
from costaudit.workspace import Options

COMMANDS = "costaudit.interfaces.cli.commands"
ORDER = ("scan", "report", "top", "compare", "audit", "sources", "advise",
         "budget", "breakeven", "bench-local")  # fmt: skip
"""Commands in the order ``--help`` lists them."""
LAZY: dict[str, tuple[str, str]] = {
    "audit": ("audit", "audit"),
    "advise": ("advise", "advise"),
    "budget": ("budget", "budget_app"),
    "breakeven": ("breakeven", "breakeven"),
    "bench-local": ("breakeven", "bench_local"),
}
"""Command name to (module under ``COMMANDS``, its command or Typer app)."""


class LazyGroup(TyperGroup):
    """The root command, importing a lazy command's module on first use.

    Typer keeps its click types private, so contexts and commands are
    ``Any`` here; these are click's documented hooks for lazy commands.
    """

    def list_commands(self, ctx: Any) -> list[str]:
        return [name for name in ORDER if name in self.commands or name in LAZY]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in self.commands or cmd_name not in LAZY:
            return super().get_command(ctx, cmd_name)
        module, attribute = LAZY[cmd_name]
        target = getattr(importlib.import_module(f"{COMMANDS}.{module}"), attribute)
        holder = typer.Typer(rich_markup_mode=None, add_completion=False)
        if isinstance(target, typer.Typer):
            holder.add_typer(target, name=cmd_name)
        else:
            holder.command(cmd_name)(target)
        command = typer.main.get_group(holder).commands[cmd_name]
        self.add_command(command, cmd_name)
        return command


app = typer.Typer(
    name="costaudit",
    cls=LazyGroup,
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
app.command("sources")(sources.sources)


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
    except UsageError as exc:
        sys.stderr.write(f"costaudit: error: {exc}\n")
        return 2
    except CostauditError as exc:
        sys.stderr.write(f"costaudit: error: {exc}\n")
        return 1
    return 0


def main() -> None:
    sys.exit(run())
