"""Option values checked without pydantic come out as typer's own checks
make them: the same value, or the same error, for every option of every
command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer._click import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param

from costaudit.interfaces.cli.app import ORDER, app
from costaudit.interfaces.cli.params import PlainParam, lighten

SAMPLES: list[object] = [
    None,
    "",
    "json",
    "JSON",
    "Table",
    "csv",
    "cost",
    "tokens",
    "5",
    "0",
    "-3",
    "2.5",
    "12abc",
    5,
    0,
    True,
    False,
    "profile,task",
    " json",
    "5 ",
    " spaced value ",
    "１２",
    "2026-01-02",
    ("a", "b"),
    ["gpt-4.1"],
    (),
]


def every_param() -> list[tuple[str, Any, Any]]:
    """(command, its context, one of its parameters), for every command."""
    root = typer.main.get_command(app)
    lighten(root)
    found = [("costaudit", Context(root), p) for p in root.params]
    for name in ORDER:
        command = root.get_command(Context(root), name)
        commands = getattr(command, "commands", {name: command})
        for sub_name, sub in commands.items():
            lighten(sub)
            ctx = Context(sub)
            found.extend((sub_name, ctx, p) for p in sub.params)
    return found


def outcome(runtime: Any, value: object, param: Any, ctx: Any) -> tuple[str, object]:
    try:
        return "value", runtime.coerce(value, param=param, ctx=ctx)
    except BadParameter as exc:
        return "error", exc.format_message()


def test_every_plain_option_gives_what_typer_gives(tmp_path: Path) -> None:
    params = every_param()
    plain = [
        (c, ctx, p) for c, ctx, p in params if isinstance(p._runtime_param, PlainParam)
    ]
    assert {p.name for _, _, p in plain} >= {"config", "ledger", "fmt", "by", "no_scan"}

    for command, ctx, param in plain:
        typers = build_runtime_param(param.type_descriptor)
        for value in [*SAMPLES, str(tmp_path), str(tmp_path / "missing.toml")]:
            ours = outcome(param._runtime_param, value, param, ctx)
            theirs = outcome(typers, value, param, ctx)
            assert ours == theirs, (command, param.name, value)


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "--no-scan", "--format", "json"],
        ["top", "--no-scan", "--limit", "3", "--format", "json"],
        ["scan", "--format", "json"],
    ],
)
def test_report_commands_start_without_pydantic(
    tmp_path: Path, argv: list[str]
) -> None:
    code = (
        "import sys\n"
        "from costaudit.interfaces.cli.app import run\n"
        f"run({['--ledger', str(tmp_path / 'l.duckdb'), *argv]!r})\n"
        "print('pydantic' in sys.modules)\n"
    )
    config = tmp_path / "config.toml"
    config.write_text("[sources.hermes]\nenabled = false\n")
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
             "XDG_DATA_HOME": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
        check=True,
    )  # fmt: skip

    assert done.stdout.strip().splitlines()[-1] == "False"
