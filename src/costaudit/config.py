"""User configuration, read from TOML.

Every section is optional. Values are checked when read, and an error names
the file and the dotted field (``local.watts``) with what was expected.
Sections that belong to one part of the tool (budgets, advisor, gateway) are
kept as raw tables here and checked by that part through :class:`Section`.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from costaudit.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Section:
    """A table of the config file with typed, field-naming accessors."""

    data: Mapping[str, Any]
    where: str
    """Dotted name of this table, for error messages."""
    path: str = "<config>"

    def _fail(self, key: str, expected: str, value: object) -> ConfigError:
        name = f"{self.where}.{key}" if self.where else key
        return ConfigError(f"{self.path}: {name} must be {expected}, got {value!r}")

    def has(self, key: str) -> bool:
        return key in self.data

    def keys(self) -> Iterator[str]:
        return iter(self.data)

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def table(self, key: str) -> Section:
        value = self.data.get(key, {})
        if not isinstance(value, Mapping):
            raise self._fail(key, "a table", value)
        where = f"{self.where}.{key}" if self.where else key
        return Section(value, where, self.path)

    def tables(self, key: str) -> list[Section]:
        """An array of tables (``[[key]]``)."""
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(
            isinstance(item, Mapping) for item in value
        ):
            raise self._fail(key, "an array of tables", value)
        base = f"{self.where}.{key}" if self.where else key
        return [
            Section(item, f"{base}[{i}]", self.path) for i, item in enumerate(value)
        ]

    def string(self, key: str, default: str | None = None) -> str | None:
        value = self.data.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self._fail(key, "a string", value)
        return value

    def strings(self, key: str) -> list[str]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "a list of strings", value)
        return list(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def number(self, key: str, default: float | None = None) -> float | None:
        value = self.data.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._fail(key, "a number", value)
        if value < 0:
            raise self._fail(key, "a number that is not negative", value)
        return float(value)

    def money(self, key: str, default: Decimal | None = None) -> Decimal | None:
        """A non-negative amount, read exactly (TOML floats go through str)."""
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self._fail(key, "an amount", value)
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            raise self._fail(key, "an amount", value) from None
        if not amount.is_finite() or amount < 0:
            raise self._fail(key, "a finite amount that is not negative", value)
        return amount

    def integer(self, key: str, default: int | None = None) -> int | None:
        value = self.data.get(key, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._fail(key, "a whole number that is not negative", value)
        return value


@dataclass(frozen=True)
class Config:
    """The whole configuration; ``raw`` is the parsed TOML."""

    raw: Mapping[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def root(self) -> Section:
        return Section(self.raw, "", str(self.path) if self.path else "<config>")

    def section(self, name: str) -> Section:
        return self.root.table(name)

    @property
    def timezone(self) -> ZoneInfo:
        name = self.root.string("timezone", "UTC") or "UTC"
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"{self.root.path}: timezone {name!r} is not a known time zone "
                "(use an IANA name such as 'Europe/Berlin')"
            ) from None


def load_config(path: Path, *, required: bool) -> Config:
    """Read the config at ``path``; a missing file gives the defaults unless
    ``required`` (the user named it explicitly)."""
    if not path.exists():
        if required:
            raise ConfigError(f"{path}: config file not found")
        log.debug("no config at %s, using defaults", path)
        return Config(path=None)
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror}") from None
    return Config(raw=raw, path=path)
