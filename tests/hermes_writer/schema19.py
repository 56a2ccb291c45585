"""Turn a Hermes 0.19.0 ``state.db`` into one of schema 19 (Hermes 0.18.2).

Part of the writer in :mod:`write_home`, run with the same interpreter: the
file is made by Hermes' own ``SessionDB`` with 0.19.0's schema cut down to
schema 19's, then filled with the sessions and messages of the new file.
"""

from __future__ import annotations

import re
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

SCHEMA_19_DROPPED_TABLES = ("session_model_usage", "async_delegations")
SCHEMA_19_DROPPED_COLUMNS = {
    "sessions": ("compression_fallback_streak", "profile_name"),
    "messages": ("effect_disposition", "api_content"),
}


def _split_statements(sql: str) -> list[str]:
    return [part.strip() for part in sql.split(";") if part.strip()]


def schema_19_sql(schema_sql: str) -> str:
    """Cut 0.19.0's SCHEMA_SQL down to the schema 19 of released 0.18.2."""
    kept = []
    seen_tables: set[str] = set()
    seen_columns: set[tuple[str, str]] = set()
    for statement in _split_statements(schema_sql):
        head = " ".join(statement.split())
        table = re.match(r"CREATE TABLE IF NOT EXISTS (\w+)", head)
        index_on = re.search(r" ON (\w+)\(", head)
        if table and table.group(1) in SCHEMA_19_DROPPED_TABLES:
            seen_tables.add(table.group(1))
            continue
        if index_on and index_on.group(1) in SCHEMA_19_DROPPED_TABLES:
            continue
        if table and table.group(1) in SCHEMA_19_DROPPED_COLUMNS:
            name = table.group(1)
            statement = _drop_columns(statement, name, seen_columns)
        kept.append(statement)
    wanted_columns = {
        (table, column)
        for table, columns in SCHEMA_19_DROPPED_COLUMNS.items()
        for column in columns
    }
    if seen_tables != set(SCHEMA_19_DROPPED_TABLES) or seen_columns != wanted_columns:
        raise RuntimeError("hermes_state.SCHEMA_SQL is not the 0.19.0 schema")
    return ";\n\n".join(kept) + ";\n"


def _drop_columns(statement: str, table: str, seen: set[tuple[str, str]]) -> str:
    opening = statement.index("(")
    closing = statement.rindex(")")
    lines = [
        line.strip().rstrip(",")
        for line in statement[opening + 1 : closing].splitlines()
    ]
    body = []
    for line in lines:
        if not line:
            continue
        if line.split()[0] in SCHEMA_19_DROPPED_COLUMNS[table]:
            seen.add((table, line.split()[0]))
            continue
        body.append("    " + line)
    return statement[: opening + 1] + "\n" + ",\n".join(body) + "\n)"


def downgrade_to_schema_19(db_path: Path) -> None:
    """Replace db_path by a schema 19 file holding its sessions and messages."""
    import hermes_state

    old_path = db_path.with_name(db_path.name + ".v19")
    with ExitStack() as stack:
        stack.enter_context(
            mock.patch.object(
                hermes_state, "SCHEMA_SQL", schema_19_sql(hermes_state.SCHEMA_SQL)
            )
        )
        stack.enter_context(mock.patch.object(hermes_state, "SCHEMA_VERSION", 19))
        old_db = hermes_state.SessionDB(old_path)
    conn = old_db._conn
    conn.execute("ATTACH DATABASE ? AS current", (str(db_path),))
    conn.execute("BEGIN IMMEDIATE")
    for table in ("sessions", "messages"):
        columns = [row[1] for row in conn.execute(f"PRAGMA main.table_info({table})")]
        names = ", ".join(columns)
        conn.execute(
            f"INSERT INTO main.{table} ({names})"
            f" SELECT {names} FROM current.{table} ORDER BY rowid"
        )
    conn.commit()
    conn.execute("DETACH DATABASE current")
    old_db.vacuum()
    old_db.close()
    old_path.replace(db_path)
