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

A file is read in chunks and handed to its parser a chunk's complete lines
at a time; a batch is yielded after the chunk in which the parser came to
hold ``batch_size`` records and events, so the memory used does not grow
with the file. The first batch of a file read from
its start is marked ``restart``, so that the ledger forgets the issues of
what the file held before.

Log files are often rotated by renaming: ``server.log`` becomes
``server.log.1``. A source with ``rotated = True`` also finds such files in
the folders it searches (a name ending in one of its suffixes followed by
``.`` and a number), and follows a renamed file by its device, inode and
first bytes: ``server.log.1`` goes on from where ``server.log`` was left,
and what the ledger keeps of the old name moves to the new one (the batch's
``moved_from``). A rotated file met without its history (copied, or renamed
twice between scans) is read whole; its records are keyed by their content,
so the lines it shares with the file it was are not counted twice.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from costaudit.record import UsageRecord
from costaudit.sources.base import (
    CallEvent,
    PathState,
    ReadMeter,
    ScanBatch,
    ScanIssue,
)

log = logging.getLogger(__name__)

HEAD_BYTES = 512
"""How much of a file's start identifies it (log headers differ by time)."""

CHUNK_BYTES = 1 << 20
BATCH_SIZE = 10_000


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

    def feed_lines(self, first: int, block: bytes, start: int, end: int) -> int:
        """Feed the lines of ``block[start:end]``, each ending in a newline,
        numbered from ``first``; return how many there were. A parser that
        can tell the lines it needs by a few bytes overrides this, to skip
        the others without handing them over one by one."""
        ends = line_ends(block, start, end)
        line = start
        for number, stop in enumerate(ends, first):
            self.feed(number, block[line:stop])
            line = stop + 1
        return len(ends)

    def pending(self) -> int:
        return len(self.records) + len(self.events)

    def take(
        self,
    ) -> tuple[Sequence[UsageRecord], list[CallEvent], list[ScanIssue]]:
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
    meter: ReadMeter | None = None,
) -> Iterator[ScanBatch]:
    """Read the complete lines added to ``path`` since ``state``; tell
    ``meter`` of every chunk read."""
    previous = state or PathState(source, path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 (closed in the finally below)
    except OSError as exc:
        yield ScanBatch(source, path, previous, error=cannot_read(path, exc))
        return
    try:
        yield from _scan_open(
            _Reading(source, path, make_parser, batch_size, chunk_bytes, meter),
            state,
            handle,
        )
    except OSError as exc:
        yield ScanBatch(source, path, previous, error=cannot_read(path, exc))
    finally:
        handle.close()


@dataclass(frozen=True, slots=True)
class _Reading:
    source: str
    path: str
    make_parser: ParserFactory
    batch_size: int
    chunk_bytes: int
    meter: ReadMeter | None


def follow_renames(
    paths: Iterable[str], states: dict[str, PathState]
) -> dict[str, PathState]:
    """``states`` plus, for each path whose file was kept under another name
    at the last scan, that name's state (whose ``path`` is the old name): it
    is matched by device and inode here, and by first bytes when used."""
    by_inode = {}
    for state in states.values():
        fingerprint = split_identity(state.identity)[0]
        if fingerprint is not None:
            by_inode[(fingerprint.dev, fingerprint.ino)] = state
    found = dict(states)
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        renamed = by_inode.get((st.st_dev, st.st_ino))
        if renamed is not None and renamed.path != path:
            found[path] = renamed
    return found


def renamed_first(
    paths: list[str], states: dict[str, PathState], followed: dict[str, PathState]
) -> list[str]:
    """``paths`` with the renamed files first, so that what was kept of an
    old name moves before a new file under that name is read; in a chain
    (``a.log.1`` to ``a.log.2``, ``a.log`` to ``a.log.1``) the older file
    moves first."""
    moves = {
        path: followed[path].path
        for path in paths
        if path in followed and followed[path].path != path
    }
    ordered: list[str] = []
    while moves:
        sources = set(moves.values())
        ready = [new for new in moves if new not in sources] or [next(iter(moves))]
        for new in ready:
            ordered.append(new)
            del moves[new]
    return ordered + [path for path in paths if path not in ordered]


def _scan_open(
    how: _Reading, state: PathState | None, handle: BinaryIO
) -> Iterator[ScanBatch]:
    st = os.fstat(handle.fileno())
    where = resume_point(state, st, handle)
    moved = state.path if state and state.path != how.path else None
    if where.fresh:
        moved = None
    if not where.fresh and not moved and st.st_size == where.offset:
        return
    fingerprint = fingerprint_open(handle, st)
    parser = how.make_parser(how.path, where.carry)
    counts = LineCounts(where.lines, where.records, where.issues)
    offset = stored = where.offset
    restart = unsaved = where.fresh or moved is not None
    handle.seek(offset)
    spans = complete_lines(handle, how.chunk_bytes, on_read=_told(how))
    for block, start, end in spans:
        counts.lines += parser.feed_lines(counts.lines + 1, block, start, end)
        offset += end - start
        if parser.pending() >= how.batch_size:
            batch = _batch(how, parser, counts, offset, st, fingerprint)
            batch.restart, batch.moved_from = restart and where.fresh, moved
            restart, moved = False, None
            yield batch
            stored, unsaved = offset, False
    if unsaved or offset != stored or parser.pending() or parser.issues:
        batch = _batch(how, parser, counts, offset, st, fingerprint)
        batch.restart, batch.moved_from = restart and where.fresh, moved
        yield batch


def _told(how: _Reading) -> Callable[[int], None] | None:
    meter, path = how.meter, how.path
    return None if meter is None else lambda size: meter(path, size)


def complete_lines(
    handle: BinaryIO,
    chunk_bytes: int,
    limit: int | None = None,
    on_read: Callable[[int], None] | None = None,
) -> Iterator[tuple[bytes, int, int]]:
    """The complete lines read from ``handle`` (up to ``limit`` bytes), as
    spans ``(block, start, end)``: ``block[start:end]`` is whole lines, each
    ending in a newline. A chunk is read at a time and its lines are handed
    over where they are: only the line cut by a chunk's end is copied. A
    last line without its newline is left unread. ``on_read`` is told the
    size of every chunk read."""
    rest = b""
    left = limit
    while left is None or left > 0:
        chunk = handle.read(chunk_bytes if left is None else min(chunk_bytes, left))
        if not chunk:
            return
        if left is not None:
            left -= len(chunk)
        if on_read is not None:
            on_read(len(chunk))
        start = 0
        if rest:
            cut = chunk.find(b"\n")
            if cut < 0:
                rest += chunk
                continue
            head = rest + chunk[: cut + 1]
            yield head, 0, len(head)
            start = cut + 1
        end = chunk.rfind(b"\n", start) + 1
        if end > start:
            yield chunk, start, end
        rest = chunk[max(end, start) :]


def line_ends(block: bytes, start: int = 0, end: int | None = None) -> list[int]:
    """Where the newlines of ``block[start:end]`` are, as positions in
    ``block`` (found with numpy, which looks at many bytes at once)."""
    import numpy as np

    stop = len(block) if end is None else end
    data = np.frombuffer(block, np.uint8, stop - start, start)
    ends: list[int] = (np.flatnonzero(data == 10) + start).tolist()
    return ends


def fingerprint_open(handle: BinaryIO, st: os.stat_result) -> Fingerprint:
    """The fingerprint of an open file as it is now."""
    length = min(HEAD_BYTES, st.st_size)
    return Fingerprint(st.st_dev, st.st_ino, length, head_hash(handle, length))


@dataclass(slots=True)
class LineCounts:
    lines: int
    records: int
    issues: int


def _batch(
    how: _Reading,
    parser: LineParser,
    counts: LineCounts,
    offset: int,
    st: os.stat_result,
    fingerprint: Fingerprint,
) -> ScanBatch:
    records, events, issues = parser.take()
    counts.records += len(records)
    counts.issues += len(issues)
    state = PathState(
        how.source,
        how.path,
        identity=join_identity(fingerprint, parser.carry()),
        size=st.st_size,
        offset=offset,
        watermark=float(counts.lines),
        records=counts.records,
        issues=counts.issues,
    )
    return ScanBatch(how.source, how.path, state, records, events, issues)


def bytes_left(path: str, state: PathState | None) -> int:
    """How many bytes of ``path`` a scan will read, judged from its size and
    device and inode alone (a replaced file that kept them is read whole all
    the same, so this may fall short)."""
    st = os.stat(path)
    old = split_identity(state.identity)[0] if state is not None else None
    if state is None or old is None or (old.dev, old.ino) != (st.st_dev, st.st_ino):
        return st.st_size
    if st.st_size == state.size:
        return 0
    return st.st_size - state.offset if st.st_size >= state.offset else st.st_size


def error_batch(
    source: str, path: str, state: PathState | None, message: str
) -> ScanBatch:
    """A batch telling the ledger that ``path`` could not be read at all."""
    return ScanBatch(source, path, state or PathState(source, path), error=message)


def os_error_reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def expand(
    patterns: Iterable[str], suffixes: tuple[str, ...], *, rotated: bool = False
) -> list[str]:
    """Files named by ``patterns``: files, directories (searched recursively
    for names ending in ``suffixes``, and with ``rotated`` their numbered
    backups such as ``server.log.1``) or glob patterns; sorted, no repeats."""
    found: set[str] = set()
    for pattern in patterns:
        expanded = os.path.abspath(os.path.expanduser(pattern))
        matches = (
            glob.glob(expanded, recursive=True)
            if glob.has_magic(expanded)
            else [expanded]
        )
        for match in matches:
            found.update(_files_under(Path(match), suffixes, rotated))
    return sorted(found)


def wanted(name: str, suffixes: tuple[str, ...], rotated: bool) -> bool:
    """Whether a file name found in a folder is one a source reads."""
    if name.endswith(suffixes):
        return True
    if not rotated:
        return False
    base, dot, number = name.rpartition(".")
    return bool(dot) and number.isdigit() and base.endswith(suffixes)


def _files_under(path: Path, suffixes: tuple[str, ...], rotated: bool) -> Iterator[str]:
    if path.is_file():
        yield str(path)
    elif path.is_dir():
        for root, _dirs, names in os.walk(path):
            for name in names:
                if wanted(name, suffixes, rotated):
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
    """A source that reads the log files named by glob patterns or folders.

    A source whose parser keeps nothing from one line to the next
    (``splittable``), given ``workers`` above 1, has its files cut into pieces
    at line ends and parsed by that many worker processes when there is
    enough to read (see :mod:`workers`); the batches still come out in file
    order, so the last line of a message still wins. Should a worker die, the
    rest is read in this process.
    """

    name = ""
    suffixes: tuple[str, ...] = (".jsonl",)
    rotated = False
    """Also find numbered backups (``server.log.1``) in the folders searched."""
    splittable = False

    def __init__(
        self,
        patterns: Iterable[str],
        *,
        batch_size: int = BATCH_SIZE,
        workers: int | None = None,
    ):
        self.patterns = list(patterns)
        self.batch_size = batch_size
        self.workers = workers or 1

    def locations(self) -> list[str]:
        return expand(self.patterns, self.suffixes, rotated=self.rotated)

    def parser(self, path: str, carry: str) -> LineParser:
        raise NotImplementedError

    def bytes_to_read(self, states: dict[str, PathState]) -> dict[str, int]:
        """Bytes a scan from ``states`` will read, per path (for progress)."""
        paths = self.locations()
        if self.rotated:
            states = follow_renames(paths, states)
        todo = {}
        for path in paths:
            try:
                todo[path] = bytes_left(path, states.get(path))
            except OSError:
                todo[path] = 0
        return todo

    def scan(
        self, states: dict[str, PathState], meter: ReadMeter | None = None
    ) -> Iterator[ScanBatch]:
        paths = self.locations()
        if self.splittable and self.workers > 1:
            from costaudit.sources.pieces import scan_in_pieces

            yield from scan_in_pieces(self, paths, states, meter)
            return
        if self.rotated:
            followed = follow_renames(paths, states)
            paths = renamed_first(paths, states, followed)
            states = followed
        for path in paths:
            yield from scan_lines(
                self.name,
                path,
                states.get(path),
                self.parser,
                batch_size=self.batch_size,
                meter=meter,
            )


def cannot_read(path: str, exc: OSError) -> str:
    """The error a scan reports for a file it could not read."""
    return f"{path}: cannot read: {os_error_reason(exc)}"
