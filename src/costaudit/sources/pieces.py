"""Reading large log files in pieces, parsed by worker processes.

A source whose lines stand alone (``splittable``) may have a large scan cut
into pieces of about :data:`PIECE_BYTES`, each starting at a line, that
worker processes (:mod:`costaudit.sources.workers`) parse at the same time.
The pieces' results are put back in file order, so the batches, line
numbers and saved offsets are those a reading in one process gives.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from costaudit.record import UsageRecord
from costaudit.sources.base import (
    CallEvent,
    PathState,
    ReadMeter,
    ScanBatch,
    ScanIssue,
)
from costaudit.sources.files import (
    CHUNK_BYTES,
    FileSource,
    Fingerprint,
    LineCounts,
    ParserFactory,
    Resume,
    cannot_read,
    complete_lines,
    error_batch,
    fingerprint_open,
    resume_point,
    scan_lines,
)

if TYPE_CHECKING:
    from costaudit.sources.workers import WorkerPool

log = logging.getLogger(__name__)

PIECE_BYTES = 32 << 20
PARALLEL_MIN_BYTES = 64 << 20
"""Below this much to read, starting worker processes costs more than it saves."""
MAX_WORKERS = 4
"""Worker processes a scan starts at most by default: each holds some 40 MB,
and the scan's own process stores what they read."""


def default_workers() -> int:
    """Worker processes to parse a large scan with: one per CPU this process
    may run on, up to :data:`MAX_WORKERS`; 1 means none (read in this one)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


@dataclass(frozen=True, slots=True)
class Piece:
    """Bytes ``start`` to ``end`` of a file; ``start`` begins a line."""

    path: str
    start: int
    end: int


@dataclass(slots=True)
class Parsed:
    """What a worker read from part of a piece."""

    records: Sequence[UsageRecord]
    events: list[CallEvent]
    issues: list[ScanIssue]
    """Line numbers counted from the piece's start."""
    lines: int
    """Lines read from the piece's start to ``end``."""
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
        spans = complete_lines(handle, CHUNK_BYTES, piece.end - piece.start)
        for block, start, end in spans:
            lines += parser.feed_lines(lines + 1, block, start, end)
            offset += end - start
            if parser.pending() >= batch_size:
                found.append(Parsed(*parser.take(), lines, offset))
                marked = offset
    if offset != marked or parser.pending() or parser.issues or not found:
        found.append(Parsed(*parser.take(), lines, offset))
    return found


def scan_in_pieces(
    source: FileSource,
    paths: list[str],
    states: dict[str, PathState],
    meter: ReadMeter | None = None,
) -> Iterator[ScanBatch]:
    """Scan ``paths`` with worker processes when there is enough to read."""
    plans = []
    for path in paths:
        try:
            plan = _plan(path, states.get(path))
        except OSError as exc:
            yield error_batch(
                source.name, path, states.get(path), cannot_read(path, exc)
            )
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
                meter=meter,
            )
        return
    from costaudit.sources.workers import WorkerError, WorkerPool

    log.info("reading %d MiB in %d processes", todo >> 20, source.workers)
    progress = _Progress(plans, meter)
    try:
        with WorkerPool(source.workers) as pool:
            yield from _run(pool, source, plans, progress)
    except (WorkerError, OSError) as exc:
        log.warning("worker processes failed (%s): reading on in this one", exc)
        for plan in plans:
            if progress.left[plan.path] and plan.path not in progress.failed:
                yield from scan_lines(
                    source.name,
                    plan.path,
                    progress.states.get(plan.path, states.get(plan.path)),
                    source.parser,
                    batch_size=source.batch_size,
                    meter=meter,
                )


class _Progress:
    """How far the pieces of each file have been handed over."""

    def __init__(self, plans: list[_Plan], meter: ReadMeter | None) -> None:
        self.counts = {
            p.path: LineCounts(p.where.lines, p.where.records, p.where.issues)
            for p in plans
        }
        self.left = {p.path: len(p.pieces) for p in plans}
        self.states: dict[str, PathState] = {}
        self.failed: set[str] = set()
        self.restart = {p.path for p in plans if p.where.fresh}
        self.meter = meter


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


def _run(
    pool: WorkerPool,
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
        yield error_batch(name, plan.path, None, cannot_read(plan.path, exc))
        return
    count = progress.counts[plan.path]
    start = progress.states[plan.path].offset if plan.path in progress.states else 0
    base = count.lines
    for part in parts:
        issues = [
            ScanIssue(i.path, None if i.line is None else i.line + base, i.message)
            for i in part.issues
        ]
        count.lines = base + part.lines
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
        batch = ScanBatch(name, plan.path, state, part.records, part.events, issues)
        batch.restart = plan.path in progress.restart
        progress.restart.discard(plan.path)
        if progress.meter is not None:
            progress.meter(plan.path, part.end - max(start, plan.where.offset))
            start = part.end
        yield batch
    progress.left[plan.path] -= 1
