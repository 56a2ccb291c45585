"""Reading SQLite files that another program may be writing.

Agents keep their logs in SQLite databases (Hermes' ``state.db``, ``llm``'s
``logs.db``) and may write to them while costaudit reads. A reader here
never writes to such a file, never locks it for writing and never leaves
files beside it (see :func:`open_read_only`), and can tell whether the file
changed since it was last read (:func:`content_stamp`) or while it was read
(:func:`disturbed`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"
# How long a read waits for Hermes to finish a commit to a rollback-journal
# database before it gives up on that file (to be retried at the next scan).
BUSY_TIMEOUT_S = 10.0


def wal_header(path: Path) -> bool:
    """Whether the file's header marks it as a WAL database.

    Byte 18 of a SQLite header is the file format's write version: 2 in WAL
    mode, 1 with a rollback journal (Hermes falls back to DELETE mode on
    network filesystems, where WAL does not work).
    """
    with path.open("rb") as handle:
        header = handle.read(20)
    return header.startswith(SQLITE_MAGIC) and len(header) == 20 and header[18] == 2


def has_writer(path: Path) -> bool:
    """Whether a WAL writer may have the database open: its ``-wal`` file
    exists from the writer's first connection until its last one closes."""
    return Path(f"{path}-wal").exists()


def can_be_immutable(path: Path) -> bool:
    """A WAL database that nobody has open can be read as immutable.

    Only then: a rollback-journal database is rewritten in place by every
    commit, so reading it without locks would mix pages of two versions.
    """
    return wal_header(path) and not has_writer(path)


def open_read_only(path: Path, immutable: bool | None = None) -> sqlite3.Connection:
    """Open a SQLite file without writing to it, locking it for writes, or
    leaving files beside it.

    A WAL database that Hermes has open has its ``-wal`` and ``-shm`` files,
    through which a read-only connection reads a consistent snapshot. One
    that nobody has open has neither, and a read-only connection would
    create them and could not remove them; it is opened as immutable, which
    creates nothing (``immutable`` None decides so from the files). A
    rollback-journal database is read through its locks: a shared lock that
    Hermes' commits wait for (it retries), never a write lock.
    """
    if immutable is None:
        immutable = can_be_immutable(path)
    uri = path.resolve().as_uri() + "?mode=ro"
    if immutable:
        uri += "&immutable=1"
    con = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
    con.execute("PRAGMA query_only = ON")
    return con


def stamp(path: Path) -> tuple[int, int]:
    """The file's modification time and size: a commit changes them."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


def disturbed(path: Path, before: tuple[int, int]) -> bool:
    """Whether a writer has the file open or wrote to it since ``before``."""
    return has_writer(path) or stamp(path) != before


def file_identity(path: Path) -> str:
    """The file's device and inode: another means the file was replaced."""
    stat = path.stat()
    return f"{stat.st_dev}:{stat.st_ino}"


def content_stamp(path: Path) -> str:
    """The modification times and sizes of the database and its write-ahead
    log: Hermes cannot commit without changing one of them."""
    parts = []
    for file in (path, path.with_name(path.name + "-wal")):
        try:
            stat = file.stat()
        except FileNotFoundError:
            parts.append("-")
            continue
        parts.append(f"{stat.st_mtime_ns}/{stat.st_size}")
    return ",".join(parts)
