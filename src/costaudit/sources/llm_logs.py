"""Simon Willison's ``llm`` CLI: the ``responses`` table of its ``logs.db``.

``llm`` logs every prompt it runs to SQLite in its user directory
(``$LLM_USER_PATH``, else ``io.datasette.llm`` in the platform's config
directory). Each row of ``responses`` is one call: ``input_tokens``,
``output_tokens`` and ``token_details``, a JSON object with what the model's
plugin reported beyond the two counts. Its shape says how to read the input
count (see :func:`costaudit.sources.openai_jsonl.normalize_usage`): OpenAI's
``prompt_tokens_details.cached_tokens`` and Gemini's
``cachedContentTokenCount`` are part of the input and are taken out of it;
Anthropic's ``cache_read_input_tokens`` and ``cache_creation_input_tokens``
come on top of it.

The database is opened read-only, as the Hermes reader opens ``state.db``
(see :func:`costaudit.sources.sqlite_files.open_read_only`): nothing is
written, migrated or left beside it, and ``llm`` may be writing meanwhile.
Rows are read in ``rowid`` order from the last rowid stored (kept as the
path's watermark), so a rescan reads only new rows. A replaced database
(another inode), or one whose rows end below the watermark, is read again
from the start; records are keyed by the response id, so nothing is counted
twice.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from costaudit.record import UsageRecord
from costaudit.sources.base import PathState, ScanBatch, ScanIssue
from costaudit.sources.files import BATCH_SIZE, error_batch, parse_time
from costaudit.sources.openai_jsonl import Tokens
from costaudit.sources.sqlite_files import open_read_only

log = logging.getLogger(__name__)

NAME = "llm"
_WANTED = (
    "id",
    "model",
    "resolved_model",
    "datetime_utc",
    "input_tokens",
    "output_tokens",
    "token_details",
    "conversation_id",
    "system",
)


def default_paths(env: Mapping[str, str], home: Path) -> list[str]:
    """``$LLM_USER_PATH/logs.db``, else llm's own user directory."""
    user_path = env.get("LLM_USER_PATH")
    if user_path:
        return [str(Path(user_path).expanduser() / "logs.db")]
    if sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = env.get("XDG_CONFIG_HOME")
        base = Path(xdg) if xdg else home / ".config"
    return [str(base / "io.datasette.llm" / "logs.db")]


class LlmLogsSource:
    """Usage records from llm's ``logs.db`` (or several, if configured)."""

    name = NAME

    def __init__(
        self,
        paths: list[str],
        *,
        profile: str = "default",
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.paths = [os.path.abspath(os.path.expanduser(p)) for p in paths]
        self.profile = profile
        self.batch_size = batch_size

    def locations(self) -> list[str]:
        return [p for p in self.paths if os.path.isfile(p)]

    def scan(self, states: dict[str, PathState]) -> Iterator[ScanBatch]:
        for path in self.locations():
            state = states.get(path)
            try:
                yield from self._scan_db(path, state)
            except sqlite3.Error as exc:
                yield error_batch(NAME, path, state, f"{path}: cannot read: {exc}")

    def _scan_db(self, path: str, state: PathState | None) -> Iterator[ScanBatch]:
        st = os.stat(path)
        identity = f"{st.st_dev}:{st.st_ino}"
        connection = open_read_only(Path(path))
        try:
            columns = _columns(connection)
            if "input_tokens" not in columns:
                yield error_batch(
                    NAME, path, state, f"{path}: no responses table with token counts"
                )
                return
            start, records, issues = _resume(connection, state, identity)
            reader = _RowReader(path, self.profile, columns)
            query = (
                f"SELECT r.rowid, {', '.join(reader.select)}, c.name "
                "FROM responses r LEFT JOIN conversations c "
                "ON c.id = r.conversation_id WHERE r.rowid > ? ORDER BY r.rowid"
            )
            cursor = connection.execute(query, [start])
            while rows := cursor.fetchmany(self.batch_size):
                found, problems = reader.read(rows)
                records += len(found)
                issues += len(problems)
                watermark = float(rows[-1][0])
                new_state = PathState(
                    NAME, path, identity, st.st_size, 0, watermark, records, issues
                )
                yield ScanBatch(NAME, path, new_state, found, issues=problems)
        finally:
            connection.close()


def _columns(connection: sqlite3.Connection) -> set[str]:
    rows = connection.execute("PRAGMA table_info(responses)").fetchall()
    return {str(row[1]) for row in rows}


def _resume(
    connection: sqlite3.Connection, state: PathState | None, identity: str
) -> tuple[int, int, int]:
    """The rowid to read after, and the counts so far."""
    if state is None or state.identity != identity or state.watermark is None:
        return 0, 0, 0
    row = connection.execute("SELECT max(rowid) FROM responses").fetchone()
    last = int(state.watermark)
    if row is None or row[0] is None or row[0] < last:
        log.info("%s was replaced or emptied: reading it again", state.path)
        return 0, 0, 0
    return last, state.records, state.issues


class _RowReader:
    def __init__(self, path: str, profile: str, columns: set[str]) -> None:
        self.path = path
        self.profile = profile
        self.select = [f"r.{c}" if c in columns else "NULL" for c in _WANTED]

    def read(
        self, rows: list[tuple[Any, ...]]
    ) -> tuple[list[UsageRecord], list[ScanIssue]]:
        records: list[UsageRecord] = []
        issues: list[ScanIssue] = []
        for row in rows:
            try:
                records.append(self._record(row))
            except ValueError as exc:
                issues.append(ScanIssue(self.path, int(row[0]), f"row {row[0]}: {exc}"))
        return records, issues

    def _record(self, row: tuple[Any, ...]) -> UsageRecord:
        rowid, rid, model, resolved, stamp, tin, tout, details, conv, system, name = row
        at = parse_time(stamp)
        if at is None:
            raise ValueError(f"bad datetime_utc {stamp!r}")
        tokens = _tokens(tin, tout, details)
        model_name = str(resolved or model or "unknown")
        title = str(name) if name else None
        return UsageRecord(
            source=NAME,
            record_key=str(rid if rid is not None else rowid),
            source_path=self.path,
            profile=self.profile,
            session_id=str(conv or rid or rowid),
            model=model_name,
            started_at=at,
            ended_at=at,
            input_tokens=tokens.input,
            cache_read_tokens=tokens.cache_read,
            cache_write_tokens=tokens.cache_write,
            output_tokens=tokens.output,
            reasoning_tokens=tokens.reasoning,
            provider=model_name.split("/", 1)[0] if "/" in model_name else None,
            platform="llm",
            task=title or "llm",
            title=title,
            system_prompt=str(system) if system else None,
            extra={} if tin is not None or tout is not None else {"usage": "missing"},
        )


def _tokens(tin: object, tout: object, details: object) -> Tokens:
    prompt, output = _count("input_tokens", tin), _count("output_tokens", tout)
    usage = _details(details)
    if "cache_read_input_tokens" in usage or "cache_creation_input_tokens" in usage:
        read = _count("cache_read_input_tokens", usage.get("cache_read_input_tokens"))
        write = _count(
            "cache_creation_input_tokens", usage.get("cache_creation_input_tokens")
        )
        return Tokens(prompt, read, write, output)
    cached = (
        _nested(
            usage, ("prompt_tokens_details", "input_tokens_details"), "cached_tokens"
        )
        or _whole(usage.get("cached_tokens"))
        or _whole(usage.get("cachedContentTokenCount"))
    )
    reasoning = (
        _nested(
            usage,
            ("completion_tokens_details", "output_tokens_details"),
            "reasoning_tokens",
        )
        or _whole(usage.get("reasoning_tokens"))
        # llm-gemini already adds the thinking tokens into output_tokens.
        or _whole(usage.get("thoughtsTokenCount"))
    )
    cached = min(cached, prompt)
    return Tokens(prompt - cached, cached, 0, output, min(reasoning, output))


def _details(details: object) -> dict[str, Any]:
    if not details:
        return {}
    if not isinstance(details, str | bytes):
        raise ValueError(f"token_details is not JSON text: {details!r}")
    try:
        parsed = orjson.loads(details)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"token_details is not JSON: {exc}") from None
    return parsed if isinstance(parsed, dict) else {}


def _count(name: str, value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return value


def _whole(value: object) -> int:
    """A count inside token_details; anything else there counts as none."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _nested(usage: dict[str, Any], sections: tuple[str, ...], key: str) -> int:
    for section in sections:
        inner = usage.get(section)
        found = _whole(inner.get(key)) if isinstance(inner, dict) else 0
        if found:
            return found
    return 0
