"""Options shared by every command, and the workspace they open."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated

import typer

from costaudit.errors import CostauditError
from costaudit.interfaces.cli.output import Format
from costaudit.ledger.ingest import ScanSummary
from costaudit.workspace import Options, Workspace

FormatOption = Annotated[
    Format,
    typer.Option(
        "--format", "-f", help="Output: table, json or csv.", case_sensitive=False
    ),
]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="First day included (YYYY-MM-DD).")
]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="Last day included (YYYY-MM-DD).")
]
TzOption = Annotated[
    str | None,
    typer.Option("--tz", help="Time zone for days, weeks and months (IANA name)."),
]
ProfileOption = Annotated[
    list[str] | None, typer.Option("--profile", help="Only this profile (repeatable).")
]
ModelOption = Annotated[
    list[str] | None, typer.Option("--model", help="Only this model (repeatable).")
]
NoScanOption = Annotated[
    bool, typer.Option("--no-scan", help="Report from the ledger without scanning.")
]


@dataclass
class State:
    options: Options = field(default_factory=Options)

    def workspace(self) -> Workspace:
        return Workspace(self.options)


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


def parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date; use YYYY-MM-DD", param_hint=option
        ) from None


def configure_logging(verbose: int) -> None:
    level = logging.WARNING
    if verbose == 1:
        level = logging.INFO
    elif verbose > 1:
        level = logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("costaudit: %(levelname)s: %(message)s"))
    root = logging.getLogger("costaudit")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def note(message: str) -> None:
    """A line for the user on stderr."""
    sys.stderr.write(message + "\n")


def scan_with_progress(workspace: Workspace) -> ScanSummary:
    """Scan, with a progress line on stderr when it is a terminal."""
    if sys.stderr.isatty():
        from rich.progress import Progress, SpinnerColumn, TextColumn

        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), transient=True,
            console=None,
        ) as progress:  # fmt: skip
            task = progress.add_task("scanning", total=None)
            stored = 0

            def advance(path: str, records: int) -> None:
                nonlocal stored
                stored += records
                progress.update(task, description=f"scanning {path} ({stored:,})")

            summary = workspace.scan(advance)
    else:
        summary = workspace.scan()
    report_scan(summary)
    return summary


def report_scan(summary: ScanSummary) -> None:
    for error in summary.errors:
        note(f"costaudit: error: {error}")
    shown = summary.issues[:10]
    for issue in shown:
        where = f"{issue.path}:{issue.line}" if issue.line else issue.path
        note(f"costaudit: skipped {where}: {issue.message}")
    if len(summary.issues) > len(shown):
        note(f"costaudit: ... and {len(summary.issues) - len(shown)} more bad lines")


def fail(message: str) -> CostauditError:
    return CostauditError(message)
