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
  profile: the resource's ``service.name``; task: ``gen_ai.agent.name``;
  platform: ``otel``.

The conventions count cached tokens inside the input count, so they are
taken out of it. Some instrumentations of Anthropic's API report its own
input count instead, which leaves them out: when the cache counts exceed the
input count, the input count is taken as already without them.

A JSON lines file is read incrementally like any log. A file that opens an
indented document (``{`` alone on its first line), whose first line is
longer than :data:`LINE_LIMIT`, or that holds one compact document with no
newline at all, is read as a stream of JSON values (with ijson): memory
holds one span at a time whatever the size of the file, and the file is read
again only when its size or identity changed. Records are keyed by trace and
span ids, so reading a file again never counts a span twice.

A file of a single line with no newline is ambiguous: a compact document, or
the first JSON line of a log still being written. When it parses as a whole
it is read as a document (and the offset kept is 0, so that a line scan
would start again from the top should lines follow); when it ends before the
value does, it waits for the next scan, without an issue.

An issue in a document has no line number; its message says where the span
is (``resourceSpans[0].scopeSpans[1].spans[3]``), as does an issue in a JSON
line, which also has the line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, BinaryIO

import ijson  # type: ignore[import-untyped]
import orjson

from costaudit.record import UsageRecord
from costaudit.sources.base import CallEvent, PathState, ReadMeter, ScanBatch
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
LINE_LIMIT = 16 << 20
"""A file whose first line is longer than this is streamed as a document,
since a JSON line is held whole in memory."""
SPAN = "resourceSpans.item.scopeSpans.item.spans.item"
RESOURCE = "resourceSpans.item.resource"


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


@dataclass(frozen=True, slots=True)
class Where:
    """A span's place in its document, for issues."""

    resource: int
    scope: int
    span: int

    def text(self) -> str:
        return (
            f"resourceSpans[{self.resource}].scopeSpans[{self.scope}]"
            f".spans[{self.span}]"
        )


class SpanReader:
    """Turns OTLP spans into records, events and issues kept by ``sink``."""

    def __init__(self, sink: LineParser, profile: str) -> None:
        self.sink = sink
        self.path = sink.path
        self.profile = profile

    def document(self, number: int | None, doc: object) -> None:
        """Read one whole OTLP document (a JSON line)."""
        if not isinstance(doc, dict) or not isinstance(doc.get("resourceSpans"), list):
            self.sink.issue(number, "not an OTLP traces document")
            return
        for r, resource_spans in enumerate(doc["resourceSpans"]):
            if not isinstance(resource_spans, dict):
                continue
            profile = self.resource_profile(resource_spans.get("resource"))
            for s, scope in enumerate(resource_spans.get("scopeSpans") or []):
                for n, span in enumerate((scope or {}).get("spans") or []):
                    where = Where(r, s, n)
                    self.span(number, where, span, profile)

    def resource_profile(self, resource: object) -> str:
        attributes = resource.get("attributes") if isinstance(resource, dict) else None
        return str(attribute_map(attributes).get("service.name") or self.profile)

    def span(
        self, number: int | None, where: Where, span: object, profile: str
    ) -> None:
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
            self.sink.issue(number, f"{where.text()} ({name!r}): {exc}")

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
            platform=NAME,
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

    def scan(
        self, states: dict[str, PathState], meter: ReadMeter | None = None
    ) -> Iterator[ScanBatch]:
        for path in self.locations():
            state = states.get(path)
            try:
                if _unchanged(path, state):
                    continue
                layout = file_layout(path)
            except OSError as exc:
                message = f"{path}: cannot read: {exc.strerror or exc}"
                yield ScanBatch(
                    NAME, path, state or PathState(NAME, path), error=message
                )
                continue
            if layout == LINES:
                yield from scan_lines(
                    NAME,
                    path,
                    state,
                    self.parser,
                    batch_size=self.batch_size,
                    meter=meter,
                )
            else:
                document = DocumentScan(self, path, state, layout == UNTERMINATED)
                yield from document.run(meter)


LINES, DOCUMENT, UNTERMINATED = "lines", "document", "unterminated"


def _unchanged(path: str, state: PathState | None) -> bool:
    """Whether ``path`` is the file read at the last scan, as it was then:
    there is nothing to read, whatever its layout."""
    if state is None:
        return False
    with open(path, "rb") as handle:
        st = os.fstat(handle.fileno())
        if st.st_size != state.size:
            return False
        return fingerprint_open(handle, st).text() == state.identity


def file_layout(path: str) -> str:
    """How to read a file: as JSON lines, as a document (indented, or with a
    first line too long to hold), or as one line with no newline yet."""
    with open(path, "rb") as handle:
        head = handle.read(64 << 10)
        start = head.lstrip()
        if start[:1] == b"{" and start[1:2].isspace():
            return DOCUMENT
        seen, chunk = 0, head
        while (end := chunk.find(b"\n")) < 0:
            seen += len(chunk)
            if seen > LINE_LIMIT:
                return DOCUMENT
            chunk = handle.read(1 << 20)
            if not chunk:
                return UNTERMINATED if start else LINES
        return LINES if seen + end <= LINE_LIMIT else DOCUMENT


@dataclass
class DocumentScan:
    """Streams one document file's spans into batches.

    Batches before the last keep the previous state, so that a scan cut
    short reads the file again; the last one keeps the file's identity and
    size with offset 0 (a line scan of the same file starts from the top).
    """

    source: OtelSource
    path: str
    state: PathState | None
    unterminated: bool
    sink: LineParser = field(init=False)
    records: int = 0
    issues: int = 0

    def __post_init__(self) -> None:
        self.sink = LineParser(self.path)
        self.reader = SpanReader(self.sink, self.source.profile)
        self.previous = self.state or PathState(NAME, self.path)

    def run(self, meter: ReadMeter | None) -> Iterator[ScanBatch]:
        try:
            with open(self.path, "rb") as handle:
                st = os.fstat(handle.fileno())
                identity = fingerprint_open(handle, st).text()
                if (self.previous.identity, self.previous.size) == (
                    identity,
                    st.st_size,
                ):
                    return
                handle.seek(0)
                complete = yield from self._stream(handle)
        except OSError as exc:
            message = f"{self.path}: cannot read: {exc.strerror or exc}"
            yield ScanBatch(NAME, self.path, self.previous, error=message)
            return
        if meter is not None:
            meter(self.path, st.st_size)
        if not complete and self.unterminated:
            # A first JSON line still being written: wait, keeping nothing.
            if self.sink.pending():
                yield self._batch(self.previous)
            return
        if not complete:
            self.sink.issue(None, "the document ends before it is complete")
        yield self._batch(
            PathState(NAME, self.path, identity, st.st_size, 0, None),
            restart=True,
        )

    def _stream(self, handle: BinaryIO) -> Generator[ScanBatch, None, bool]:
        """Batches of spans; returns False when the file ends too soon."""
        place = [-1, -1, -1]
        profile = self.source.profile
        events = ijson.parse(handle, use_float=True, multiple_values=True)
        try:
            for prefix, event, value in events:
                if event != "start_map":
                    continue
                if prefix == SPAN:
                    place[2] += 1
                    span = _build(events, event, value)
                    self.reader.span(None, Where(*place), span, profile)
                    if self.sink.pending() >= self.source.batch_size:
                        yield self._batch(self.previous)
                elif prefix == RESOURCE:
                    built = _build(events, event, value)
                    profile = self.reader.resource_profile(built)
                elif prefix == "resourceSpans.item":
                    place = [place[0] + 1, -1, -1]
                    profile = self.source.profile
                elif prefix == "resourceSpans.item.scopeSpans.item":
                    place[1:] = [place[1] + 1, -1]
                elif prefix == "":
                    place = [-1, -1, -1]
        except ijson.IncompleteJSONError as exc:
            text = str(exc)
            if "premature EOF" in text or "Incomplete JSON" in text:
                return False
            self.sink.issue(None, f"not valid JSON: {_first_line(exc)}")
        except ijson.JSONError as exc:
            self.sink.issue(None, f"not valid JSON: {_first_line(exc)}")
        return True

    def _batch(self, state: PathState, restart: bool = False) -> ScanBatch:
        records, events, issues = self.sink.take()
        self.records += len(records)
        self.issues += len(issues)
        if state is not self.previous:
            state = replace(state, records=self.records, issues=self.issues)
        batch = ScanBatch(NAME, self.path, state, records, events, issues)
        batch.restart = restart
        return batch


def _build(events: Iterator[tuple[str, str, Any]], event: str, value: Any) -> Any:
    """The object that starts with ``event``, built from the events to its end."""
    builder = ijson.ObjectBuilder()
    builder.event(event, value)
    depth = 1
    for _prefix, kind, item in events:
        builder.event(kind, item)
        if kind in ("start_map", "start_array"):
            depth += 1
        elif kind in ("end_map", "end_array"):
            depth -= 1
            if depth == 0:
                break
    return builder.value


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
