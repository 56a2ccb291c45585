"""Scanning: feeding every source's new data into the ledger.

A scan tells what it changed: each record handed over by a source is
*inserted* (new key), *updated* (known key, different content) or
*unchanged* (the same content read again, as when a rotated log or a
database is re-read); only the first two are written. The summary keeps the
first :data:`MAX_ISSUES_KEPT` issues in memory and counts the rest: the
ledger keeps them all (``costaudit sources --issues`` lists them).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from costaudit.errors import SourceError
from costaudit.ledger.store import Ledger, StoreCounts
from costaudit.sources.base import PathState, ScanBatch, ScanIssue, Source
from costaudit.sources.files import FileSource

log = logging.getLogger(__name__)

# Many small files make many small batches: store them together.
FLUSH_ROWS = 10_000
FLUSH_BATCHES = 1_000
COMMIT_ROWS = 131_072
"""Rows stored per transaction: more than a DuckDB row group, which DuckDB
then writes to the file once rather than through its log (see
:meth:`Ledger.writing`). An interrupted scan loses at most that much, which
the next scan reads again."""
MAX_ISSUES_KEPT = 1_000


@dataclass
class ScanMeter:
    """How far a scan has got, in bytes read out of bytes to read.

    ``total_bytes`` is summed from the sizes of the files to read before any
    is read; ``done_bytes`` grows as sources read chunks (file sources) or
    finish a path (database sources, counted whole). It never passes the
    total, even when a file grew or was read again from its start.
    """

    total_bytes: int = 0
    done_bytes: int = 0
    path: str = ""
    records: int = 0
    """Records written so far (inserted or updated)."""
    todo: dict[str, int] = field(default_factory=dict)
    """Bytes still expected per path."""

    def expect(self, todo: dict[str, int]) -> None:
        for path, size in todo.items():
            self.todo[path] = self.todo.get(path, 0) + size
            self.total_bytes += size

    def read(self, path: str, size: int) -> None:
        """``size`` more bytes of ``path`` were read."""
        left = self.todo.get(path, 0)
        step = min(size, left)
        self.todo[path] = left - step
        self.done_bytes += step
        self.path = path

    def finish(self, path: str) -> None:
        """``path`` was read to its end: whatever was expected of it is done."""
        self.read(path, self.todo.get(path, 0))

    @property
    def fraction(self) -> float:
        return self.done_bytes / self.total_bytes if self.total_bytes else 1.0


Progress = Callable[[ScanMeter], None]
"""Called with the scan's meter whenever it moves."""


@dataclass
class PathOutcome:
    """What one scan did with one path."""

    source: str
    issues: int = 0
    error: str | None = None
    """Why the path could not be read (it is retried at the next scan)."""

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass
class ScanSummary:
    """What one scan changed, per source, and what went wrong.

    ``records`` and ``events`` count per source what was written: new plus
    changed. ``unchanged`` counts records read again with the same content,
    which are not written.
    """

    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    paths: dict[str, PathOutcome] = field(default_factory=dict)
    """Every path a source handed something over for, or failed to read."""
    issues: list[ScanIssue] = field(default_factory=list)
    """The first :data:`MAX_ISSUES_KEPT` issues; ``issue_count`` has them all."""
    issue_count: int = 0
    errors: list[str] = field(default_factory=list)
    """Whole files or sources that could not be read (named in the message)."""

    @property
    def records(self) -> dict[str, int]:
        """Records written per source (inserted plus updated)."""
        names = self.inserted.keys() | self.updated.keys()
        return {
            n: self.inserted.get(n, 0) + self.updated.get(n, 0) for n in sorted(names)
        }

    @property
    def total_records(self) -> int:
        return sum(self.records.values())

    @property
    def failed(self) -> bool:
        """True when a path or a whole source could not be read."""
        return bool(self.errors)

    def failed_paths(self) -> dict[str, str]:
        """Each path that could not be read, with the reason."""
        return {p: o.error for p, o in self.paths.items() if o.error is not None}

    def headline(self) -> str:
        """One line for the user: what the scan changed, or ``nothing new``,
        and how many records were read again unchanged (a rotated log, a
        database read again), when some were."""
        inserted = sum(self.inserted.values())
        updated = sum(self.updated.values())
        events = sum(self.events.values())
        parts = [
            _plural(inserted, "new record"),
            _plural(updated, "updated record"),
            _plural(events, "new or updated call event"),
        ]
        changed = ", ".join(part for part in parts if part) or "nothing new"
        unchanged = sum(self.unchanged.values())
        if not unchanged:
            return changed
        again = "record" if unchanged == 1 else "records"
        return f"{changed}; {unchanged:,} {again} read again, unchanged"

    def add_issues(self, issues: Sequence[ScanIssue]) -> None:
        room = MAX_ISSUES_KEPT - len(self.issues)
        if room > 0:
            self.issues.extend(issues[:room])
        self.issue_count += len(issues)

    def add_counts(self, counts: StoreCounts) -> None:
        for name, n in counts.inserted.items():
            self.inserted[name] = self.inserted.get(name, 0) + n
        for name, n in counts.updated.items():
            self.updated[name] = self.updated.get(name, 0) + n
        for name, n in counts.unchanged.items():
            self.unchanged[name] = self.unchanged.get(name, 0) + n
        for name, n in counts.events.items():
            self.events[name] = self.events.get(name, 0) + n

    def fail(self, source: str, path: str | None, message: str) -> None:
        self.errors.append(message)
        if path is not None:
            self.paths.setdefault(path, PathOutcome(source)).error = message


def _plural(count: int, noun: str) -> str:
    if not count:
        return ""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def ingest(
    ledger: Ledger, sources: Sequence[Source], progress: Progress | None = None
) -> ScanSummary:
    """Read what is new in every source and store it.

    A source error (a corrupt database, an unreadable file) is recorded in the
    summary and the scan goes on with the other paths: nothing already stored
    is lost, and the failed path is retried at the next scan.
    """
    summary = ScanSummary()
    meter = ScanMeter()
    plans = []
    for source in sources:
        states = ledger.path_states(source.name)
        todo = _bytes_to_read(source, states)
        meter.expect(todo)
        plans.append((source, states, todo))
    tell = _Tell(meter, progress)
    with ledger.scan_memory():
        for source, states, todo in plans:
            for table in (summary.inserted, summary.updated, summary.unchanged):
                table.setdefault(source.name, 0)
            summary.events.setdefault(source.name, 0)
            _ingest_source(ledger, source, states, summary, tell)
            for path in todo:
                tell.finish(path)
    return summary


@dataclass
class _Tell:
    """Moves the meter and tells the caller, if it listens."""

    meter: ScanMeter
    progress: Progress | None

    def read(self, path: str, size: int) -> None:
        self.meter.read(path, size)
        if self.progress is not None:
            self.progress(self.meter)

    def finish(self, path: str) -> None:
        left = self.meter.todo.get(path, 0)
        if left:
            self.read(path, left)


def _ingest_source(
    ledger: Ledger,
    source: Source,
    states: dict[str, PathState],
    summary: ScanSummary,
    tell: _Tell,
) -> None:
    with ledger.writing():
        writer = _Writer(ledger, summary, tell)
        try:
            _read_source(source, states, summary, tell, writer)
        finally:
            writer.close()


class _Writer:
    """Stores what the source reads in a thread of its own.

    DuckDB lets go of Python's lock while it works, so the source parses its
    next lines meanwhile: on two cores, storing costs a scan next to nothing.
    At most one flush waits while another is stored, so memory stays
    bounded. The ledger is used by this thread alone until :meth:`close`.
    """

    def __init__(self, ledger: Ledger, summary: ScanSummary, tell: _Tell) -> None:
        self.ledger = ledger
        self.summary = summary
        self.tell = tell
        self.uncommitted = 0
        self.error: BaseException | None = None
        self.queue: queue.Queue[list[ScanBatch] | None] = queue.Queue(maxsize=1)
        self.thread = threading.Thread(target=self._run, name="ledger-writer")
        self.thread.start()

    def put(self, batches: list[ScanBatch]) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(batches)

    def close(self) -> None:
        """Store what is queued; raise what storing raised."""
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        while (batches := self.queue.get()) is not None:
            if self.error is not None:
                continue
            try:
                self._store(batches)
            except BaseException as exc:  # handed to the reading thread
                self.error = exc

    def _store(self, batches: list[ScanBatch]) -> None:
        self.uncommitted += _flush(self.ledger, batches, self.summary, self.tell)
        if self.uncommitted >= COMMIT_ROWS:
            self.ledger.commit_and_begin()
            self.uncommitted = 0


def _read_source(
    source: Source,
    states: dict[str, PathState],
    summary: ScanSummary,
    tell: _Tell,
    writer: _Writer,
) -> None:
    pending: list[ScanBatch] = []
    try:
        batches = (
            source.scan(states, tell.read)
            if isinstance(source, FileSource)
            else source.scan(states)
        )
        for batch in batches:
            if batch.error is not None:
                log.warning("%s", batch.error)
                summary.fail(source.name, batch.path, batch.error)
                tell.finish(batch.path)
                continue
            if not isinstance(source, FileSource):
                tell.finish(batch.path)
            pending.append(batch)
            if _size(pending) >= FLUSH_ROWS or len(pending) >= FLUSH_BATCHES:
                writer.put(pending)
                pending = []
    except SourceError as exc:
        log.warning("%s", exc)
        summary.fail(source.name, None, str(exc))
    # What was read before an error is stored too: nothing is lost.
    if pending:
        writer.put(pending)


def _bytes_to_read(source: Source, states: dict[str, PathState]) -> dict[str, int]:
    """Per path, the bytes a scan of ``source`` will read; a database counts
    its whole size when it changed since the last scan."""
    if isinstance(source, FileSource):
        return source.bytes_to_read(states)
    todo = {}
    for path in source.locations():
        try:
            size = os.stat(path).st_size
        except OSError:
            continue
        state = states.get(path)
        todo[path] = 0 if state is not None and state.size == size else size
    return todo


def _size(batches: Sequence[ScanBatch]) -> int:
    return sum(len(b.records) + len(b.events) for b in batches)


def _flush(
    ledger: Ledger, batches: Sequence[ScanBatch], summary: ScanSummary, tell: _Tell
) -> int:
    """Store ``batches`` in the open transaction; return the rows stored."""
    if not batches:
        return 0
    counts = ledger.store_batches(batches, in_transaction=True)
    summary.add_counts(counts)
    for batch in batches:
        outcome = summary.paths.setdefault(batch.path, PathOutcome(batch.source))
        outcome.issues += len(batch.issues)
        summary.add_issues(batch.issues)
    tell.meter.records += sum(counts.inserted.values()) + sum(counts.updated.values())
    if tell.progress is not None:
        tell.progress(tell.meter)
    return _size(batches)
