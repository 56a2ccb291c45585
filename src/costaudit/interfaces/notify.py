"""Sending notifications through apprise, one URL at a time.

Each URL is sent to on its own, so when one service fails and another
works, only the failed one is sent again later. URLs often carry tokens, so
the ledger knows a URL by a hash of it, and output names it by a label:
apprise's privacy form (which masks the secrets of the services it knows)
without its query string (settings, and for generic webhooks custom headers
that may hold a token), with every path segment that looks like a token
masked too (a webhook id in a generic ``json://`` URL, an ntfy topic).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import apprise

from costaudit.analysis.budgets.state import target_key
from costaudit.errors import ConfigError

log = logging.getLogger(__name__)

_NOTIFY_TYPES = {
    "info": apprise.NotifyType.INFO,
    "warning": apprise.NotifyType.WARNING,
    "over": apprise.NotifyType.FAILURE,
}


# A path segment this long with a digit in it, or any segment of 32
# characters or more, is taken for a token: names people choose for a hook
# path ("hook", "api", "webhook", "alerts") are short or wordy.
_TOKEN_LIKE = re.compile(r"(?=.*\d).{16,}|.{32,}")


def _mask(segment: str) -> str:
    """``a...z``: the first and last characters, as apprise masks secrets."""
    if not _TOKEN_LIKE.fullmatch(segment):
        return segment
    return f"{segment[0]}...{segment[-1]}"


def safe_label(privacy_url: str) -> str:
    """A URL fit to print: scheme, host and path, token-like parts masked."""
    parts = urlsplit(privacy_url)
    path = "/".join(_mask(segment) for segment in parts.path.split("/"))
    return f"{parts.scheme}://{parts.netloc}{path.rstrip('/')}"


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
    return Recipient(target_key(url), safe_label(service.url(privacy=True)), service)


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
