"""Reading append-only log files fast, incrementally and in bounded memory.

Every file source reads through :func:`scan_lines`. What the ledger keeps of a
file (its :class:`~costaudit.sources.base.PathState`) is used this way:

- ``offset``: bytes consumed, always the end of the last complete line read;
  a last line without its newline is left for the next scan, since the writer
  may be in the middle of it;
- ``watermark``: the number of lines consumed, so that the line numbers of
  issues stay right when a later scan starts in the middle of the file;
- ``identity``: ``dev:ino:n:hash``, the device and inode of the file and a
  hash of its first ``n`` bytes, optionally followed by a space and a small
  JSON text that the parser carries from one scan to the next (such as the
  session a log's earlier lines named). A file whose device, inode or first
  bytes changed, or that became shorter than the offset, was rotated,
  truncated or replaced: it is read again from its start. Records are upserted
  by their natural key, so reading a file again never counts a record twice.

A file is read in chunks and handed to its parser line by line; a batch is
yielded whenever the parser holds ``batch_size`` records and events, so the
memory used does not grow with the file.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from costaudit.record import UsageRecord
from costaudit.sources.base import CallEvent, PathState, ScanBatch, ScanIssue

log = logging.getLogger(__name__)

HEAD_BYTES = 512
"""How much of a file's start identifies it (log headers differ by time)."""

CHUNK_BYTES = 4 << 20
BATCH_SIZE = 20_000


class LineParser:
    """Turns the lines of one file into records, events and issues.

    Subclasses override :meth:`feed`; :meth:`carry` returns what must survive
    to the next scan (restored through the ``carry`` given to the factory).
    """

    def __init__(self, path: str, carry: str = "") -> None:
        self.path = path
        self.records: list[UsageRecord] = []
        self.events: list[CallEvent] = []
        self.issues: list[ScanIssue] = []

    def feed(self, number: int, line: bytes) -> None:
        raise NotImplementedError

    def pending(self) -> int:
        return len(self.records) + len(self.events)

    def take(self) -> tuple[list[UsageRecord], list[CallEvent], list[ScanIssue]]:
        taken = (self.records, self.events, self.issues)
        self.records, self.events, self.issues = [], [], []
        return taken

    def issue(self, number: int | None, message: str) -> None:
        self.issues.append(ScanIssue(self.path, number, message))

    def carry(self) -> str:
        return ""


ParserFactory = Callable[[str, str], LineParser]
"""Called with a path and the carried text to make that file's parser."""


@dataclass(frozen=True, slots=True)
class Fingerprint:
    dev: int
    ino: int
    head_len: int
    head_hash: str

    def text(self) -> str:
        return f"{self.dev}:{self.ino}:{self.head_len}:{self.head_hash}"


def head_hash(handle: BinaryIO, length: int) -> str:
    """Hash of the first ``length`` bytes of an open binary file."""
    handle.seek(0)
    return hashlib.blake2b(handle.read(length), digest_size=8).hexdigest()


def split_identity(identity: str) -> tuple[Fingerprint | None, str]:
    """The fingerprint and the carried text kept in ``PathState.identity``."""
    text, _, carry = identity.partition(" ")
    parts = text.split(":")
    if len(parts) != 4:
        return None, ""
    try:
        return Fingerprint(int(parts[0]), int(parts[1]), int(parts[2]), parts[3]), carry
    except ValueError:
        return None, ""


def join_identity(fingerprint: Fingerprint, carry: str) -> str:
    return f"{fingerprint.text()} {carry}" if carry else fingerprint.text()


@dataclass(slots=True)
class Resume:
    """Where to start reading a file, and the counts so far."""

    offset: int
    lines: int
    records: int
    issues: int
    carry: str
    fresh: bool
    """True when the file is new, or was rotated, truncated or replaced."""


def resume_point(
    state: PathState | None, st: os.stat_result, handle: BinaryIO
) -> Resume:
    """Decide whether to go on from ``state`` or to read the file again."""
    if state is None:
        return Resume(0, 0, 0, 0, "", True)
    old, carry = split_identity(state.identity)
    same = (
        old is not None
        and (old.dev, old.ino) == (st.st_dev, st.st_ino)
        and st.st_size >= state.offset
        and st.st_size >= old.head_len
        and head_hash(handle, old.head_len) == old.head_hash
    )
    if not same:
        log.info("%s was rotated, truncated or replaced: reading it again", state.path)
        return Resume(0, 0, 0, 0, "", True)
    lines = int(state.watermark or 0)
    return Resume(state.offset, lines, state.records, state.issues, carry, False)


def scan_lines(
    source: str,
    path: str,
    state: PathState | None,
    make_parser: ParserFactory,
    *,
    batch_size: int = BATCH_SIZE,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[ScanBatch]:
    """Read the complete lines added to ``path`` since ``state``."""
    previous = state or PathState(source, path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed in the finally below)
    except OSError as exc:
        yield ScanBatch(
            source, path, previous, error=f"{path}: cannot read: {_why(exc)}"
        )
        return
    try:
        yield from _scan_open(
            source, path, state, make_parser, handle, batch_size, chunk_bytes
        )
    except OSError as exc:
        yield ScanBatch(
            source, path, previous, error=f"{path}: cannot read: {_why(exc)}"
        )
    finally:
        handle.close()


def _scan_open(
    source: str,
    path: str,
    state: PathState | None,
    make_parser: ParserFactory,
    handle: BinaryIO,
    batch_size: int,
    chunk_bytes: int,
) -> Iterator[ScanBatch]:
    st = os.fstat(handle.fileno())
    where = resume_point(state, st, handle)
    if not where.fresh and st.st_size == where.offset:
        return
    fingerprint = fingerprint_open(handle, st)
    parser = make_parser(path, where.carry)
    counts = _Counts(where.lines, where.records, where.issues)
    offset = stored = where.offset
    unsaved = where.fresh
    handle.seek(offset)
    rest = b""
    while chunk := handle.read(chunk_bytes):
        buffer = rest + chunk if rest else chunk
        lines = buffer.split(b"\n")
        rest = lines.pop()
        for line in lines:
            counts.lines += 1
            parser.feed(counts.lines, line)
        offset += len(buffer) - len(rest)
        if parser.pending() >= batch_size:
            yield _batch(source, path, parser, counts, offset, st, fingerprint)
            stored, unsaved = offset, False
    if unsaved or offset != stored or parser.pending() or parser.issues:
        yield _batch(source, path, parser, counts, offset, st, fingerprint)


def fingerprint_open(handle: BinaryIO, st: os.stat_result) -> Fingerprint:
    """The fingerprint of an open file as it is now."""
    length = min(HEAD_BYTES, st.st_size)
    return Fingerprint(st.st_dev, st.st_ino, length, head_hash(handle, length))


@dataclass(slots=True)
class _Counts:
    lines: int
    records: int
    issues: int


def _batch(
    source: str,
    path: str,
    parser: LineParser,
    counts: _Counts,
    offset: int,
    st: os.stat_result,
    fingerprint: Fingerprint,
) -> ScanBatch:
    records, events, issues = parser.take()
    counts.records += len(records)
    counts.issues += len(issues)
    state = PathState(
        source,
        path,
        identity=join_identity(fingerprint, parser.carry()),
        size=st.st_size,
        offset=offset,
        watermark=float(counts.lines),
        records=counts.records,
        issues=counts.issues,
    )
    return ScanBatch(source, path, state, records, events, issues)


def error_batch(
    source: str, path: str, state: PathState | None, message: str
) -> ScanBatch:
    """A batch telling the ledger that ``path`` could not be read at all."""
    return ScanBatch(source, path, state or PathState(source, path), error=message)


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def expand(patterns: Iterable[str], suffixes: tuple[str, ...]) -> list[str]:
    """Files named by ``patterns``: files, directories (searched recursively
    for names ending in ``suffixes``) or glob patterns; sorted, no repeats."""
    found: set[str] = set()
    for pattern in patterns:
        expanded = os.path.abspath(os.path.expanduser(pattern))
        matches = (
            glob.glob(expanded, recursive=True)
            if glob.has_magic(expanded)
            else [expanded]
        )
        for match in matches:
            found.update(_files_under(Path(match), suffixes))
    return sorted(found)


def _files_under(path: Path, suffixes: tuple[str, ...]) -> Iterator[str]:
    if path.is_file():
        yield str(path)
    elif path.is_dir():
        for root, _dirs, names in os.walk(path):
            for name in names:
                if name.endswith(suffixes):
                    yield os.path.join(root, name)


def parse_time(text: object) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime (naive taken as UTC)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def from_epoch(value: object, scale: float = 1.0) -> datetime | None:
    """A Unix time (divided by ``scale``: 1e9 for nanoseconds) as UTC."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value / scale, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


class FileSource:
    """A source that reads the log files named by glob patterns or folders."""

    name = ""
    suffixes: tuple[str, ...] = (".jsonl",)

    def __init__(self, patterns: Iterable[str], *, batch_size: int = BATCH_SIZE):
        self.patterns = list(patterns)
        self.batch_size = batch_size

    def locations(self) -> list[str]:
        return expand(self.patterns, self.suffixes)

    def parser(self, path: str, carry: str) -> LineParser:
        raise NotImplementedError

    def scan(self, states: dict[str, PathState]) -> Iterator[ScanBatch]:
        for path in self.locations():
            yield from scan_lines(
                self.name,
                path,
                states.get(path),
                self.parser,
                batch_size=self.batch_size,
            )
