"""Which file sources to read, from their usual places and the config.

Each source has a table ``[sources.<name>]`` with ``enabled`` (default
true) and ``paths`` (files, folders or glob patterns; when given they
replace the usual places). Sources with no usual place (``openai_jsonl``,
``otel``, ``llamacpp``) are read only when ``paths`` names some. Other keys:

- ``claude_code``: ``workers``, processes that parse large amounts of new
  log in parallel (default: one per CPU, up to 4; 1 reads in this process);
- ``llm``: ``profile``;
- ``openai_jsonl``: ``profile``, and the table ``fields`` of dotted paths
  (``timestamp``, ``profile``, ``task``, ``session_id``, ``model``,
  ``provider``, ``platform``);
- ``otel``: ``profile`` (used when a span's resource has no service name);
- ``llamacpp``: ``model``, ``profile``, ``as_usage``;
- ``ollama``: ``timezone``, ``profile``, ``as_usage``;
- ``hermes_agent_log``: ``timezone``.

The Hermes ``state.db`` source (``[sources.hermes]``) is not made here.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from costaudit.config import Config, Section
from costaudit.errors import ConfigError
from costaudit.ledger.store import Ledger
from costaudit.sources import claude_code, codex, hermes_agent_log, llm_logs, ollama
from costaudit.sources.base import Source
from costaudit.sources.claude_code import ClaudeCodeSource
from costaudit.sources.codex import CodexSource
from costaudit.sources.hermes_agent_log import HermesAgentLogSource
from costaudit.sources.llamacpp import LlamaCppSource
from costaudit.sources.llm_logs import LlmLogsSource
from costaudit.sources.ollama import OllamaSource
from costaudit.sources.openai_jsonl import FIELDS, OpenAIJsonlSource
from costaudit.sources.otel import OtelSource
from costaudit.sources.pieces import default_workers

_KEYS: dict[str, tuple[str, ...]] = {
    "claude_code": ("workers",),
    "codex": (),
    "llm": ("profile",),
    "openai_jsonl": ("profile", "fields"),
    "otel": ("profile",),
    "llamacpp": ("model", "profile", "as_usage"),
    "ollama": ("timezone", "profile", "as_usage"),
    "hermes_agent_log": ("timezone",),
}
OTHER_SOURCES = ("hermes",)
"""Tables under ``[sources]`` that belong to sources made elsewhere."""


def file_sources(
    config: Config,
    *,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> list[Source]:
    """Every enabled file source (all but the Hermes ``state.db`` one)."""
    home = home if home is not None else Path.home()
    env = env if env is not None else os.environ
    tables = config.section("sources")
    _check_names(tables)
    made: list[Source] = []
    for name, make in _MAKERS.items():
        table = tables.table(name)
        _check_keys(table, name)
        if not table.boolean("enabled", True):
            continue
        source = make(table, home, env)
        if source is not None:
            made.append(source)
    return made


def _check_names(tables: Section) -> None:
    known = (*_KEYS, *OTHER_SOURCES)
    for name in list(tables.keys()):
        if name not in known:
            raise ConfigError(
                f"{tables.path}: unknown source [sources.{name}]{_hint(name, known)}"
            )


def _check_keys(table: Section, name: str) -> None:
    allowed = ("enabled", "paths", *_KEYS[name])
    for key in list(table.keys()):
        if key not in allowed:
            raise ConfigError(
                f"{table.path}: unknown key {table.where}.{key}{_hint(key, allowed)}"
            )


def _hint(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _zone(table: Section) -> ZoneInfo | None:
    name = table.string("timezone")
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{table.path}: {table.where}.timezone {name!r} is not a known time zone "
            "(use an IANA name such as 'Europe/Berlin')"
        ) from None


def _paths(table: Section, usual: list[str]) -> list[str]:
    return table.strings("paths") if table.has("paths") else usual


def _fields(table: Section) -> dict[str, str]:
    fields = table.table("fields")
    mapping = {}
    for key in list(fields.keys()):
        if key not in FIELDS:
            raise ConfigError(
                f"{fields.path}: unknown key {fields.where}.{key}{_hint(key, FIELDS)}"
            )
        mapping[key] = fields.string(key) or ""
    return mapping


Maker = Callable[[Section, Path, Mapping[str, str]], Source | None]


def _claude_code(table: Section, home: Path, env: Mapping[str, str]) -> Source:
    workers = table.integer("workers") or default_workers()
    return ClaudeCodeSource(
        _paths(table, claude_code.default_roots(env, home)), workers=workers
    )


def _codex(table: Section, home: Path, env: Mapping[str, str]) -> Source:
    return CodexSource(_paths(table, codex.default_roots(env, home)))


def _llm(table: Section, home: Path, env: Mapping[str, str]) -> Source:
    paths = _paths(table, llm_logs.default_paths(env, home))
    return LlmLogsSource(paths, profile=table.string("profile", "default") or "default")


def _openai_jsonl(table: Section, home: Path, env: Mapping[str, str]) -> Source | None:
    if not table.strings("paths"):
        return None
    return OpenAIJsonlSource(
        table.strings("paths"),
        fields=_fields(table),
        profile=table.string("profile", "default") or "default",
    )


def _otel(table: Section, home: Path, env: Mapping[str, str]) -> Source | None:
    if not table.strings("paths"):
        return None
    profile = table.string("profile", "default") or "default"
    return OtelSource(table.strings("paths"), profile=profile)


def _llamacpp(table: Section, home: Path, env: Mapping[str, str]) -> Source | None:
    if not table.strings("paths"):
        return None
    return LlamaCppSource(
        table.strings("paths"),
        model=table.string("model", "") or "",
        profile=table.string("profile", "local") or "local",
        as_usage=table.boolean("as_usage", False),
    )


def _ollama(table: Section, home: Path, env: Mapping[str, str]) -> Source:
    return OllamaSource(
        _paths(table, ollama.default_paths(env, home)),
        zone=_zone(table),
        profile=table.string("profile", "local") or "local",
        as_usage=table.boolean("as_usage", False),
    )


def _hermes_agent_log(table: Section, home: Path, env: Mapping[str, str]) -> Source:
    root = hermes_agent_log.hermes_roots(env, home)
    patterns = _paths(table, hermes_agent_log.default_patterns(root))
    return HermesAgentLogSource(patterns, zone=_zone(table))


_MAKERS: dict[str, Maker] = {
    "claude_code": _claude_code,
    "codex": _codex,
    "llm": _llm,
    "openai_jsonl": _openai_jsonl,
    "otel": _otel,
    "llamacpp": _llamacpp,
    "ollama": _ollama,
    "hermes_agent_log": _hermes_agent_log,
}


def describe_sources(ledger: Ledger, sources: Sequence[Source]) -> list[dict[str, Any]]:
    """One row per path a source reads now or has read: what was kept of it.

    ``records`` counts the usage records in the ledger that came from the
    path (a message repeated in a later file counts for the file that first
    gave it, or last changed it; a renamed log's follow it to its new name),
    ``events`` the call events, ``issues`` the lines that could not be read
    in the file as it is now (a rotated file starts again from zero), and
    ``last_scan`` is when new data was last read from it (a scan that finds
    nothing new does not change it).
    """
    rows = []
    for source in sources:
        states = ledger.path_states(source.name)
        records = _per_path(ledger, "usage", "source_path", source.name)
        events = _per_path(ledger, "call_events", "path", source.name)
        for path in sorted(set(source.locations()) | set(states)):
            state = states.get(path)
            rows.append(
                {
                    "path": path,
                    "source": source.name,
                    "records": records.get(path, 0),
                    "events": events.get(path, 0),
                    "issues": state.issues if state else 0,
                    "last_scan": state.last_scan if state else None,
                }
            )
    return rows


def _per_path(ledger: Ledger, table: str, column: str, source: str) -> dict[str, int]:
    rows = ledger.fetch(
        f"SELECT {column}, count(*) FROM {table} WHERE source = ? GROUP BY 1", [source]
    )
    return {str(path): int(count) for path, count in rows}
