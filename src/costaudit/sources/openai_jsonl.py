"""JSON lines of API responses, from an app's own request log or a proxy.

Each line holds one response object, or a pair ``{"request": ..,
"response": ..}``. The usage found in it is mapped by its shape:

- OpenAI chat completions (``prompt_tokens`` with
  ``prompt_tokens_details.cached_tokens``, which the prompt count includes);
- OpenAI responses API (``input_tokens`` with
  ``input_tokens_details.cached_tokens``, also included);
- DeepSeek (``prompt_cache_hit_tokens`` and ``prompt_cache_miss_tokens``, the
  miss count being the non-cached input);
- Anthropic messages (``input_tokens`` without cached tokens, plus
  ``cache_read_input_tokens`` and ``cache_creation_input_tokens``);
- Gemini (``usageMetadata``: ``promptTokenCount`` includes
  ``cachedContentTokenCount``; ``thoughtsTokenCount`` is billed as output);
- Ollama (``prompt_eval_count``, ``eval_count``, and durations in
  nanoseconds, which also become a call event with prefill and generation
  times), and llama.cpp's ``timings`` object, likewise.

Reasoning tokens (``completion_tokens_details.reasoning_tokens``,
``output_tokens_details.reasoning_tokens``) are counted inside output.

``[sources.openai_jsonl.fields]`` maps record fields to dotted paths in the
line, for when an app keeps them elsewhere: ``timestamp``, ``profile``,
``task``, ``session_id``, ``model``, ``provider``, ``platform``. The
platform (what ``report --by platform`` groups by) is ``api`` unless the
mapping names where the line keeps it. A line where the
timestamp path holds nothing falls back on the response's own time
(``created``, ``created_at``), and failing that on the file's modification
time. A line without any usage becomes a scan issue, except an error
response, which has none to give. Records are keyed by the response id (or
the line's hash), so a response logged twice counts once.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from costaudit.record import UsageRecord
from costaudit.sources.base import CallEvent
from costaudit.sources.files import (
    BATCH_SIZE,
    FileSource,
    LineParser,
    from_epoch,
    parse_time,
)

log = logging.getLogger(__name__)

NAME = "openai_jsonl"
FIELDS = (
    "timestamp",
    "profile",
    "task",
    "session_id",
    "model",
    "provider",
    "platform",
)
PLATFORM = "api"
"""The platform of a record whose line does not name one."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """A provider's usage in the record's terms (input without cache)."""

    input: int = 0
    cache_read: int = 0
    cache_write: int = 0
    output: int = 0
    reasoning: int = 0


def _int(value: object) -> int:
    if isinstance(value, bool) or value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"token count must be a whole number, got {value!r}")
    return value


def _sub(mapping: object, key: str) -> dict[str, Any]:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, dict) else {}


def normalize_usage(usage: Mapping[str, Any]) -> Tokens | None:
    """Map a usage object of any known shape; None when none is recognised."""
    if "prompt_cache_hit_tokens" in usage or "prompt_cache_miss_tokens" in usage:
        return _deepseek(usage)
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        return _chat(usage)
    if "cache_read_input_tokens" in usage or "cache_creation_input_tokens" in usage:
        return _anthropic(usage)
    if "input_tokens" in usage or "output_tokens" in usage:
        return _responses(usage)
    if "promptTokenCount" in usage or "candidatesTokenCount" in usage:
        return _gemini(usage)
    if "prompt_eval_count" in usage or "eval_count" in usage:
        return Tokens(
            _int(usage.get("prompt_eval_count")), output=_int(usage.get("eval_count"))
        )
    return None


def _split_cached(prompt: int, cached: int, output: int, reasoning: int) -> Tokens:
    cached = min(cached, prompt)
    return Tokens(prompt - cached, cached, 0, output, min(reasoning, output))


def _chat(usage: Mapping[str, Any]) -> Tokens:
    details = _sub(usage, "prompt_tokens_details")
    output = _int(usage.get("completion_tokens"))
    reasoning = _int(_sub(usage, "completion_tokens_details").get("reasoning_tokens"))
    cached = _int(details.get("cached_tokens") or usage.get("cached_tokens"))
    return _split_cached(_int(usage.get("prompt_tokens")), cached, output, reasoning)


def _responses(usage: Mapping[str, Any]) -> Tokens:
    cached = _int(_sub(usage, "input_tokens_details").get("cached_tokens"))
    output = _int(usage.get("output_tokens"))
    reasoning = _int(_sub(usage, "output_tokens_details").get("reasoning_tokens"))
    return _split_cached(_int(usage.get("input_tokens")), cached, output, reasoning)


def _deepseek(usage: Mapping[str, Any]) -> Tokens:
    hit = _int(usage.get("prompt_cache_hit_tokens"))
    if "prompt_cache_miss_tokens" in usage:
        miss = _int(usage.get("prompt_cache_miss_tokens"))
    else:
        miss = max(_int(usage.get("prompt_tokens")) - hit, 0)
    output = _int(usage.get("completion_tokens"))
    reasoning = _int(_sub(usage, "completion_tokens_details").get("reasoning_tokens"))
    return Tokens(miss, hit, 0, output, min(reasoning, output))


def _anthropic(usage: Mapping[str, Any]) -> Tokens:
    return Tokens(
        _int(usage.get("input_tokens")),
        _int(usage.get("cache_read_input_tokens")),
        _int(usage.get("cache_creation_input_tokens")),
        _int(usage.get("output_tokens")),
    )


def _gemini(usage: Mapping[str, Any]) -> Tokens:
    thoughts = _int(usage.get("thoughtsTokenCount"))
    output = _int(usage.get("candidatesTokenCount")) + thoughts
    cached = _int(usage.get("cachedContentTokenCount"))
    return _split_cached(_int(usage.get("promptTokenCount")), cached, output, thoughts)


def dotted(obj: object, path: str) -> object:
    """The value at a dotted path (``meta.app``) in nested objects, or None."""
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


class OpenAIJsonlSource(FileSource):
    name = NAME
    suffixes = (".jsonl", ".json", ".ndjson", ".log")

    def __init__(
        self,
        patterns: Iterable[str],
        *,
        fields: Mapping[str, str] | None = None,
        profile: str = "default",
        batch_size: int = BATCH_SIZE,
    ) -> None:
        super().__init__(patterns, batch_size=batch_size)
        self.fields = dict(fields or {})
        self.profile = profile

    def parser(self, path: str, carry: str) -> LineParser:
        return ResponseParser(path, self.fields, self.profile)


class ResponseParser(LineParser):
    def __init__(self, path: str, fields: Mapping[str, str], profile: str) -> None:
        super().__init__(path)
        self.fields = fields
        self.profile = profile
        self._mtime: datetime | None = None

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
        try:
            self._entry(number, line, entry)
        except ValueError as exc:
            self.issue(number, str(exc))

    def _entry(self, number: int, line: bytes, entry: dict[str, Any]) -> None:
        response = _sub(entry, "response") or entry
        request = _sub(entry, "request")
        usage, tokens = _find_usage(response)
        if tokens is None:
            if "error" in response or "error" in entry:
                return
            raise ValueError("no token usage found in the line")
        model = (
            self._field(entry, "model") or response.get("model") or request.get("model")
        )
        if not isinstance(model, str) or not model:
            raise ValueError("no model named in the line")
        at = self._time(entry, response)
        key = str(response.get("id") or hashlib.sha1(line).hexdigest())
        provider = self._field(entry, "provider") or _provider(response, usage)
        self.records.append(
            UsageRecord(
                source=NAME,
                record_key=key,
                source_path=self.path,
                profile=str(self._field(entry, "profile") or self.profile),
                session_id=str(self._field(entry, "session_id") or ""),
                model=model,
                started_at=at,
                ended_at=at,
                input_tokens=tokens.input,
                cache_read_tokens=tokens.cache_read,
                cache_write_tokens=tokens.cache_write,
                output_tokens=tokens.output,
                reasoning_tokens=tokens.reasoning,
                provider=provider,
                is_local=True if provider in ("ollama", "llama.cpp") else None,
                platform=self._field(entry, "platform") or PLATFORM,
                task=str(self._field(entry, "task") or ""),
            )
        )
        event = _timing_event(key, self.path, at, model, provider, response, tokens)
        if event is not None:
            self.events.append(event)

    def _field(self, entry: dict[str, Any], name: str) -> str | None:
        path = self.fields.get(name)
        value = dotted(entry, path) if path else None
        return None if value is None else str(value)

    def _time(self, entry: dict[str, Any], response: dict[str, Any]) -> datetime:
        path = self.fields.get("timestamp")
        value = dotted(entry, path) if path else None
        if value is not None:
            at = parse_time(value) or from_epoch(value)
            if at is None:
                raise ValueError(f"{path} is not a time: {value!r}")
            return at
        for key in ("created_at", "created", "timestamp"):
            value = response.get(key) or entry.get(key)
            at = parse_time(value) or from_epoch(value)
            if at is not None:
                return at
        if self._mtime is None:
            self._mtime = datetime.fromtimestamp(os.path.getmtime(self.path), tz=UTC)
        return self._mtime


def _find_usage(response: dict[str, Any]) -> tuple[dict[str, Any], Tokens | None]:
    for key in ("usage", "usageMetadata"):
        usage = response.get(key)
        if isinstance(usage, dict):
            tokens = normalize_usage(usage)
            if tokens is not None:
                return usage, tokens
    if "prompt_eval_count" in response or "eval_count" in response:
        return response, normalize_usage(response)
    return {}, None


def _provider(response: dict[str, Any], usage: dict[str, Any]) -> str | None:
    if "prompt_eval_count" in usage:
        return "ollama"
    if "timings" in response:
        return "llama.cpp"
    if "prompt_cache_hit_tokens" in usage:
        return "deepseek"
    if response.get("type") == "message" or "cache_read_input_tokens" in usage:
        return "anthropic"
    if "usageMetadata" in response:
        return "google"
    return None


def _timing_event(
    key: str,
    path: str,
    at: datetime,
    model: str,
    provider: str | None,
    response: dict[str, Any],
    tokens: Tokens,
) -> CallEvent | None:
    """Prefill and generation times of a local server's response, if given."""
    prompt_s = eval_s = total_s = None
    if "prompt_eval_duration" in response or "eval_duration" in response:
        prompt_s = _seconds(response.get("prompt_eval_duration"), 1e9)
        eval_s = _seconds(response.get("eval_duration"), 1e9)
        total_s = _seconds(response.get("total_duration"), 1e9)
    elif isinstance(response.get("timings"), dict):
        timings = response["timings"]
        prompt_s = _seconds(timings.get("prompt_ms"), 1e3)
        eval_s = _seconds(timings.get("predicted_ms"), 1e3)
    else:
        return None
    return CallEvent(
        source=NAME,
        event_key=key,
        path=path,
        at=at,
        model=model,
        provider=provider,
        prompt_tokens=tokens.input + tokens.cache_read + tokens.cache_write,
        cache_read_tokens=tokens.cache_read,
        output_tokens=tokens.output,
        latency_s=total_s,
        prompt_eval_s=prompt_s,
        eval_s=eval_s,
    )


def _seconds(value: object, per_second: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value / per_second
