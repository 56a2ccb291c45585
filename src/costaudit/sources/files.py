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
import multiprocessing
import multiprocessing.context
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
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
        yield ScanBatch(source, path, previous, error=_cannot(path, exc))
        return
    try:
        yield from _scan_open(
            source, path, state, make_parser, handle, batch_size, chunk_bytes
        )
    except OSError as exc:
        yield ScanBatch(source, path, previous, error=_cannot(path, exc))
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
            offset += len(line) + 1
            parser.feed(counts.lines, line)
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
    """A source that reads the log files named by glob patterns or folders.

    A source whose parser keeps nothing from one line to the next
    (``splittable``), given ``workers`` above 1, has its files cut into pieces
    at line ends and parsed by that many worker processes when there is
    enough to read; the batches still come out in file order, so the last
    line of a message still wins. The workers are started with the
    ``forkserver`` method (``spawn`` where there is none), so, as usual with
    multiprocessing, a script that scans must guard its top-level code with
    ``if __name__ == "__main__"``. Should a worker die, the rest is read in
    this process.
    """

    name = ""
    suffixes: tuple[str, ...] = (".jsonl",)
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
        return expand(self.patterns, self.suffixes)

    def parser(self, path: str, carry: str) -> LineParser:
        raise NotImplementedError

    def scan(self, states: dict[str, PathState]) -> Iterator[ScanBatch]:
        paths = self.locations()
        if self.splittable and self.workers > 1:
            yield from scan_in_pieces(self, paths, states)
            return
        for path in paths:
            yield from scan_lines(
                self.name,
                path,
                states.get(path),
                self.parser,
                batch_size=self.batch_size,
            )


# Reading in pieces, in worker processes.

PIECE_BYTES = 32 << 20
PARALLEL_MIN_BYTES = 64 << 20
"""Below this much to read, starting worker processes costs more than it saves."""


@dataclass(frozen=True, slots=True)
class Piece:
    """Bytes ``start`` to ``end`` of a file; ``start`` begins a line."""

    path: str
    start: int
    end: int


@dataclass(slots=True)
class Parsed:
    """What a worker read from part of a piece."""

    records: list[UsageRecord]
    events: list[CallEvent]
    issues: list[ScanIssue]
    """Line numbers counted from the piece's start."""
    lines: int
    end: int
    """Offset after the last complete line read."""


@dataclass(slots=True)
class _Plan:
    path: str
    where: Resume
    fingerprint: Fingerprint
    st: os.stat_result
    pieces: list[Piece]


def parse_piece(
    make_parser: ParserFactory, piece: Piece, batch_size: int
) -> list[Parsed]:
    """Parse the complete lines of a piece (run in a worker process)."""
    parser = make_parser(piece.path, "")
    found: list[Parsed] = []
    lines = 0
    offset = marked = piece.start
    with open(piece.path, "rb") as handle:
        handle.seek(piece.start)
        left = piece.end - piece.start
        rest = b""
        while left > 0 and (chunk := handle.read(min(CHUNK_BYTES, left))):
            left -= len(chunk)
            parts = (rest + chunk if rest else chunk).split(b"\n")
            rest = parts.pop()
            for line in parts:
                lines += 1
                offset += len(line) + 1
                parser.feed(lines, line)
                if parser.pending() >= batch_size:
                    found.append(Parsed(*parser.take(), lines, offset))
                    marked = offset
    if offset != marked or parser.pending() or parser.issues or not found:
        found.append(Parsed(*parser.take(), lines, offset))
    return found


def scan_in_pieces(
    source: FileSource, paths: list[str], states: dict[str, PathState]
) -> Iterator[ScanBatch]:
    """Scan ``paths`` with worker processes when there is enough to read."""
    plans = []
    for path in paths:
        try:
            plan = _plan(path, states.get(path))
        except OSError as exc:
            yield error_batch(source.name, path, states.get(path), _cannot(path, exc))
            continue
        if plan is not None:
            plans.append(plan)
    todo = sum(plan.pieces[-1].end - plan.where.offset for plan in plans)
    if todo < PARALLEL_MIN_BYTES:
        for plan in plans:
            yield from scan_lines(
                source.name,
                plan.path,
                states.get(plan.path),
                source.parser,
                batch_size=source.batch_size,
            )
        return
    log.info("reading %d MiB in %d processes", todo >> 20, source.workers)
    progress = _Progress(plans)
    try:
        with ProcessPoolExecutor(source.workers, mp_context=_context()) as pool:
            yield from _run(pool, source, plans, progress)
    except BrokenProcessPool as exc:
        log.warning("worker processes failed (%s): reading on in this one", exc)
        for plan in plans:
            if progress.left[plan.path] and plan.path not in progress.failed:
                yield from scan_lines(
                    source.name,
                    plan.path,
                    progress.states.get(plan.path, states.get(plan.path)),
                    source.parser,
                    batch_size=source.batch_size,
                )


class _Progress:
    """How far the pieces of each file have been handed over."""

    def __init__(self, plans: list[_Plan]) -> None:
        self.counts = {
            p.path: _Counts(p.where.lines, p.where.records, p.where.issues)
            for p in plans
        }
        self.left = {p.path: len(p.pieces) for p in plans}
        self.states: dict[str, PathState] = {}
        self.failed: set[str] = set()


def _plan(path: str, state: PathState | None) -> _Plan | None:
    with open(path, "rb") as handle:
        st = os.fstat(handle.fileno())
        where = resume_point(state, st, handle)
        if not where.fresh and st.st_size == where.offset:
            return None
        fingerprint = fingerprint_open(handle, st)
        return _Plan(path, where, fingerprint, st, _cut(handle, path, where.offset, st))


def _cut(handle: BinaryIO, path: str, start: int, st: os.stat_result) -> list[Piece]:
    """Pieces of about PIECE_BYTES from ``start``, each ending a line."""
    pieces = []
    while st.st_size - start > PIECE_BYTES:
        handle.seek(start + PIECE_BYTES)
        tail = handle.readline()
        if not tail.endswith(b"\n"):
            break
        end = start + PIECE_BYTES + len(tail)
        pieces.append(Piece(path, start, end))
        start = end
    pieces.append(Piece(path, start, st.st_size))
    return pieces


def _context() -> multiprocessing.context.BaseContext:
    # Workers are started from a clean server process rather than forked from
    # this one, which may hold the ledger's database threads.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context(
        "forkserver" if "forkserver" in methods else "spawn"
    )


def _run(
    pool: ProcessPoolExecutor,
    source: FileSource,
    plans: list[_Plan],
    progress: _Progress,
) -> Iterator[ScanBatch]:
    window: deque[tuple[_Plan, Future[list[Parsed]]]] = deque()
    for plan in plans:
        for piece in plan.pieces:
            job = pool.submit(parse_piece, source.parser, piece, source.batch_size)
            window.append((plan, job))
            if len(window) > 2 * source.workers:
                yield from _collect(source.name, *window.popleft(), progress)
    while window:
        yield from _collect(source.name, *window.popleft(), progress)


def _collect(
    name: str, plan: _Plan, job: Future[list[Parsed]], progress: _Progress
) -> Iterator[ScanBatch]:
    """Batches of one finished piece, numbered on from the file's earlier ones."""
    if plan.path in progress.failed:
        return
    try:
        parts = job.result()
    except OSError as exc:
        progress.failed.add(plan.path)
        yield error_batch(name, plan.path, None, _cannot(plan.path, exc))
        return
    count = progress.counts[plan.path]
    for part in parts:
        issues = [
            ScanIssue(
                i.path, None if i.line is None else i.line + count.lines, i.message
            )
            for i in part.issues
        ]
        count.lines += part.lines
        count.records += len(part.records)
        count.issues += len(issues)
        state = PathState(
            name,
            plan.path,
            plan.fingerprint.text(),
            plan.st.st_size,
            part.end,
            float(count.lines),
            count.records,
            count.issues,
        )
        progress.states[plan.path] = state
        yield ScanBatch(name, plan.path, state, part.records, part.events, issues)
    progress.left[plan.path] -= 1


def _cannot(path: str, exc: OSError) -> str:
    return f"{path}: cannot read: {_why(exc)}"
