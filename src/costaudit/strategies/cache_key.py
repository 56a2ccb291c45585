"""Exact-match response cache: a stable key for a request, and a TTL cache.

Two requests get the same key when a provider would see the same input and
the same answer-shaping settings: model, system prompt, messages (with tool
calls and results), tools, temperature, top_p, token limit, stop sequences,
response format, seed and any setting we do not know. Settings that change
only delivery or bookkeeping (streaming, user and request ids, timeouts,
metadata, prompt-cache hints) are left out.

Agents write the date, and sometimes a session id, into the system prompt
(Hermes ends it with "Conversation started: Tuesday, October 27, 2026").
Keyed on the raw text, a repeat only hits on the same day. The key is taken
over the system prompt with those values masked (:func:`stable_system_prompt`),
so the same question under the same instructions hits on any day; a prompt
whose answer depends on the date is for the caller to keep out of the cache
(:mod:`costaudit.strategies.volatility`), as it is anyway.

OpenAI chat requests and Anthropic messages requests both reduce to one
canonical form, so the same conversation gets the same key in either shape.
Leading ``system`` messages become the system prompt, a plain string content
equals a single text part, tool-call ids are renumbered in order of
appearance (providers mint new ones every run) and JSON tool arguments are
compared as JSON, not as text.

:class:`ExactCache` takes the time as an argument instead of reading a
clock, so a live gateway passes ``time.time()`` and the advisor replays
history by each call's start time, and both get the same hits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)

__all__ = [
    "CACHE_KEY_VERSION",
    "IGNORED_PARAMETERS",
    "CacheHit",
    "CacheStats",
    "ExactCache",
    "StableText",
    "canonical_request",
    "prompt_cache_key",
    "request_cache_key",
    "stable_system_prompt",
]

CACHE_KEY_VERSION = 2
"""Part of every key, so a change to the canonical form starts a new cache."""

IGNORED_PARAMETERS = frozenset(
    {
        "api_base",
        "api_key",
        "base_url",
        "cache_control",
        "extra_headers",
        "headers",
        "idempotency_key",
        "max_retries",
        "metadata",
        "prompt_cache_key",
        "prompt_cache_retention",
        "request_id",
        "request_timeout",
        "safety_identifier",
        "service_tier",
        "store",
        "stream",
        "stream_options",
        "timeout",
        "user",
        "user_id",
    }
)
"""Request fields that change how or for whom an answer is delivered, not it.

Any field outside this set and the message fields is part of the key: a
setting we do not know might change the answer, and a missed hit only costs
money where a wrong hit serves the wrong answer.
"""

# Different names providers use for the same setting.
_PARAMETER_ALIASES = {
    "max_completion_tokens": "max_tokens",
    "max_output_tokens": "max_tokens",
    "stop_sequences": "stop",
}

_MESSAGE_FIELDS = frozenset({"messages", "system", "model"})

# Keys inside messages and content parts that steer caching or carry the
# provider's own bookkeeping, never the text the model reads.
_IGNORED_PART_KEYS = frozenset({"cache_control", "citations"})

# A line of the system prompt that states when the conversation started or
# which session it is: a label, then ":", "=" or "is", then the value.
_DATE_LABELS = (
    r"(?:conversation|session|chat) (?:started|start(?:ed)? (?:at|on)|began|start"
    r" time)|(?:current|today'?s|local|utc) (?:date(?: and time)?|time|datetime"
    r"|timestamp)|today|the (?:current )?date|date(?: and time)?|time|datetime"
    r"|timestamp|now"
)
_ID_LABELS = r"(?:session|conversation|chat|request|run|trace) id"
_LABELLED_LINE = re.compile(
    rf"^(?P<label>[ \t>*#-]*(?P<name>{_DATE_LABELS}|{_ID_LABELS})"
    r"\s*(?::|=|\bis\b)\s*)(?P<value>[^\n]*?)\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_VALUE = re.compile(
    rf"\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}}"
    rf"|\d{{1,2}}:\d{{2}}|\b{_MONTH} \d{{1,2}}\b|\b\d{{1,2}}(?:st|nd|rd|th)? {_MONTH}"
    r"|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b",
    re.IGNORECASE,
)
_ID_VALUE = re.compile(r"^[\w.:-]*\d[\w.:-]*$")
_LABEL_HINTS = ("date", "time", "started", "began", "today", " id", "now")


@dataclass(frozen=True, slots=True)
class StableText:
    """A system prompt with the values that change by day or session masked."""

    text: str
    masked: tuple[str, ...] = ()
    """The lines as they were, before masking, in order."""

    @property
    def changed(self) -> bool:
        return bool(self.masked)


def stable_system_prompt(text: str) -> StableText:
    """Mask the date, time and session id lines of a system prompt.

    Only a labelled line is touched ("Conversation started: ...", "Current
    date: ...", "Today is ...", "Session ID: ..."), and only when its value
    looks like a date, a time or an id: a date elsewhere in the prompt (a
    deadline, a birthday) is part of the instructions and stays. The label
    is kept and the value becomes ``<date>`` or ``<id>``, so two prompts
    that differ only there become one text.
    """
    lowered = text.lower()
    if not any(hint in lowered for hint in _LABEL_HINTS):
        return StableText(text)
    masked: list[str] = []

    def mask(match: re.Match[str]) -> str:
        value = match.group("value")
        is_id = match.group("name").lower().endswith(" id")
        if is_id and _ID_VALUE.match(value):
            placeholder = "<id>"
        elif not is_id and _DATE_VALUE.search(value):
            placeholder = "<date>"
        else:
            return match.group()
        masked.append(match.group().strip())
        return match.group("label") + placeholder

    stable = _LABELLED_LINE.sub(mask, text)
    return StableText(stable, tuple(masked))


def request_cache_key(
    request: Mapping[str, Any], *, scope: str = "", keep_volatile_lines: bool = False
) -> str:
    """Return the cache key (64 hex digits) of a chat or messages request.

    ``scope`` keeps separate caches apart in one store, for example one per
    tenant, so that one user is never served another user's answer.
    ``keep_volatile_lines`` keys on the system prompt as sent, date line and
    all (see :func:`stable_system_prompt`).
    """
    canonical = canonical_request(request, keep_volatile_lines=keep_volatile_lines)
    return _digest(scope, canonical)


def prompt_cache_key(
    model: str,
    system_prompt: str | None,
    prompt: str,
    *,
    scope: str = "",
    keep_volatile_lines: bool = False,
    **parameters: Any,
) -> str:
    """Return the key of a single-turn request, as history records one.

    Equal to :func:`request_cache_key` of the request that sends
    ``system_prompt`` and then ``prompt`` as the one user message.
    """
    messages: list[dict[str, Any]] = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    messages.append({"role": "user", "content": prompt})
    return request_cache_key(
        {**parameters, "model": model, "messages": messages},
        scope=scope,
        keep_volatile_lines=keep_volatile_lines,
    )


def canonical_request(
    request: Mapping[str, Any], *, keep_volatile_lines: bool = False
) -> dict[str, Any]:
    """Return the JSON-ready form of ``request`` that the key is a hash of."""
    model = request.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ValueError("a request needs a 'model' naming the model it asks")
    raw_messages = request.get("messages", [])
    if not isinstance(raw_messages, Sequence) or isinstance(raw_messages, str):
        raise ValueError("a request's 'messages' must be a list of messages")

    ids = _IdNumbers()
    system = _content_parts(request.get("system"), ids)
    messages = list(raw_messages)
    while messages and _role(messages[0]) == "system":
        system.extend(_content_parts(messages.pop(0).get("content"), ids))

    if not keep_volatile_lines:
        system = [_stable_part(part) for part in system]
    return {
        "model": model.strip(),
        "system": system,
        "messages": [_message(m, ids) for m in messages],
        "parameters": _parameters(request),
    }


def _stable_part(part: Any) -> Any:
    """A system text part with its date and session id lines masked."""
    if isinstance(part, dict) and isinstance(part.get("text"), str):
        return {**part, "text": stable_system_prompt(part["text"]).text}
    return part


def _digest(scope: str, canonical: dict[str, Any]) -> str:
    text = json.dumps(
        [CACHE_KEY_VERSION, scope, _plain(canonical)],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _IdNumbers:
    """Tool-call ids renamed by order of first appearance.

    Messages are read in order, so a call is numbered before the result that
    refers back to it, and the pairing survives the renaming.
    """

    def __init__(self) -> None:
        self._numbers: dict[str, str] = {}

    def __call__(self, value: object) -> object:
        if not isinstance(value, str):
            return value
        return self._numbers.setdefault(value, f"call_{len(self._numbers)}")


def _role(message: object) -> str | None:
    if not isinstance(message, Mapping):
        raise ValueError(f"each message must be a mapping, got {message!r:.60}")
    role = message.get("role")
    return role if isinstance(role, str) else None


def _content_parts(content: object, ids: _IdNumbers) -> list[Any]:
    """Content as a list of parts; a bare string is one text part."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if isinstance(content, Mapping):
        return [_part(content, ids)]
    if isinstance(content, Sequence):
        return [_part(p, ids) if isinstance(p, Mapping) else p for p in content]
    raise ValueError(f"message content must be text or a list, got {content!r:.60}")


def _part(part: Mapping[str, Any], ids: _IdNumbers) -> dict[str, Any]:
    kept = {k: v for k, v in part.items() if k not in _IGNORED_PART_KEYS}
    kind = kept.get("type")
    if kind in ("tool_use", "server_tool_use") and "id" in kept:
        kept["id"] = ids(kept["id"])
    elif kind == "tool_result":
        if "tool_use_id" in kept:
            kept["tool_use_id"] = ids(kept["tool_use_id"])
        if "content" in kept:
            kept["content"] = _content_parts(kept["content"], ids)
    return _without_none(kept)


def _message(message: Mapping[str, Any], ids: _IdNumbers) -> dict[str, Any]:
    _role(message)
    canonical = {
        k: v
        for k, v in message.items()
        if k not in _IGNORED_PART_KEYS and k != "content"
    }
    canonical["content"] = _content_parts(message.get("content"), ids)
    if canonical.get("tool_calls"):
        canonical["tool_calls"] = [_tool_call(c, ids) for c in canonical["tool_calls"]]
    if "tool_call_id" in canonical:
        canonical["tool_call_id"] = ids(canonical["tool_call_id"])
    return _without_none(canonical)


def _tool_call(call: object, ids: _IdNumbers) -> object:
    if not isinstance(call, Mapping):
        return call
    canonical = dict(call)
    if "id" in canonical:
        canonical["id"] = ids(canonical["id"])
    function = canonical.get("function")
    if isinstance(function, Mapping):
        function = dict(function)
        function["arguments"] = _json_or_text(function.get("arguments"))
        canonical["function"] = function
    return canonical


def _json_or_text(arguments: object) -> object:
    """Parse JSON arguments so that spacing and key order do not matter."""
    if not isinstance(arguments, str):
        return arguments
    try:
        return {"json": json.loads(arguments)}
    except ValueError:
        return {"text": arguments}


def _parameters(request: Mapping[str, Any]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for name, value in request.items():
        if name in _MESSAGE_FIELDS or name in IGNORED_PARAMETERS or value is None:
            continue
        name = _PARAMETER_ALIASES.get(name, name)
        if name == "stop" and isinstance(value, str):
            value = [value]
        if name in parameters and parameters[name] != value:
            raise ValueError(f"the request sets '{name}' twice, to different values")
        parameters[name] = value
    return parameters


def _without_none(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}


def _plain(value: Any) -> Any:
    """Make a value JSON-stable: whole floats as ints, NaN refused."""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"a request value must be a finite number, not {value}")
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    raise ValueError(f"a request value must be JSON data, got {type(value).__name__}")


V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class CacheHit(Generic[V]):
    """A stored answer found for a key, with its age when it was found."""

    value: V
    stored_at: float
    """Seconds since the epoch when the answer was stored."""
    age_seconds: float


@dataclass(frozen=True, slots=True)
class CacheStats:
    """What a cache has done so far, for reports and gateway metrics."""

    hits: int
    misses: int
    expired: int
    """Misses caused by an entry older than its time to live."""
    evicted: int
    """Entries dropped because the cache was full."""
    entries: int

    @property
    def hit_rate(self) -> float:
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    stored_at: float
    expires_at: float


class ExactCache(Generic[V]):
    """Answers by cache key, each kept for a time to live, least recent out.

    The time is always passed in (seconds since the epoch, or an aware
    datetime), never read from a clock, so replaying history gives the same
    hits as live traffic did. A lookup at a time before an entry was stored
    is a miss: an answer from the future was not available then.
    """

    def __init__(
        self, *, ttl_seconds: float | None = 3600.0, max_entries: int = 10_000
    ) -> None:
        if ttl_seconds is not None and not ttl_seconds > 0:
            raise ValueError(f"ttl_seconds must be over 0 or None, not {ttl_seconds}")
        if isinstance(max_entries, bool) or max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, _Entry[V]] = OrderedDict()
        self._lock = threading.Lock()
        self._hits = self._misses = self._expired = self._evicted = 0

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, key: str, now: float | datetime) -> CacheHit[V] | None:
        """Return the answer stored for ``key``, or None on a miss."""
        when = _seconds(now)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or when < entry.stored_at:
                self._misses += 1
                return None
            if when >= entry.expires_at:
                del self._entries[key]
                self._misses += 1
                self._expired += 1
                return None
            self._entries.move_to_end(key)
            self._hits += 1
            return CacheHit(entry.value, entry.stored_at, when - entry.stored_at)

    def store(
        self,
        key: str,
        value: V,
        now: float | datetime,
        *,
        ttl_seconds: float | None = None,
    ) -> None:
        """Keep ``value`` under ``key`` from ``now``, replacing any older one.

        ``ttl_seconds`` overrides the cache's time to live for this entry.
        """
        when = _seconds(now)
        ttl = self.ttl_seconds if ttl_seconds is None else ttl_seconds
        if ttl is not None and not ttl > 0:
            raise ValueError(f"ttl_seconds must be positive, not {ttl}")
        expires_at = math.inf if ttl is None else when + ttl
        with self._lock:
            self._entries[key] = _Entry(value, when, expires_at)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                evicted, _ = self._entries.popitem(last=False)
                self._evicted += 1
                logger.debug("cache full, evicted %s", evicted)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @property
    def stats(self) -> CacheStats:
        return CacheStats(
            hits=self._hits,
            misses=self._misses,
            expired=self._expired,
            evicted=self._evicted,
            entries=len(self._entries),
        )


def _seconds(now: float | datetime) -> float:
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("the time must be timezone-aware")
        return now.timestamp()
    if isinstance(now, bool) or not isinstance(now, (int, float)):
        raise ValueError(f"the time must be seconds or a datetime, not {now!r}")
    if math.isnan(now) or math.isinf(now):
        raise ValueError(f"the time must be a finite number, not {now}")
    return float(now)
