"""The Hermes ``state.db`` columns costaudit reads, and how it copes with others.

Columns are selected by name; one that is missing is read as NULL with a
warning, and one Hermes added that we do not know is named in a warning too,
so a newer or older Hermes never stops a scan.
"""

from __future__ import annotations

import logging
import sqlite3

log = logging.getLogger(__name__)

USAGE_COLUMNS = (
    "session_id",
    "model",
    "billing_provider",
    "billing_base_url",
    "billing_mode",
    "task",
    "api_call_count",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "estimated_cost_usd",
    "actual_cost_usd",
    "cost_status",
    "cost_source",
    "first_seen",
    "last_seen",
)

SESSION_COLUMNS = (
    "id",
    "source",
    "model",
    "system_prompt",
    "parent_session_id",
    "started_at",
    "ended_at",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "billing_provider",
    "billing_base_url",
    "billing_mode",
    "estimated_cost_usd",
    "actual_cost_usd",
    "cost_status",
    "cost_source",
    "title",
    "api_call_count",
)

# Columns of schema 22 that costaudit does not need: not worth a warning.
KNOWN_UNUSED = {
    "sessions": {
        "user_id", "session_key", "chat_id", "chat_type", "thread_id",
        "display_name", "origin_json", "expiry_finalized", "model_config",
        "end_reason", "message_count", "tool_call_count", "cwd", "git_branch",
        "git_repo_root", "pricing_version", "handoff_state", "handoff_platform",
        "handoff_error", "compression_failure_cooldown_until",
        "compression_failure_error", "compression_fallback_streak",
        "profile_name", "rewind_count", "archived",
    },
    "session_model_usage": set(),
}  # fmt: skip


KNOWN_READ = {"sessions": SESSION_COLUMNS, "session_model_usage": USAGE_COLUMNS}


def table_columns(con: sqlite3.Connection, table: str) -> set[str]:
    rows = con.execute(f"PRAGMA table_info({table})").fetchall()
    return {row[1] for row in rows}


def select_list(
    path: str, table: str, present: set[str], wanted: tuple[str, ...], alias: str
) -> str:
    """``alias.col`` for each wanted column, ``NULL AS col`` when missing."""
    missing = [c for c in wanted if c not in present]
    if missing:
        log.warning(
            "%s: table %s has no column %s; read as empty",
            path,
            table,
            ", ".join(missing),
        )
    known = KNOWN_UNUSED.get(table, set()) | set(KNOWN_READ.get(table, ()))
    unknown = present - set(wanted) - known
    if unknown:
        log.warning(
            "%s: table %s has columns costaudit does not read: %s",
            path,
            table,
            ", ".join(sorted(unknown)),
        )
    return ", ".join(f"{alias}.{c}" if c in present else f"NULL AS {c}" for c in wanted)
