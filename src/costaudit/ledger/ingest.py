"""Scanning: feeding every source's new data into the ledger."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from costaudit.errors import SourceError
from costaudit.ledger.store import Ledger
from costaudit.sources.base import ScanBatch, ScanIssue, Source

log = logging.getLogger(__name__)

# Many small files make many small batches: store them together.
FLUSH_ROWS = 20_000
FLUSH_BATCHES = 1_000

Progress = Callable[[str, int], None]
"""Called with a path and the records just stored from it."""


@dataclass
class ScanSummary:
    """What one scan read, per source, and what went wrong."""

    records: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    paths: dict[str, int] = field(default_factory=dict)
    issues: list[ScanIssue] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Whole files that could not be read (named in the message)."""

    @property
    def total_records(self) -> int:
        return sum(self.records.values())


def ingest(
    ledger: Ledger, sources: Sequence[Source], progress: Progress | None = None
) -> ScanSummary:
    """Read what is new in every source and store it.

    A source error (a corrupt database, an unreadable file) is recorded in the
    summary and the scan goes on with the other paths: nothing already stored
    is lost, and the failed path is retried at the next scan.
    """
    summary = ScanSummary()
    for source in sources:
        states = ledger.path_states(source.name)
        summary.records.setdefault(source.name, 0)
        summary.events.setdefault(source.name, 0)
        pending: list[ScanBatch] = []
        try:
            for batch in source.scan(states):
                if batch.error is not None:
                    log.warning("%s", batch.error)
                    summary.errors.append(batch.error)
                    continue
                pending.append(batch)
                if _size(pending) >= FLUSH_ROWS or len(pending) >= FLUSH_BATCHES:
                    _flush(ledger, pending, summary, progress)
                    pending = []
        except SourceError as exc:
            log.warning("%s", exc)
            summary.errors.append(str(exc))
        # What was read before an error is stored too: nothing is lost.
        _flush(ledger, pending, summary, progress)
    return summary


def _size(batches: Sequence[ScanBatch]) -> int:
    return sum(len(b.records) + len(b.events) for b in batches)


def _flush(
    ledger: Ledger,
    batches: Sequence[ScanBatch],
    summary: ScanSummary,
    progress: Progress | None,
) -> None:
    if not batches:
        return
    ledger.store_batches(batches)
    for batch in batches:
        name = batch.source
        summary.records[name] = summary.records.get(name, 0) + len(batch.records)
        summary.events[name] = summary.events.get(name, 0) + len(batch.events)
        summary.paths[batch.path] = summary.paths.get(batch.path, 0) + len(
            batch.records
        )
        summary.issues.extend(batch.issues)
        if progress is not None:
            progress(batch.path, len(batch.records))
