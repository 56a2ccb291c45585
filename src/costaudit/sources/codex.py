"""Codex CLI's rollout logs: ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl``.

Each line is ``{"timestamp", "type", "payload"}``. The lines read here:

- ``session_meta``: the session id, working directory and model provider;
- ``turn_context``: the model used from then on;
- ``event_msg`` whose payload type is ``token_count``: ``info`` holds the
  session's cumulative ``total_token_usage`` and the ``last_token_usage``
  of the turn just finished (``info`` is null before the first answer).

One record is made per token count event that moved the cumulative totals;
its usage is the increase of the totals since the previous event (or the
last turn's usage for the first event seen), so the records of a session add
up to its final totals exactly, and an event repeated with the same totals
(Codex writes some twice) counts once: its key is the session id with the
cumulative total. OpenAI counts cached prompt tokens inside
``input_tokens``: they are taken out (``input - cached_input_tokens``) and
become cache reads; ``reasoning_output_tokens`` are part of the output.

The session, model and last totals seen are carried in the file's state, so
a scan that starts in the middle of a file still knows them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from costaudit.record import UsageRecord
from costaudit.sources.files import FileSource, LineParser, parse_time

log = logging.getLogger(__name__)

NAME = "codex"
_COUNTS = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
)


def default_roots(env: Mapping[str, str], home: Path) -> list[str]:
    codex_home = env.get("CODEX_HOME")
    base = Path(codex_home).expanduser() if codex_home else home / ".codex"
    return [str(base / "sessions")]


class CodexSource(FileSource):
    name = NAME

    def parser(self, path: str, carry: str) -> LineParser:
        return CodexParser(path, carry)


class CodexParser(LineParser):
    def __init__(self, path: str, carry: str = "") -> None:
        super().__init__(path, carry)
        context: dict[str, Any] = {}
        if carry:
            try:
                loaded = orjson.loads(carry)
                context = loaded if isinstance(loaded, dict) else {}
            except orjson.JSONDecodeError:
                log.warning("%s: carried state unreadable, starting afresh", path)
        self.session = str(context.get("session") or _session_from_name(path))
        self.cwd = str(context.get("cwd") or "")
        self.provider = str(context.get("provider") or "openai")
        self.model = str(context.get("model") or "")
        previous = context.get("totals")
        self.totals: dict[str, int] | None = (
            previous if isinstance(previous, dict) else None
        )

    def carry(self) -> str:
        return orjson.dumps(
            {
                "session": self.session,
                "cwd": self.cwd,
                "provider": self.provider,
                "model": self.model,
                "totals": self.totals,
            }
        ).decode()

    def feed(self, number: int, line: bytes) -> None:
        if not line.strip():
            return
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            self.issue(number, f"not valid JSON: {exc}")
            return
        if not isinstance(entry, dict):
            self.issue(number, "not a JSON object")
            return
        payload = entry.get("payload")
        if not isinstance(payload, dict):
            return
        kind = entry.get("type")
        if kind == "session_meta":
            self._meta(payload)
        elif kind == "turn_context":
            self.model = str(payload.get("model") or self.model)
        elif kind == "event_msg" and payload.get("type") == "token_count":
            try:
                self._token_count(number, entry.get("timestamp"), payload)
            except ValueError as exc:
                self.issue(number, str(exc))

    def _meta(self, payload: dict[str, Any]) -> None:
        self.session = str(payload.get("id") or self.session)
        self.cwd = str(payload.get("cwd") or self.cwd)
        self.provider = str(payload.get("model_provider") or self.provider)

    def _token_count(self, number: int, stamp: object, payload: dict[str, Any]) -> None:
        info = payload.get("info")
        if info is None:
            return
        if not isinstance(info, dict) or not isinstance(
            info.get("total_token_usage"), dict
        ):
            raise ValueError("token_count without total_token_usage")
        totals = _counts(info["total_token_usage"])
        last = info.get("last_token_usage")
        usage = self._increase(totals, last if isinstance(last, dict) else None)
        self.totals = totals
        if usage is None:
            return
        at = parse_time(stamp)
        if at is None:
            raise ValueError(f"bad or missing timestamp {stamp!r}")
        self.records.append(self._record(totals, usage, at))

    def _increase(
        self, totals: dict[str, int], last: dict[str, Any] | None
    ) -> dict[str, int] | None:
        """This event's usage, or None when the totals did not move."""
        if self.totals is not None:
            delta = {k: totals[k] - self.totals.get(k, 0) for k in _COUNTS}
            if all(v == 0 for v in delta.values()):
                return None
            if all(v >= 0 for v in delta.values()):
                return delta
        return _counts(last) if last is not None else totals

    def _record(
        self, totals: dict[str, int], usage: dict[str, int], at: datetime
    ) -> UsageRecord:
        cached = min(usage["cached_input_tokens"], usage["input_tokens"])
        total = ":".join(str(totals[k]) for k in _COUNTS)
        return UsageRecord(
            source=NAME,
            record_key=f"{self.session}:{total}",
            source_path=self.path,
            profile=self.cwd,
            session_id=self.session,
            model=self.model or "unknown",
            started_at=at,
            ended_at=at,
            input_tokens=usage["input_tokens"] - cached,
            cache_read_tokens=cached,
            output_tokens=usage["output_tokens"],
            reasoning_tokens=min(
                usage["reasoning_output_tokens"], usage["output_tokens"]
            ),
            provider=self.provider,
            platform=NAME,
            task=os.path.basename(self.cwd.rstrip("/")) or self.cwd,
        )


def _counts(usage: dict[str, Any]) -> dict[str, int]:
    counts = {}
    for name in _COUNTS:
        value = usage.get(name) or 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number, got {value!r}")
        counts[name] = value
    return counts


def _session_from_name(path: str) -> str:
    """``rollout-2025-09-10T12-00-00-<uuid>.jsonl`` ends with the session id."""
    stem = Path(path).stem
    return stem[-36:] if len(stem) >= 36 else stem
