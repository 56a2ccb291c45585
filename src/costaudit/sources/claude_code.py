"""Claude Code's session logs: ``<config dir>/projects/<project>/*.jsonl``.

Claude Code writes one JSON line per event of a session. An assistant
message that streams several content blocks (thinking, text, tool calls) is
written as several lines with the same ``message.id`` and ``requestId``, each
carrying a usage object; early lines may hold partial output counts.

The rule: each message is counted once, with the usage of the LAST line
written for its (message id, request id). The record key is that pair, so a
later line (in the same scan, a later scan, or another file that repeats the
message, as a resumed session does) replaces the earlier one. ccusage 20.0.24
gives the same totals on the test fixture, whose streamed messages grow their
output count from line to line.

Anthropic's usage maps as: ``input_tokens`` (already without cached tokens)
to input, ``cache_creation_input_tokens`` to cache writes,
``cache_read_input_tokens`` to cache reads, ``output_tokens`` to output.
Messages of the ``<synthetic>`` model (written by Claude Code itself, for
errors and interruptions, not by an API call) are skipped. A line that is
not JSON, or whose usage is not a set of counts, becomes a scan issue; so
does an assistant message without usage (``"usage": null``, or none), which
is skipped with that reason rather than dropped unseen.

The project (the folder name under ``projects/``, which is the working
directory with every character other than a letter or digit replaced by
``-``) becomes the profile: the line's ``cwd`` when it encodes to that name,
else the folder name decoded as well as it can be. Its last part is the task.
Sidechain messages (subagents started by the Task tool) get the call kind
``subagent``.

For speed, only assistant lines are parsed (found by their bytes, see
:data:`ASSISTANT`), and the assistant lines read in one go are parsed from
the last: an earlier line that holds the request id and the message id of a
line after it (``"requestId":"..."`` and ``"id":"..."`` as written there) is
one of that message's streamed lines, replaced by the later one, and is not
parsed at all.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import os
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from costaudit.record import MAIN_CALL, UsageRecord, check_count
from costaudit.sources.base import CallEvent, RecordTable, ScanIssue
from costaudit.sources.files import FileSource, LineParser, parse_time

log = logging.getLogger(__name__)

NAME = "claude_code"
SYNTHETIC_MODEL = "<synthetic>"
SUBAGENT_CALL = "subagent"
ASSISTANT = b'"assistant"'
"""In every assistant line (its type and its message's role), and in no
other: inside a string the quotes would be escaped. Other lines are not
parsed."""
REQUEST_ID = b'"requestId":"'

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")


def default_roots(env: Mapping[str, str], home: Path) -> list[str]:
    """``projects/`` under each ``$CLAUDE_CONFIG_DIR`` entry, else under
    ``~/.config/claude`` and ``~/.claude``."""
    configured = [p.strip() for p in env.get("CLAUDE_CONFIG_DIR", "").split(",")]
    dirs = [Path(p).expanduser() for p in configured if p]
    if not dirs:
        dirs = [home / ".config" / "claude", home / ".claude"]
    return [str(d / "projects") for d in dirs]


def project_folder(path: str) -> str:
    """The folder right under ``projects/`` that holds ``path``."""
    parts = Path(path).parts
    for index in range(len(parts) - 2, -1, -1):
        if parts[index] == "projects":
            return parts[index + 1]
    return Path(path).parent.name


def decode_folder(folder: str) -> str:
    """Best guess at the directory a project folder name was made from."""
    return folder.replace("-", "/") if folder.startswith("-") else folder


class ClaudeCodeSource(FileSource):
    name = NAME
    splittable = True

    def parser(self, path: str, carry: str) -> LineParser:
        return ClaudeCodeParser(path, carry)


class ClaudeCodeParser(LineParser):
    """Keeps, per message, the fields of its last line; records are built
    when a batch is taken, once per message rather than once per line."""

    def __init__(self, path: str, carry: str = "") -> None:
        super().__init__(path, carry)
        self.folder = project_folder(path)
        self.project = decode_folder(self.folder)
        self.project_known = False
        self.session = Path(path).stem
        self.last: dict[str, _Line] = {}

    def pending(self) -> int:
        return len(self.last)

    def feed_lines(self, first: int, block: bytes, start: int, end: int) -> int:
        """Parse only the assistant lines, found with ``bytes.find``: most of
        a log's bytes are users' turns and tool output, never parsed. When a
        line does not start with ``{`` and end with ``}`` (one cut short, a
        blank one) every line is fed, so that the frame of each is checked."""
        import numpy as np

        data = np.frombuffer(block, np.uint8, end - start, start)
        ends = np.flatnonzero(data == 0x0A)
        framed = (
            len(ends) > 0
            and ends[0] > 0
            and data[0] == 0x7B
            and bool((data[ends - 1] == 0x7D).all())
            and bool((data[ends[:-1] + 1] == 0x7B).all())
        )
        if not framed:
            return super().feed_lines(first, block, start, end)
        found = block.find(ASSISTANT, start, end)
        if found < 0:
            return len(ends)
        positions: list[int] = (ends + start).tolist()
        lines = []
        while found >= 0:
            index = bisect.bisect_left(positions, found)
            line = positions[index - 1] + 1 if index else start
            lines.append((first + index, line, positions[index]))
            found = block.find(ASSISTANT, positions[index] + 1, end)
        self._parse_latest_first(block, lines)
        return len(positions)

    def _parse_latest_first(
        self, block: bytes, lines: list[tuple[int, int, int]]
    ) -> None:
        """Parse the assistant ``lines`` (number, start, end) of ``block``
        from the last, skipping the earlier lines of a message that a later
        one replaces (see the module's docstring); keep what was found, and
        the issues, in the order of the lines."""
        replaced: dict[bytes, bytes] = {}
        found: list[tuple[str, _Line]] = []
        issues = len(self.issues)
        for number, start, end in reversed(lines):
            message_id = replaced.get(_request_id(block, start, end))
            if message_id is not None and block.find(message_id, start, end) >= 0:
                continue
            read = self._read(number, block[start:end])
            if read is not None:
                key, line, ids = read
                found.append((key, line))
                if ids is not None:
                    replaced.setdefault(ids[0], b'"id":"' + ids[1] + b'"')
        self.issues[issues:] = self.issues[issues:][::-1]
        for key, line in reversed(found):
            self.last[key] = line

    def take(
        self,
    ) -> tuple[Sequence[UsageRecord], list[CallEvent], list[ScanIssue]]:
        """The records of the messages seen since the last take, as a table."""
        rows = []
        for key, line in self.last.items():
            try:
                rows.append(self._row(key, line))
            except ValueError as exc:
                self.issue(line.number, str(exc))
        # Rows to columns in one go (zip runs in C).
        columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
        if rows:
            transposed = zip(*rows, strict=True)
            columns = dict(zip(COLUMNS, map(list, transposed), strict=True))
        columns["ended_at"] = columns["started_at"]
        self.last = {}
        task = os.path.basename(self.project.rstrip("/")) or self.project
        constants = {
            "source": NAME,
            "source_path": self.path,
            "profile": self.project,
            "provider": "anthropic",
            "platform": NAME,
            "task": task,
        }
        _records, events, issues = super().take()
        return RecordTable(columns, constants), events, issues

    def feed(self, number: int, line: bytes) -> None:
        if ASSISTANT in line:
            self._parse(number, line)
        elif line and (line[0] != 0x7B or line[-1] != 0x7D):
            self._check_frame(number, line)

    def _parse(self, number: int, line: bytes) -> None:
        """Keep an assistant line's usage as its message's latest."""
        read = self._read(number, line)
        if read is not None:
            self.last[read[0]] = read[1]

    def _read(
        self, number: int, line: bytes
    ) -> tuple[str, _Line, tuple[bytes, bytes] | None] | None:
        """An assistant line's key, its usage, and its request and message
        ids when both are text; None (and an issue where one is due) when
        it counts for nothing."""
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            self.issue(number, f"not valid JSON: {exc}")
            return None
        if type(entry) is not dict or entry.get("type") != "assistant":
            return None
        message = entry.get("message")
        if type(message) is not dict:
            return None
        model = message.get("model")
        if model == SYNTHETIC_MODEL:
            return None
        usage = message.get("usage")
        if type(usage) is not dict:
            name = message.get("id") or entry.get("uuid") or "?"
            self.issue(number, f"assistant message {name} has no usage: skipped")
            return None
        if not self.project_known:
            self._learn_project(entry.get("cwd"))
        message_id, request_id = message.get("id"), entry.get("requestId")
        if message_id and request_id:
            key = f"{message_id}:{request_id}"
        else:
            key = _own_key(entry, line)
        ids = None
        if type(message_id) is str and type(request_id) is str:
            ids = (request_id.encode(), message_id.encode())
        found = _Line(
            number,
            model,
            entry.get("timestamp"),
            usage,
            entry.get("sessionId"),
            bool(entry.get("isSidechain")),
            entry.get("costUSD"),
        )
        return key, found, ids

    def _check_frame(self, number: int, line: bytes) -> None:
        """Lines without usage are not parsed, for speed; a line cut short
        (the usual damage) still shows as one that does not end in ``}``."""
        stripped = line.strip()
        if stripped and not (stripped[:1] == b"{" and stripped[-1:] == b"}"):
            self.issue(number, "not a complete JSON object")

    def _row(self, key: str, line: _Line) -> tuple[Any, ...]:
        """A message's values in the order of :data:`COLUMNS`, checked as a
        :class:`UsageRecord` checks them."""
        if not isinstance(line.model, str) or not line.model:
            raise ValueError("assistant message without a model")
        at = parse_time(line.timestamp)
        if at is None:
            raise ValueError(f"bad or missing timestamp {line.timestamp!r}")
        usage = line.usage
        cost = _cost(line.cost)
        return (
            key,
            str(line.session or self.session),
            line.model,
            at.timestamp(),
            None,
            _count(usage, "input_tokens"),
            _count(usage, "cache_read_input_tokens"),
            _count(usage, "cache_creation_input_tokens"),
            _count(usage, "output_tokens"),
            SUBAGENT_CALL if line.sidechain else MAIN_CALL,
            cost,
            None if line.cost is None else NAME,
        )

    def _learn_project(self, cwd: object) -> None:
        if isinstance(cwd, str) and _NOT_ALNUM.sub("-", cwd) == self.folder:
            self.project = cwd
            self.project_known = True


COLUMNS = (
    "record_key",
    "session_id",
    "model",
    "started_at",
    "ended_at",
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "call_kind",
    "agent_cost_usd",
    "agent_cost_source",
)
"""The fields that differ between Claude Code records (``ended_at`` is
``started_at``: a record is one message)."""


def _count(usage: dict[str, Any], name: str) -> int:
    value = usage.get(name) or 0
    if type(value) is int and value >= 0:
        return value
    return check_count(name, value)


class _Line(NamedTuple):
    number: int
    model: object
    timestamp: object
    usage: dict[str, Any]
    session: object
    sidechain: bool
    cost: object


def _own_key(entry: dict[str, Any], line: bytes) -> str:
    """The key of a line without both ids, which cannot be matched with its
    siblings: it counts on its own, under its uuid, or failing that its
    content."""
    uuid = entry.get("uuid")
    return str(uuid) if uuid else "sha1:" + hashlib.sha1(line).hexdigest()


def _request_id(block: bytes, start: int, end: int) -> bytes:
    """The bytes of the last ``"requestId"`` value in ``block[start:end]``
    (Claude Code writes it after the message, near the line's end)."""
    at = block.rfind(REQUEST_ID, start, end)
    if at < 0:
        return b""
    at += len(REQUEST_ID)
    close = block.find(b'"', at, end)
    return block[at:close] if close > at else b""


def _cost(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
