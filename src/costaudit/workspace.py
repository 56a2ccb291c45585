"""Everything a command works on: config, ledger, sources, pricing.

The interfaces build one :class:`Workspace` from their options and call it;
the work itself is done by the sources, ledger, pricing and analysis
modules. Those are imported when first used: a report from the ledger needs
neither the sources' readers nor the price library, and every command pays
for what it imports before it starts.
"""

from __future__ import annotations

import difflib
import logging
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from costaudit.config import Config, load_config
from costaudit.errors import UsageError
from costaudit.ledger.store import Ledger
from costaudit.paths import default_config_path, default_ledger_path

if TYPE_CHECKING:
    from costaudit.analysis.infra import Infrastructure
    from costaudit.analysis.window import Window
    from costaudit.ledger.ingest import Progress, ScanSummary
    from costaudit.pricing.pricer import Pricer
    from costaudit.sources.base import Source

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Options:
    config_path: Path | None = None
    ledger_path: Path | None = None
    hermes_home: Path | None = None
    user_home: Path | None = None
    """Where the usual places of agent logs are looked for (``~``)."""


class Workspace:
    def __init__(self, options: Options) -> None:
        self.options = options
        explicit = options.config_path is not None
        self.config: Config = load_config(
            options.config_path or default_config_path(), required=explicit
        )
        self.ledger = Ledger.open(options.ledger_path or default_ledger_path())
        self._pricer: Pricer | None = None

    def close(self) -> None:
        self.ledger.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def hermes_home(self) -> Path:
        from costaudit.sources.hermes.home import hermes_home

        configured = self.config.section("sources").table("hermes").string("home")
        if self.options.hermes_home is None and configured:
            return Path(configured).expanduser()
        return hermes_home(self.options.hermes_home)

    def sources(self) -> list[Source]:
        from costaudit.sources.hermes import HermesSource
        from costaudit.sources.hermes.tasks import TaskNamer, rules_from_config
        from costaudit.sources.registry import file_sources

        hermes_config = self.config.section("sources").table("hermes")
        found: list[Source] = []
        if hermes_config.boolean("enabled", True):
            found.append(
                HermesSource(
                    self.hermes_home(), TaskNamer(rules_from_config(self.config))
                )
            )
        # The agent.log reader follows the same Hermes home as state.db.
        env = {**os.environ, "HERMES_HOME": str(self.hermes_home())}
        found.extend(file_sources(self.config, home=self.options.user_home, env=env))
        return found

    def scan(self, progress: Progress | None = None) -> ScanSummary:
        """Read every source's new data, then price what needs a price.

        Hermes records stored before are named again first if the task
        rules changed, and brought in line with what the scan read after it.
        """
        from costaudit.ledger.ingest import ingest
        from costaudit.sources.hermes import HermesSource

        sources = self.sources()
        hermes = [s for s in sources if isinstance(s, HermesSource)]
        if hermes:
            from costaudit.sources.hermes.settle import rename_tasks
        for source in hermes:
            rename_tasks(self.ledger, source.namer, source.home)
        summary = ingest(self.ledger, sources, progress)
        if hermes:
            from costaudit.sources.hermes.settle import settle
        for source in hermes:
            settle(self.ledger, source.outcome)
        self._pricer = None
        self.price()
        return summary

    def price(self) -> int:
        """Price the records that need it; return how many were priced.

        Most scans find nothing new; they are told so by one query, before
        the energy model's speeds are measured from the ledger."""
        from costaudit.pricing.apply import (
            needs_pricing,
            price_ledger,
            remember_pricing,
        )
        from costaudit.pricing.pricer import Pricer

        if not needs_pricing(self.ledger, Pricer(self.config)):
            return 0
        pricer = self.pricer()
        with self.ledger.scan_memory():
            priced = price_ledger(self.ledger, pricer)
        remember_pricing(self.ledger, pricer)
        return priced

    def pricer(self) -> Pricer:
        from costaudit.pricing.locality import Locality
        from costaudit.pricing.pricer import Pricer
        from costaudit.pricing.throughput import measure_throughput

        if self._pricer is None:
            measured = measure_throughput(
                self.ledger, Locality.from_config(self.config)
            )
            self._pricer = Pricer(self.config, measured)
        return self._pricer

    def infrastructure(self) -> Infrastructure:
        from costaudit.analysis.infra import Infrastructure

        return Infrastructure.from_config(self.config)

    def window(
        self,
        since: date | None = None,
        until: date | None = None,
        tz: str | None = None,
        profiles: tuple[str, ...] = (),
        models: tuple[str, ...] = (),
    ) -> Window:
        from costaudit.analysis.window import Window

        zone = self.config.timezone if tz is None else _zone(tz)
        return Window(zone, since, until, profiles, models)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name, sorted(available_timezones()), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UsageError(
            f"time zone {name!r} is not known (use an IANA name like "
            f"'Europe/Paris'){hint}"
        ) from None
