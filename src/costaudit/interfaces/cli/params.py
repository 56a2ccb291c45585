"""Checking option values without building pydantic validators.

Typer checks each value given to an option with a pydantic ``TypeAdapter``
it builds on first use, which means importing pydantic: a sixth of a second
before any command starts, more than a report from the ledger then takes.
costaudit's options are plain ones (text, flags, paths, whole numbers, one
of a set of names, lists of text), and for those :class:`PlainParam` gives exactly
what typer's adapter gives, with typer's own helpers for paths and choices.
Anything else (another type, a value of an unexpected type, a choice that is
not one, which needs typer's own error message) goes to typer's coercion.

This leans on typer's internals, which its pinned version keeps; should
they change, importing this module fails and the command line goes on with
typer's own coercion (see :mod:`app`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer import _click
from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import coerce_cli_choice, coerce_cli_path
from typer.core import _TyperParameter


def lighten(command: Any) -> None:
    """Give ``command``'s parameters, and its subcommands', plain coercion."""
    for param in getattr(command, "params", ()):
        lighten_param(param)
    for sub in getattr(command, "commands", {}).values():
        lighten(sub)


def lighten_param(param: Any) -> None:
    """Give one parameter plain coercion, if it is a plain one."""
    if (
        isinstance(param, _TyperParameter)
        and param._runtime_param is None
        and plain_kind(param.type_descriptor) is not None
    ):
        param._runtime_param = PlainParam(
            param.type_descriptor.parameter_info,
            param.type_descriptor.annotation,
            descriptor=param.type_descriptor,
        )


def plain_kind(descriptor: Any) -> str | None:
    """Which plain option ``descriptor`` describes, if it is one."""
    info, annotation = descriptor.parameter_info, descriptor.annotation
    if info.parser is not None or descriptor.file_annotation is not None:
        return None
    if annotation is str:
        return "text"
    if annotation is bool:
        return "flag"
    if annotation is int and not info.clamp:
        return "int"
    if annotation is Path and info.path_type in (None, Path):
        return "path"
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "choice"
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        return "texts"
    return None


@dataclass(frozen=True)
class PlainParam(RuntimeParam):
    """Typer's coercion of a plain option, without pydantic."""

    descriptor: TypeDescriptor
    fallback: list[RuntimeParam] = field(default_factory=list, compare=False)
    """Typer's own coercion, built the first time a value needs it."""

    def _coerce_value(
        self, value: Any, param: _TyperParameter, ctx: _click.Context
    ) -> Any:
        found = _plain_value(self.descriptor, value, param, ctx)
        if found is not _NOT_PLAIN:
            return found
        if not self.fallback:
            self.fallback.append(build_runtime_param(self.descriptor))
        return self.fallback[0]._coerce_value(value, param=param, ctx=ctx)


_NOT_PLAIN = object()


def _plain_value(descriptor: Any, value: Any, param: Any, ctx: Any) -> Any:
    """The coerced value, or ``_NOT_PLAIN`` to leave it to typer."""
    kind = plain_kind(descriptor)
    if kind == "text" and type(value) is str:
        return value
    if kind == "flag" and type(value) is bool:
        return value
    if kind == "int":
        return _whole(descriptor.parameter_info, value)
    texts = kind == "texts" and isinstance(value, list | tuple)
    if texts and all(type(item) is str for item in value):
        return list(value)
    if kind == "path" and type(value) is str and value:
        info = descriptor.parameter_info
        return coerce_cli_path(Path(value), info, path_type=Path, param=param, ctx=ctx)
    if kind == "choice":
        try:
            return coerce_cli_choice(
                value,
                choices=tuple(descriptor.annotation),
                case_sensitive=descriptor.parameter_info.case_sensitive,
                ctx=ctx,
            )
        except ValueError:
            pass
    return _NOT_PLAIN


def _whole(info: Any, value: Any) -> Any:
    """A whole number given as one, or in plain digits, within its bounds;
    anything else (and an error's message) is typer's."""
    if type(value) is str and value.isascii() and value.isdigit():
        value = int(value)
    if type(value) is not int:
        return _NOT_PLAIN
    if (info.min is not None and value < info.min) or (
        info.max is not None and value > info.max
    ):
        return _NOT_PLAIN
    return value
