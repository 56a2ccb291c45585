"""llama.cpp server logs: measured prefill and generation speed per request.

When a request finishes, the server prints its timings. The formats read:

- newer servers: ``slot print_timing: id  0 | task 42 |`` then (on the same
  line or the next ones) ``prompt eval time = 123.45 ms / 12 tokens (...)``,
  ``eval time = 1234.56 ms / 99 tokens (...)`` and
  ``total time = 1358.01 ms / 111 tokens``;
- older servers and ``llama_print_timings`` (also found in Ollama's log):
  ``print_timings: prompt eval time = ...``, ``eval time = ... / 99 runs``
  and ``total time = ... ms``;
- the JSON lines of mid-2024 servers (``"function":"print_timings"``), whose
  ``msg`` holds the same text and ``timestamp`` the Unix time.

Each finished block becomes a :class:`CallEvent`: prompt tokens evaluated
(llama.cpp does not count a prompt prefix reused from its cache here),
generated tokens, and the seconds spent on each, which give the measured
throughput the energy model needs. The model is the configured one, else the
GGUF file the server said it loaded (``loading model '...'``), else the
model's ``general.name``.

These logs are not usage by default: the agent that sent the requests (such
as Hermes) already records the same calls, and counting both would count
them twice. With ``as_usage = true`` in ``[sources.llamacpp]`` each block
also becomes a local usage record, for servers no agent source covers.

Plain-text logs carry no date, so a block's time is the log file's
modification time when it was read: close for a log that is scanned often,
rough for an old one. An unfinished block at the end of the file is carried
to the next scan.

A block is keyed by its content (its time stamp when the line has one, and
the text of its timings), not by the file it is in: a rotated log
(``server.log.1``, found next to ``server.log`` in a folder given) is
followed by its inode and goes on where it was left, and one met whole
again counts none of its blocks twice.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from costaudit.record import UsageRecord
from costaudit.sources.base import CallEvent
from costaudit.sources.files import BATCH_SIZE, FileSource, LineParser, from_epoch

log = logging.getLogger(__name__)

NAME = "llamacpp"

PROMPT = re.compile(rb"prompt eval time\s*=\s*([\d.]+) ms /\s*(\d+) tokens")
EVAL = re.compile(rb"eval time\s*=\s*([\d.]+) ms /\s*(\d+) (?:tokens|runs)")
TOTAL = re.compile(rb"total time\s*=\s*([\d.]+) ms")
MODEL_FILE = re.compile(rb"loading model '([^']+)'")
MODEL_NAME = re.compile(rb"general\.name\s+(?:str\s+)?=\s*(.+?)\s*$")
STAMP = re.compile(rb"timestamp=(\d{9,})")


@dataclass(slots=True)
class Timings:
    """One request's timings, filled line by line."""

    line: int = 0
    text: str = ""
    at: float | None = None
    prompt_ms: float | None = None
    prompt_tokens: int = 0
    eval_ms: float | None = None
    eval_tokens: int = 0
    total_ms: float | None = None


class TimingReader:
    """Follows timing blocks and model names through a llama.cpp-style log."""

    def __init__(self, carry: dict[str, object]) -> None:
        pending = carry.get("pending")
        self.pending = Timings(**pending) if isinstance(pending, dict) else None
        self.model_file = str(carry.get("model_file") or "")
        self.model_name = str(carry.get("model_name") or "")

    def state(self) -> dict[str, object]:
        return {
            "pending": asdict(self.pending) if self.pending else None,
            "model_file": self.model_file,
            "model_name": self.model_name,
        }

    def feed(self, number: int, line: bytes) -> Timings | None:
        """Read one line; return a block when this line finished it."""
        at = None
        if line[:1] == b"{" and b"print_timings" in line:
            line, at = _json_message(line)
        if b"time" in line and b" ms" in line:
            if at is None and (stamp := STAMP.search(line)):
                at = float(stamp.group(1))
            return self._timing(number, line, at)
        if b"general.name" in line and (found := MODEL_NAME.search(line)):
            self.model_name = found.group(1).decode(errors="replace")
        elif b"loading model" in line and (found := MODEL_FILE.search(line)):
            self.model_file = Path(found.group(1).decode(errors="replace")).stem
        return None

    def _timing(self, number: int, line: bytes, at: float | None) -> Timings | None:
        finished = None
        if found := PROMPT.search(line):
            finished = self.pending if self.pending and self.pending.eval_ms else None
            self.pending = Timings(number, at=at)
            self.pending.prompt_ms = float(found.group(1))
            self.pending.prompt_tokens = int(found.group(2))
        elif self.pending is None:
            return None
        elif found := EVAL.search(line):
            self.pending.eval_ms = float(found.group(1))
            self.pending.eval_tokens = int(found.group(2))
        elif found := TOTAL.search(line):
            self.pending.total_ms = float(found.group(1))
            finished, self.pending = self.pending, None
        else:
            return None
        if self.pending is not None:
            self.pending.text += line.decode(errors="replace").strip()
        return finished

    def model(self, configured: str) -> str:
        return configured or self.model_file or self.model_name or "unknown"


def _json_message(line: bytes) -> tuple[bytes, float | None]:
    try:
        entry = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line, None
    if not isinstance(entry, dict):
        return line, None
    stamp = entry.get("timestamp")
    at = float(stamp) if isinstance(stamp, int | float) else None
    return str(entry.get("msg") or "").encode(), at


def block_key(block: Timings) -> str:
    """The same for a block wherever it is read (a log and its rotated copy);
    different between requests, whose timings differ to the hundredth of a
    millisecond (and newer servers number their tasks)."""
    text = f"{block.at or ''}|{block.text}|{block.total_ms}"
    return hashlib.sha1(text.encode()).hexdigest()


def block_event(
    source: str,
    key: str,
    path: str,
    at: datetime,
    model: str,
    provider: str,
    block: Timings,
    profile: str,
) -> CallEvent:
    return CallEvent(
        source=source,
        event_key=key,
        path=path,
        at=at,
        model=model,
        profile=profile,
        provider=provider,
        prompt_tokens=block.prompt_tokens,
        output_tokens=block.eval_tokens,
        latency_s=None if block.total_ms is None else block.total_ms / 1000,
        prompt_eval_s=None if block.prompt_ms is None else block.prompt_ms / 1000,
        eval_s=None if block.eval_ms is None else block.eval_ms / 1000,
    )


def local_record(source: str, event: CallEvent, provider: str) -> UsageRecord:
    """A local call as a usage record (only when a source is configured so)."""
    return UsageRecord(
        source=source,
        record_key=event.event_key,
        source_path=event.path,
        profile=event.profile,
        session_id=event.session_id or "",
        model=event.model,
        started_at=event.at,
        ended_at=event.at,
        input_tokens=event.prompt_tokens,
        output_tokens=event.output_tokens,
        provider=provider,
        is_local=True,
        platform=source,
    )


def mtime(path: str) -> datetime:
    return datetime.fromtimestamp(os.path.getmtime(path), tz=UTC)


def load_carry(path: str, carry: str) -> dict[str, object]:
    if not carry:
        return {}
    try:
        loaded = orjson.loads(carry)
    except orjson.JSONDecodeError:
        log.warning("%s: carried state unreadable, starting afresh", path)
        return {}
    return loaded if isinstance(loaded, dict) else {}


class LlamaCppSource(FileSource):
    name = NAME
    suffixes = (".log", ".txt", ".jsonl")
    rotated = True

    def __init__(
        self,
        patterns: Iterable[str],
        *,
        model: str = "",
        profile: str = "local",
        as_usage: bool = False,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        super().__init__(patterns, batch_size=batch_size)
        self.model = model
        self.profile = profile
        self.as_usage = as_usage

    def parser(self, path: str, carry: str) -> LineParser:
        return LlamaCppParser(path, carry, self)


class LlamaCppParser(LineParser):
    def __init__(self, path: str, carry: str, source: LlamaCppSource) -> None:
        super().__init__(path, carry)
        self.source = source
        self.reader = TimingReader(load_carry(path, carry))
        self._mtime: datetime | None = None

    def carry(self) -> str:
        return orjson.dumps(self.reader.state()).decode()

    def feed(self, number: int, line: bytes) -> None:
        block = self.reader.feed(number, line)
        if block is None:
            return
        at = from_epoch(block.at) if block.at is not None else None
        if at is None:
            self._mtime = self._mtime or mtime(self.path)
            at = self._mtime
        event = block_event(
            NAME,
            block_key(block),
            self.path,
            at,
            self.reader.model(self.source.model),
            "llama.cpp",
            block,
            self.source.profile,
        )
        self.events.append(event)
        if self.source.as_usage:
            self.records.append(local_record(NAME, event, "llama.cpp"))
