"""OpenTelemetry GenAI spans exported as OTLP JSON files.

A file holds either one OTLP JSON document (``{"resourceSpans": [...]}``,
compact or indented) or JSON lines of such documents, as the collector's file
exporter writes them. Each span under ``resourceSpans[].scopeSpans[].spans[]``
whose attributes carry token counts becomes a usage record, keyed by its
trace and span ids, and a call event with the span's duration.

Attributes read (GenAI semantic conventions, with older and vendor names):

- model: ``gen_ai.response.model``, else ``gen_ai.request.model``;
- provider: ``gen_ai.provider.name``, else ``gen_ai.system``;
- tokens: ``gen_ai.usage.input_tokens`` (or ``prompt_tokens``),
  ``gen_ai.usage.output_tokens`` (or ``completion_tokens``),
  ``gen_ai.usage.cache_read.input_tokens`` (or ``cache_read_input_tokens``),
  ``gen_ai.usage.cache_creation.input_tokens`` (or
  ``cache_creation_input_tokens``), ``gen_ai.usage.reasoning.output_tokens``;
- session: ``gen_ai.conversation.id`` or ``session.id``, else the trace id;
  profile: the resource's ``service.name``; task: ``gen_ai.agent.name``.

The conventions count cached tokens inside the input count, so they are
taken out of it. Some instrumentations of Anthropic's API report its own
input count instead, which leaves them out: when the cache counts exceed the
input count, the input count is taken as already without them.

A JSON lines file is read incrementally like any log. A single-document file
is read whole, again only when its size or identity changed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson

from costaudit.record import UsageRecord
from costaudit.sources.base import CallEvent, PathState, ScanBatch
from costaudit.sources.files import (
    BATCH_SIZE,
    FileSource,
    LineParser,
    fingerprint_open,
    from_epoch,
    scan_lines,
)

log = logging.getLogger(__name__)

NAME = "otel"
INPUT = ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
OUTPUT = ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
CACHE_READ = (
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
)
CACHE_WRITE = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
)
REASONING = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")


def attribute_map(attributes: object) -> dict[str, object]:
    """OTLP ``[{key, value: {stringValue|intValue|...}}]`` as a plain dict."""
    found: dict[str, object] = {}
    if not isinstance(attributes, list):
        return found
    for item in attributes:
        if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
            continue
        value = item["value"]
        for kind in ("stringValue", "intValue", "doubleValue", "boolValue"):
            if kind in value:
                found[str(item.get("key"))] = value[kind]
                break
    return found


def _count(attrs: dict[str, object], names: tuple[str, ...]) -> int | None:
    for name in names:
        value = attrs.get(name)
        if value is None:
            continue
        # OTLP JSON writes 64-bit integers as strings.
        if isinstance(value, str) and value.isdigit():
            return int(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if value < 0 or value != int(value):
                raise ValueError(f"{name} must be a whole number, got {value!r}")
            return int(value)
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    return None


class SpanReader:
    """Turns OTLP documents into records, events and issues kept by ``sink``."""

    def __init__(self, sink: LineParser, profile: str) -> None:
        self.sink = sink
        self.path = sink.path
        self.profile = profile

    def document(self, number: int | None, doc: object) -> None:
        if not isinstance(doc, dict) or not isinstance(doc.get("resourceSpans"), list):
            self.sink.issue(number, "not an OTLP traces document")
            return
        for resource_spans in doc["resourceSpans"]:
            if not isinstance(resource_spans, dict):
                continue
            resource = attribute_map(
                (resource_spans.get("resource") or {}).get("attributes")
            )
            profile = str(resource.get("service.name") or self.profile)
            for scope in resource_spans.get("scopeSpans") or []:
                for span in (scope or {}).get("spans") or []:
                    self._span(number, span, profile)

    def _span(self, number: int | None, span: object, profile: str) -> None:
        if not isinstance(span, dict):
            return
        attrs = attribute_map(span.get("attributes"))
        try:
            tokens = [_count(attrs, names) for names in (INPUT, OUTPUT)]
            if tokens == [None, None]:
                return
            self._record(span, attrs, profile, tokens[0] or 0, tokens[1] or 0)
        except ValueError as exc:
            name = span.get("name")
            self.sink.issue(number, f"span {name!r}: {exc}")

    def _record(
        self,
        span: dict[str, Any],
        attrs: dict[str, object],
        profile: str,
        prompt: int,
        output: int,
    ) -> None:
        start = from_epoch(span.get("startTimeUnixNano"), 1e9)
        end = from_epoch(span.get("endTimeUnixNano"), 1e9) or start
        if start is None or end is None:
            raise ValueError("no startTimeUnixNano")
        read = _count(attrs, CACHE_READ) or 0
        write = _count(attrs, CACHE_WRITE) or 0
        uncached = prompt - read - write if prompt >= read + write else prompt
        reasoning = min(_count(attrs, REASONING) or 0, output)
        trace = str(span.get("traceId") or "")
        key = f"{trace}:{span.get('spanId') or ''}"
        model = str(
            attrs.get("gen_ai.response.model")
            or attrs.get("gen_ai.request.model")
            or "unknown"
        )
        provider = attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system")
        record = UsageRecord(
            source=NAME,
            record_key=key,
            source_path=self.path,
            profile=profile,
            session_id=str(
                attrs.get("gen_ai.conversation.id") or attrs.get("session.id") or trace
            ),
            model=model,
            started_at=start,
            ended_at=max(start, end),
            input_tokens=uncached,
            cache_read_tokens=read,
            cache_write_tokens=write,
            output_tokens=output,
            reasoning_tokens=reasoning,
            provider=None if provider is None else str(provider),
            task=str(attrs.get("gen_ai.agent.name") or ""),
        )
        self.sink.records.append(record)
        self.sink.events.append(_event(record, start, end))


def _event(record: UsageRecord, start: datetime, end: datetime) -> CallEvent:
    return CallEvent(
        source=NAME,
        event_key=record.record_key,
        path=record.source_path,
        at=start,
        model=record.model,
        profile=record.profile,
        provider=record.provider,
        session_id=record.session_id,
        prompt_tokens=record.prompt_tokens,
        cache_read_tokens=record.cache_read_tokens,
        output_tokens=record.output_tokens,
        latency_s=max((end - start).total_seconds(), 0.0),
    )


class OtelLineParser(LineParser):
    def __init__(self, path: str, profile: str) -> None:
        super().__init__(path)
        self.reader = SpanReader(self, profile)

    def feed(self, number: int, line: bytes) -> None:
        if not line.strip():
            return
        try:
            doc = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            self.issue(number, f"not valid JSON: {exc}")
            return
        self.reader.document(number, doc)


class OtelSource(FileSource):
    name = NAME
    suffixes = (".json", ".jsonl")

    def __init__(
        self,
        patterns: Iterable[str],
        *,
        profile: str = "default",
        batch_size: int = BATCH_SIZE,
    ) -> None:
        super().__init__(patterns, batch_size=batch_size)
        self.profile = profile

    def parser(self, path: str, carry: str) -> LineParser:
        return OtelLineParser(path, self.profile)

    def scan(self, states: dict[str, PathState]) -> Iterator[ScanBatch]:
        for path in self.locations():
            state = states.get(path)
            try:
                whole = _is_single_document(path)
            except OSError as exc:
                message = f"{path}: cannot read: {exc.strerror or exc}"
                yield ScanBatch(
                    NAME, path, state or PathState(NAME, path), error=message
                )
                continue
            if whole:
                yield from self._scan_document(path, state)
            else:
                yield from scan_lines(
                    NAME, path, state, self.parser, batch_size=self.batch_size
                )

    def _scan_document(self, path: str, state: PathState | None) -> Iterator[ScanBatch]:
        try:
            with open(path, "rb") as handle:
                st = os.fstat(handle.fileno())
                identity = fingerprint_open(handle, st).text()
                if state is not None and (state.identity, state.size) == (
                    identity,
                    st.st_size,
                ):
                    return
                if st.st_size == 0:
                    return
                handle.seek(0)
                data = handle.read()
        except OSError as exc:
            message = f"{path}: cannot read: {exc.strerror or exc}"
            yield ScanBatch(NAME, path, state or PathState(NAME, path), error=message)
            return
        sink = LineParser(path)
        try:
            SpanReader(sink, self.profile).document(None, orjson.loads(data))
        except orjson.JSONDecodeError as exc:
            sink.issue(None, f"not valid JSON: {exc}")
        new_state = PathState(
            NAME,
            path,
            identity,
            st.st_size,
            st.st_size,
            None,
            len(sink.records),
            len(sink.issues),
        )
        yield ScanBatch(NAME, path, new_state, *sink.take())


def _is_single_document(path: str) -> bool:
    """An indented document opens with a line holding only ``{``; a compact
    one has no newline at all. Anything else is read as JSON lines."""
    with open(path, "rb") as handle:
        first = handle.readline()
    return first.strip() == b"{" or not first.endswith(b"\n")
