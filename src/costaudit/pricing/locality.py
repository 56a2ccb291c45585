"""Deciding whether a model runs locally (and is costed by energy, not price)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from costaudit.config import Config

_LOCAL_NAMES = {"localhost", "host.docker.internal"}


@lru_cache(maxsize=1024)
def endpoint_is_local(endpoint: str | None) -> bool:
    """True for a loopback, private or link-local address, or a local name."""
    if not endpoint:
        return False
    url = endpoint if "://" in endpoint else f"http://{endpoint}"
    host = (urlsplit(url).hostname or "").lower()
    if host in _LOCAL_NAMES or host.endswith(".local") or host.endswith(".lan"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


@dataclass(frozen=True)
class Locality:
    """The user's word on what is local, on top of what the endpoint says."""

    endpoints: tuple[str, ...] = ()
    models: frozenset[str] = field(default_factory=frozenset)
    api_models: frozenset[str] = field(default_factory=frozenset)
    """Models the user marks as never local, whatever the endpoint."""

    @classmethod
    def from_config(cls, config: Config) -> Locality:
        local = config.section("local")
        return cls(
            endpoints=tuple(e.rstrip("/") for e in local.strings("endpoints")),
            models=frozenset(local.strings("models")),
            api_models=frozenset(local.strings("not_local_models")),
        )

    def is_local(self, model: str, endpoint: str | None, stated: bool | None) -> bool:
        if model in self.api_models:
            return False
        if model in self.models:
            return True
        if endpoint and any(endpoint.rstrip("/").startswith(e) for e in self.endpoints):
            return True
        if stated is not None:
            return stated
        return endpoint_is_local(endpoint)
