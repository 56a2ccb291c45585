"""What a scan of Hermes databases changes in records stored before it.

Most of a scan is new or grown rows, upserted by key. Three things reach
further back, and are settled here, in the ledger:

- task names follow the rules that make them: when the user's ``[[tasks]]``
  rules, the cron jobs' names or the naming code change, every stored
  Hermes record is named again from its stored title, first prompt and
  session id (:func:`rename_tasks`, before the scan);
- a session read again takes its title and task to the records of it that
  were stored before: Hermes titles a session after its first turn, and a
  side call's row may be read long after the main loop's
  (:func:`settle`, after the scan);
- a database read through its ``sessions`` totals (before schema 20) is
  read whole at every scan, so its stored records that this read did not
  give are gone (a session deleted, or a key from an older costaudit); once
  Hermes migrates it to ``session_model_usage``, which Hermes seeds from
  those totals, the records read from the totals make way (:func:`settle`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import duckdb

from costaudit.errors import LedgerError
from costaudit.ledger.columns import objects
from costaudit.ledger.store import Ledger
from costaudit.sources.hermes.home import profiles
from costaudit.sources.hermes.reader import READ_FROM, SOURCE, ScanOutcome
from costaudit.sources.hermes.tasks import (
    NAMING_VERSION,
    TaskNamer,
    load_cron_jobs,
)

log = logging.getLogger(__name__)

FINGERPRINT_KEY = "hermes_task_names"
"""Meta key of the fingerprint of what named the stored Hermes tasks."""

# The marker as json.dumps writes it in the ``extra`` column.
_FROM_SESSIONS = json.dumps({READ_FROM: "sessions"})[1:-1]


def task_fingerprint(namer: TaskNamer, home: Path) -> str:
    """A short hash of everything a task name depends on besides the data:
    the naming code's version, the user's rules and each profile's cron
    job names."""
    rules = [
        (r.pattern.pattern, r.pattern.flags, r.task, r.match, r.profile)
        for r in namer.rules
    ]
    jobs = [
        (str(p.state_db), sorted(load_cron_jobs(p.jobs_file).items()))
        for p in profiles(home)
    ]
    text = repr((NAMING_VERSION, rules, jobs))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rename_tasks(ledger: Ledger, namer: TaskNamer, home: Path) -> int:
    """Name every stored Hermes record's task again if what names tasks
    changed since the last scan; return how many records changed."""
    fingerprint = task_fingerprint(namer, home)
    if ledger.get_meta(FINGERPRINT_KEY) == fingerprint:
        return 0
    sessions = ledger.fetch(
        """
        SELECT source_path, session_id, any_value(profile),
               arg_max(title, scanned_at) FILTER (WHERE title IS NOT NULL),
               arg_max(first_prompt, scanned_at)
                   FILTER (WHERE first_prompt IS NOT NULL),
               min(task), max(task)
        FROM usage WHERE source = ?
        GROUP BY 1, 2
        """,
        [SOURCE],
    )
    jobs: dict[str, dict[str, str]] = {}
    names: list[tuple[str, str, str]] = []
    for path, session_id, profile, title, prompt, low, high in sessions:
        if path not in jobs:
            jobs[path] = load_cron_jobs(Path(path).parent / "cron" / "jobs.json")
        task = namer.name(profile, session_id, title, prompt, jobs[path])
        if not low == high == task:
            names.append((path, session_id, task))
    changed = _set_tasks(ledger, names)
    ledger.set_meta(FINGERPRINT_KEY, fingerprint)
    if changed:
        log.info("task rules or cron jobs changed: %d records renamed", changed)
    return changed


def _set_tasks(ledger: Ledger, names: list[tuple[str, str, str]]) -> int:
    if not names:
        return 0
    return _run(
        ledger,
        """
        UPDATE usage SET task = renamed.task
        FROM renamed
        WHERE usage.source = ? AND usage.source_path = renamed.path
          AND usage.session_id = renamed.session_id AND usage.task <> renamed.task
        """,
        [SOURCE],
        renamed=_columns(["path", "session_id", "task"], names),
    )


def settle(ledger: Ledger, outcome: ScanOutcome) -> None:
    """Bring records stored before the scan in line with what it read."""
    _follow_sessions(ledger, outcome.renamed)
    _drop_superseded(ledger, outcome)


def _follow_sessions(
    ledger: Ledger, renamed: dict[tuple[str, str], tuple[str, str | None]]
) -> None:
    if not renamed:
        return
    rows = [(path, sid, task, title) for (path, sid), (task, title) in renamed.items()]
    changed = _run(
        ledger,
        """
        UPDATE usage SET task = followed.task,
                         title = coalesce(followed.title, usage.title)
        FROM followed
        WHERE usage.source = ? AND usage.source_path = followed.path
          AND usage.session_id = followed.session_id
          AND (usage.task <> followed.task
               OR usage.title IS DISTINCT FROM coalesce(followed.title, usage.title))
        """,
        [SOURCE],
        followed=_columns(["path", "session_id", "task", "title"], rows),
    )
    if changed:
        log.info("%d earlier records took their session's new title or task", changed)


def _drop_superseded(ledger: Ledger, outcome: ScanOutcome) -> None:
    migrated = [p for p, t in outcome.tables.items() if t == "session_model_usage"]
    dropped = 0
    if migrated:
        marks = ", ".join("?" * len(migrated))
        dropped += _run(
            ledger,
            f"DELETE FROM usage WHERE source = ? AND source_path IN ({marks}) "
            "AND extra LIKE ?",
            [SOURCE, *migrated, f"%{_FROM_SESSIONS}%"],
        )
    for path, keys in outcome.session_keys.items():
        if outcome.tables.get(path) != "sessions":
            continue
        dropped += _run(
            ledger,
            "DELETE FROM usage WHERE source = ? AND source_path = ? "
            "AND record_key NOT IN (SELECT record_key FROM read)",
            [SOURCE, path],
            read={"record_key": objects(sorted(keys))},
        )
    if dropped:
        log.info("%d Hermes records no longer in their database dropped", dropped)


def _columns(names: list[str], rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    return {name: objects([row[i] for row in rows]) for i, name in enumerate(names)}


def _run(ledger: Ledger, sql: str, params: list[Any], **tables: Any) -> int:
    """Run one statement in a transaction, with ``tables`` (columns by name)
    readable by their names; return how many rows it changed."""
    con = ledger.con.cursor()
    try:
        for name, columns in tables.items():
            con.register(name, columns)
        con.execute("BEGIN")
        try:
            row = con.execute(sql, params).fetchone()
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    except duckdb.Error as exc:
        raise LedgerError(
            f"{ledger.path}: cannot update Hermes records: {exc}"
        ) from None
    finally:
        con.close()
    return int(row[0]) if row else 0
