"""The ``costaudit`` command: global options, command registry, exit codes.

Exit codes: 0 ok, 1 error (the message on stderr), 2 bad usage: an unknown
option or command, or an option's value that names nothing (a group key, a
time zone, a model). Commands with their own documented codes (``budget
check``) add to these.

Every command's module is imported when the command runs (``--help``
imports them all): the advisor, notifications and the break-even model take
half a second to import, and even ``compare`` pulls in the price library,
which ``report`` should not pay. Option values are checked without pydantic
where they are plain (see :mod:`params`).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from costaudit import __version__
from costaudit.errors import CostauditError, UsageError
from costaudit.interfaces.cli.context import State, configure_logging
from costaudit.workspace import Options

try:
    from costaudit.interfaces.cli.params import lighten, lighten_param
except ImportError:  # another typer: its own coercion applies

    def lighten(command: Any) -> None:
        return None

    def lighten_param(param: Any) -> None:
        return None


COMMANDS = "costaudit.interfaces.cli.commands"
ORDER = ("scan", "report", "top", "compare", "audit", "sources", "advise",
         "budget", "breakeven", "bench-local")  # fmt: skip
"""Commands in the order ``--help`` lists them."""
LAZY: dict[str, tuple[str, str]] = {
    "scan": ("scan", "scan"),
    "report": ("report", "report"),
    "top": ("top", "top"),
    "compare": ("compare", "compare"),
    "sources": ("sources", "sources"),
    "audit": ("audit", "audit"),
    "advise": ("advise", "advise"),
    "budget": ("budget", "budget_app"),
    "breakeven": ("breakeven", "breakeven"),
    "bench-local": ("breakeven", "bench_local"),
}
"""Command name to (module under ``COMMANDS``, its command or Typer app)."""


class LightCommand(TyperCommand):
    """A command whose ``--help`` option, made when arguments are parsed,
    is checked without pydantic too (see :mod:`params`)."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        lighten_param(option)
        return option


class LazyGroup(TyperGroup):
    """The root command, importing a lazy command's module on first use.

    Typer keeps its click types private, so contexts and commands are
    ``Any`` here; these are click's documented hooks for lazy commands.
    """

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        lighten_param(option)
        return option

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
            holder.command(cmd_name, cls=LightCommand)(target)
        command = typer.main.get_group(holder).commands[cmd_name]
        lighten(command)
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


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv``; return the exit code."""
    command = typer.main.get_command(app)
    lighten(command)
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
