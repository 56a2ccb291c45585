"""Sending notifications through apprise, one URL at a time.

Each URL is sent to on its own, so when one service fails and another
works, only the failed one is sent again later. The ledger knows a URL by a
hash of it and output shows apprise's privacy form: URLs often carry tokens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import apprise

from costaudit.analysis.budgets.state import target_key
from costaudit.errors import ConfigError

log = logging.getLogger(__name__)

_NOTIFY_TYPES = {
    "info": apprise.NotifyType.INFO,
    "warning": apprise.NotifyType.WARNING,
    "over": apprise.NotifyType.FAILURE,
}


@dataclass(frozen=True)
class Recipient:
    key: str
    label: str
    service: Any
    """The apprise plugin instance for the URL."""


def _recipient(url: str, index: int, where: str) -> Recipient:
    service: Any = apprise.Apprise.instantiate(url)
    if service is None:
        scheme = url.split("://", 1)[0] if "://" in url else url[:12]
        raise ConfigError(
            f"{where}: notifications.urls[{index}] is not a URL apprise can send to "
            f"(scheme {scheme!r}); see https://github.com/caronc/apprise/wiki"
        )
    return Recipient(target_key(url), str(service.url(privacy=True)), service)


class AppriseSender:
    """Sends alerts to the configured apprise URLs."""

    def __init__(self, urls: list[str], where: str = "<config>") -> None:
        self._recipients = [_recipient(u, i, where) for i, u in enumerate(urls)]

    def recipients(self) -> list[Recipient]:
        return list(self._recipients)

    def send(self, recipient: Any, title: str, body: str, level: str) -> str | None:
        """None when delivered; otherwise apprise's own account of the failure."""
        assert isinstance(recipient, Recipient)
        service = apprise.Apprise()
        service.add(recipient.service)
        result = service.notify(
            body=body, title=title, notify_type=_NOTIFY_TYPES.get(level, "info")
        )
        if result:
            log.info("notification sent to %s", recipient.label)
            return None
        problems = [
            str(entry.message)
            for entry in result.logs()
            if str(entry.level) in ("WARNING", "ERROR", "CRITICAL")
        ]
        error = "; ".join(problems) or "apprise reported a failure"
        log.info("notification to %s failed: %s", recipient.label, error)
        return error
