"""Readers that turn agents' logs and databases into usage records.

Every reader is read-only: it never writes to, locks or migrates the files
it reads, since the agent may be writing them at the same time.
"""

from costaudit.sources.base import (
    CallEvent,
    PathState,
    RecordTable,
    ScanBatch,
    ScanIssue,
    Source,
)

__all__ = ["CallEvent", "PathState", "RecordTable", "ScanBatch", "ScanIssue", "Source"]
