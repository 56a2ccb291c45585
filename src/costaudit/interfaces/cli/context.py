"""Options shared by every command, and the workspace they open."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from costaudit.errors import CostauditError
from costaudit.interfaces.cli.output import Format
from costaudit.workspace import Options, Workspace

if TYPE_CHECKING:
    from costaudit.ledger.ingest import ScanMeter, ScanSummary

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


def scan_with_progress(workspace: Workspace, *, tell: bool = False) -> ScanSummary:
    """Scan; on a terminal, with a progress bar on stderr (bytes read of the
    bytes to read, from the files' sizes) and a closing line saying what the
    scan changed, which ``tell`` prints elsewhere too (``costaudit scan``
    says it whether or not stderr is a terminal)."""
    terminal = sys.stderr.isatty()
    summary = _scan_with_bar(workspace) if terminal else workspace.scan()
    if terminal or tell:
        note(f"costaudit: scan: {summary.headline()}")
    report_scan(summary)
    return summary


def _scan_with_bar(workspace: Workspace) -> ScanSummary:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    # About 80 columns in all, so that the bar keeps to one line.
    columns = (
        TextColumn("scanning"),
        BarColumn(bar_width=24),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[records]:,} records"),
    )
    console = Console(stderr=True)
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("", total=None, records=0)

        def advance(meter: ScanMeter) -> None:
            progress.update(
                task,
                total=meter.total_bytes or None,
                completed=meter.done_bytes,
                records=meter.records,
            )

        return workspace.scan(advance)


def report_scan(summary: ScanSummary) -> None:
    """Bad lines, and how many files could not be read. Each of those was
    named once already, in the scan's warning; the rest of it was stored."""
    shown = summary.issues[:10]
    for issue in shown:
        where = f"{issue.path}:{issue.line}" if issue.line else issue.path
        note(f"costaudit: skipped {where}: {issue.message}")
    if summary.issue_count > len(shown):
        more = summary.issue_count - len(shown)
        note(
            f"costaudit: ... and {more:,} more bad lines "
            "(costaudit sources --issues lists them all)"
        )
    if summary.errors:
        files = "file" if len(summary.errors) == 1 else "files"
        note(
            f"costaudit: {len(summary.errors)} {files} could not be read (named "
            "above; retried at the next scan); everything else was stored"
        )


def fail(message: str) -> CostauditError:
    return CostauditError(message)
