"""Ollama server logs: one call event per generation request.

Where the log is:

- macOS app: ``~/.ollama/logs/server.log``, rotated to ``server-1.log``,
  ``server-2.log`` ...; Windows app: ``%LOCALAPPDATA%\\Ollama\\server.log``
  (the same rotation). Both folders are read by default.
- Linux: the systemd service logs to the journal. Export it to a file in
  ``~/.ollama/logs`` (read by default) or any path configured::

      journalctl -u ollama --no-pager -o short-iso > ~/.ollama/logs/journal.log

  Exporting again to the same file replaces it: it is read again, and its
  requests, keyed by their content, are not counted twice. ``ollama serve``
  run by hand logs to its standard error, which can be sent to that folder.

The log has a GIN access line per HTTP request (after the journal's own
time, host and process when exported)::

    [GIN] 2025/02/10 - 11:20:29 | 200 | 35.684791792s |  127.0.0.1 | POST "/api/chat"

Each successful POST to a generation endpoint (``/api/chat``,
``/api/generate``, ``/api/embed``, ``/v1/...``) becomes a call event with its
latency. Versions whose runner prints llama.cpp's timings before the access
line (``llama_print_timings: prompt eval time = ...`` or the JSON
``print_timings`` lines) also give the prompt and generated token counts and
the seconds spent on each; they are attached to the next access line. The
model is the ``general.name`` the runner printed when it loaded, when
present.

GIN writes the server's local time without a zone: the zone is taken from
Ollama's own ``time=...+08:00`` lines or the journal's ``short-iso`` times
when the log has them, else from ``timezone`` in ``[sources.ollama]``, else
this machine's zone.

As with llama.cpp, these events are not usage unless ``as_usage = true``:
an agent that called Ollama already records the calls.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path

import orjson

from costaudit.sources.files import BATCH_SIZE, FileSource, LineParser
from costaudit.sources.llamacpp import (
    TimingReader,
    Timings,
    block_event,
    load_carry,
    local_record,
)

log = logging.getLogger(__name__)

NAME = "ollama"
GIN = re.compile(
    rb"\[GIN\] (\d{4}/\d\d/\d\d - \d\d:\d\d:\d\d) \|\s*(\d{3}) \|\s*(\S+) \|"
    rb"\s*(\S+) \|\s*(\w+)\s+\"([^\"]+)\""
)
SLOG_TIME = re.compile(
    rb"time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?([+-]\d\d:\d\d|Z)"
)
JOURNAL_TIME = re.compile(
    rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?([+-]\d\d:?\d\d|Z) "
)
GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|m(?!s)|s|ms|µs|us|ns)")
_UNIT_SECONDS = {
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "µs": 1e-6,
    "us": 1e-6,
    "ns": 1e-9,
}
GENERATION_PATHS = ("/api/chat", "/api/generate", "/api/embed", "/v1/")


def default_paths(env: Mapping[str, str], home: Path) -> list[str]:
    """The macOS and Linux log folder, and the Windows app's folder."""
    paths = [str(home / ".ollama" / "logs")]
    local = env.get("LOCALAPPDATA")
    if local:
        paths.append(str(Path(local) / "Ollama"))
    return paths


def go_duration(text: str) -> float | None:
    """Seconds in a Go duration such as ``1m2.5s`` or ``971.777µs``."""
    parts = GO_DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def _zone(offset: str) -> tzinfo:
    """``Z``, ``+08:00`` or ``+0800`` as a fixed zone."""
    if offset == "Z":
        return UTC
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


class OllamaSource(FileSource):
    name = NAME
    suffixes = (".log", ".txt")
    rotated = True

    def __init__(
        self,
        patterns: Iterable[str],
        *,
        zone: tzinfo | None = None,
        profile: str = "local",
        as_usage: bool = False,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        super().__init__(patterns, batch_size=batch_size)
        self.zone = zone
        self.profile = profile
        self.as_usage = as_usage

    def parser(self, path: str, carry: str) -> LineParser:
        return OllamaParser(path, carry, self)


class OllamaParser(LineParser):
    def __init__(self, path: str, carry: str, source: OllamaSource) -> None:
        super().__init__(path, carry)
        saved = load_carry(path, carry)
        self.source = source
        self.reader = TimingReader(saved)
        done = saved.get("done")
        self.done = Timings(**done) if isinstance(done, dict) else None
        offset = saved.get("offset")
        self.log_zone = _zone(offset) if isinstance(offset, str) else None
        self.offset_text = offset if isinstance(offset, str) else None

    def carry(self) -> str:
        state = self.reader.state()
        state["done"] = None if self.done is None else asdict(self.done)
        state["offset"] = self.offset_text
        return orjson.dumps(state).decode()

    def feed(self, number: int, line: bytes) -> None:
        if line[:1].isdigit() and (found := JOURNAL_TIME.match(line)):
            self._learn_zone(found.group(1))
        if b"[GIN]" in line:
            self._access(number, line)
            return
        if b"time=" in line and (found := SLOG_TIME.search(line)):
            self._learn_zone(found.group(1))
        block = self.reader.feed(number, line)
        if block is not None:
            self.done = block

    def _learn_zone(self, found: bytes) -> None:
        offset = found.decode()
        if offset != self.offset_text:
            self.offset_text, self.log_zone = offset, _zone(offset)

    def _access(self, number: int, line: bytes) -> None:
        found = GIN.search(line)
        if found is None:
            self.issue(number, "GIN access line in an unknown format")
            return
        stamp, status, latency, client, method, endpoint = (
            g.decode(errors="replace") for g in found.groups()
        )
        if method != "POST" or not endpoint.startswith(GENERATION_PATHS):
            return
        block, self.done = self.done, None
        if not status.startswith("2"):
            return
        zone = self.log_zone or self.source.zone
        at = datetime.strptime(stamp, "%Y/%m/%d - %H:%M:%S")
        at = (at.replace(tzinfo=zone) if zone else at.astimezone()).astimezone(UTC)
        key = hashlib.sha1(
            f"{stamp}|{latency}|{client}|{endpoint}".encode()
        ).hexdigest()
        event = block_event(
            NAME,
            key,
            self.path,
            at,
            self.reader.model(""),
            "ollama",
            block or Timings(number),
            self.source.profile,
        )
        event = replace(event, latency_s=go_duration(latency))
        self.events.append(event)
        if self.source.as_usage and block is not None:
            self.records.append(local_record(NAME, event, "ollama"))
