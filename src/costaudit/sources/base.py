"""What a source is, and what it hands to the ledger.

A source discovers the files it reads (``locations``) and reads each one
from the state the ledger kept for it at the last scan (``scan``). It yields
:class:`ScanBatch` objects: records, per-call events, issues found, and the
state to keep once the batch is stored. The ledger stores a batch and its
state in one transaction, so an interrupted scan resumes where the last
stored batch ended and never counts a record twice: records are upserted by
``(source, record_key)``.

A file source also tells, before it reads, how many bytes it has to read
(``bytes_to_read``) and, as it reads, how many it has read (the ``meter``
given to ``scan``), so that a long scan can show a progress bar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, overload

from costaudit.record import UsageRecord


@dataclass(frozen=True, slots=True)
class PathState:
    """What the ledger remembers of one file a source read."""

    source: str
    path: str
    identity: str = ""
    """Device and inode, or another fingerprint: a change means a new file."""
    size: int = 0
    offset: int = 0
    """Bytes consumed so far (for append-only logs)."""
    watermark: float | None = None
    """Source-specific high-water mark (for databases: last row time seen)."""
    records: int = 0
    """Records stored from this path so far."""
    issues: int = 0
    """Malformed lines or rows met so far."""
    last_scan: datetime | None = None


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One API call seen with its timing, from a log that has per-call lines.

    Events complement usage records (which may aggregate a session): they give
    per-call times and latency, and measured throughput of local servers.
    """

    source: str
    event_key: str
    path: str
    at: datetime
    model: str
    profile: str = ""
    provider: str | None = None
    endpoint: str | None = None
    session_id: str | None = None
    prompt_tokens: int = 0
    """Whole prompt, cached tokens included."""
    cache_read_tokens: int = 0
    output_tokens: int = 0
    latency_s: float | None = None
    prompt_eval_s: float | None = None
    """Seconds spent on the prompt (prefill), when the server reports it."""
    eval_s: float | None = None
    """Seconds spent generating, when the server reports it."""


class RecordTable(Sequence[UsageRecord]):
    """Many records kept as columns, for a source that makes them by the
    hundred thousand: building each :class:`UsageRecord` costs more than
    reading its line, and the ledger stores columns anyway.

    ``columns`` holds a list per field that differs between records (times as
    Unix seconds), ``constants`` the fields they share; fields in neither
    take the record's defaults. The maker checks the values as
    :class:`UsageRecord` would (counts whole and not negative, times in
    UTC). Reading an item builds its record.
    """

    def __init__(
        self, columns: dict[str, list[Any]], constants: dict[str, Any]
    ) -> None:
        self.columns = columns
        self.constants = constants
        self.length = len(next(iter(columns.values()))) if columns else 0

    def __len__(self) -> int:
        return self.length

    @overload
    def __getitem__(self, index: int) -> UsageRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[UsageRecord]: ...

    def __getitem__(self, index: int | slice) -> UsageRecord | list[UsageRecord]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.length))]
        fields = dict(self.constants)
        for name, values in self.columns.items():
            fields[name] = values[index]
        for name in ("started_at", "ended_at"):
            fields[name] = datetime.fromtimestamp(fields[name], tz=UTC)
        return UsageRecord(**fields)


@dataclass(frozen=True, slots=True)
class ScanIssue:
    """A line or row that could not be read; counted, reported, never fatal."""

    path: str
    line: int | None
    message: str


@dataclass(slots=True)
class ScanBatch:
    """A unit of work to store atomically."""

    source: str
    path: str
    state: PathState
    records: Sequence[UsageRecord] = field(default_factory=list)
    """A list, or a :class:`RecordTable`."""
    events: list[CallEvent] = field(default_factory=list)
    issues: list[ScanIssue] = field(default_factory=list)
    error: str | None = None
    """Set when the whole path could not be read: the message names it, and
    ``state`` is the previous one so the path is retried at the next scan."""
    restart: bool = False
    """The path is being read again from its start (it is new, or was
    rotated, truncated or replaced): the issues kept from its earlier
    contents no longer describe it."""
    moved_from: str | None = None
    """The file was kept under this other path at the last scan (a rotated
    log renamed since): what the ledger keeps of that path moves to this one."""


ReadMeter = Callable[[str, int], None]
"""Told a path and how many more of its bytes were just read."""


class Source(Protocol):
    """A reader of one kind of agent log or database."""

    name: str
    """Kind of source, the ``source`` of its records: ``hermes``, ..."""

    def locations(self) -> list[str]:
        """Paths this source reads now (files or databases)."""
        ...

    def scan(self, states: dict[str, PathState]) -> Iterator[ScanBatch]:
        """Read what is new since ``states`` (keyed by path)."""
        ...
