"""Hermes' ``logs/agent.log``: one line per API call, with its latency.

Hermes logs every model call it makes, through its log format
``%(asctime)s %(levelname)s%(session_tag)s %(name)s: %(message)s``::

    2025-09-10 12:00:04,512 INFO [20250910_120000_4f2a9c] agent.conversation_loop:
    API call #2: model=M provider=P in=13020 out=230 total=13250 latency=2.0s
    cache=11904/13020 (91%)

(one line in the file). ``in`` is the whole prompt, cached tokens included,
and ``cache`` the tokens read from the cache out of it.

Each line becomes a call event only, never a usage record: the Hermes
``state.db`` source already counts the same calls, and would be counted
twice. The profile is the profile directory's name (``default`` for the
Hermes home itself). The time is Hermes' local time, read in this machine's
zone unless ``timezone`` is set in ``[sources.hermes_agent_log]``. Rotated
logs (``agent.log.1`` ...) are read too, found by the usual patterns and in
any folder given; an event's key is its profile, session, time and call
number, so a line read again after rotation is the same event.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from costaudit.sources.base import CallEvent
from costaudit.sources.files import BATCH_SIZE, FileSource, LineParser
from costaudit.sources.hermes.home import DEFAULT_PROFILE

log = logging.getLogger(__name__)

NAME = "hermes_agent_log"
API_CALL = re.compile(
    rb"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+(?: \[([^\]]*)\])? [\w.]+: "
    rb"API call #(\d+): model=(\S+) provider=(\S+) in=(\d+) out=(\d+) total=(\d+) "
    rb"latency=([\d.]+)s(?: cache=(\d+)/(\d+) \(\d+%\))?\s*$"
)
_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def hermes_roots(env: Mapping[str, str], home: Path) -> Path:
    explicit = env.get("HERMES_HOME")
    return Path(explicit).expanduser() if explicit else home / ".hermes"


def default_patterns(root: Path) -> list[str]:
    """The root's and every profile's ``logs/agent.log`` and its backups."""
    patterns = [str(root / "logs" / "agent.log"), str(root / "logs" / "agent.log.*")]
    profiles = root / "profiles"
    patterns += [
        str(profiles / "*" / "logs" / "agent.log"),
        str(profiles / "*" / "logs" / "agent.log.*"),
    ]
    return patterns


def profile_of(path: str) -> str:
    """``profiles/<name>/logs/agent.log`` belongs to <name>; else default."""
    parts = Path(path).parts
    if len(parts) >= 4 and parts[-2] == "logs" and parts[-4] == "profiles":
        name = parts[-3]
        if _PROFILE_NAME.match(name):
            return name
    return DEFAULT_PROFILE


class HermesAgentLogSource(FileSource):
    name = NAME
    suffixes = ("agent.log",)
    rotated = True

    def __init__(
        self,
        patterns: Iterable[str],
        *,
        zone: tzinfo | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        super().__init__(patterns, batch_size=batch_size)
        self.zone = zone

    def locations(self) -> list[str]:
        return [p for p in super().locations() if _is_agent_log(p)]

    def parser(self, path: str, carry: str) -> LineParser:
        return AgentLogParser(path, profile_of(path), self.zone)


def _is_agent_log(path: str) -> bool:
    name = Path(path).name
    return name == "agent.log" or (
        name.startswith("agent.log.") and name[len("agent.log.") :].isdigit()
    )


class AgentLogParser(LineParser):
    def __init__(self, path: str, profile: str, zone: tzinfo | None) -> None:
        super().__init__(path)
        self.profile = profile
        self.zone = zone

    def feed(self, number: int, line: bytes) -> None:
        if b"API call #" not in line or b": model=" not in line:
            return
        found = API_CALL.match(line)
        if found is None:
            self.issue(number, "API call line in an unknown format")
            return
        groups = [
            g.decode(errors="replace") if g is not None else None
            for g in found.groups()
        ]
        stamp, session, call, model, provider, prompt, out, _total, latency = groups[:9]
        cache_read = groups[9]
        assert stamp is not None and call is not None and model is not None
        local = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")
        at = local.replace(tzinfo=self.zone) if self.zone else local.astimezone()
        self.events.append(
            CallEvent(
                source=NAME,
                event_key=f"{self.profile}:{session or ''}:{stamp}:{call}",
                path=self.path,
                at=at.astimezone(UTC),
                model=model,
                profile=self.profile,
                provider=provider,
                session_id=session or None,
                prompt_tokens=int(prompt or 0),
                cache_read_tokens=int(cache_read or 0),
                output_tokens=int(out or 0),
                latency_s=float(latency or 0),
            )
        )
