"""Plain text wrapped to the terminal with a hanging indent.

A long note wrapped by the terminal starts again at column 0 and breaks
the indentation that shows what it belongs to; this keeps continuation
lines indented under their first line. The text is never read as markup,
so model names, paths and prompts with [brackets] print as they are.
"""

from __future__ import annotations

import textwrap

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text


class Lines:
    """``text`` wrapped at the console width: the first line indented by
    ``indent`` cells, the ones after it by ``indent + hang``."""

    def __init__(self, text: str, indent: int = 0, hang: int = 2, style: str = ""):
        self.text = text
        self.indent = indent
        self.hang = hang
        self.style = style

    def wrapped(self, width: int) -> list[str]:
        first, rest = " " * self.indent, " " * (self.indent + self.hang)
        lines: list[str] = []
        for paragraph in self.text.split("\n"):
            lines += textwrap.wrap(
                paragraph,
                width=max(width, len(rest) + 8),
                initial_indent=first,
                subsequent_indent=rest,
                break_on_hyphens=False,
            ) or [""]
        return lines

    def __rich_console__(
        self, console: Console, options: ConsoleOptions
    ) -> RenderResult:
        for line in self.wrapped(options.max_width):
            yield Text(line, style=self.style)


def indented(text: str) -> tuple[int, str]:
    """The number of leading spaces of ``text``, and the rest of it."""
    body = text.lstrip(" ")
    return len(text) - len(body), body
