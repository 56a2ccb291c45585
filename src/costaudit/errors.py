"""Exceptions raised by costaudit.

    CostauditError            base of everything costaudit raises on purpose
    ├── UsageError            a command was asked for something it cannot do
    ├── ConfigError           a config file or value is wrong (names file/field)
    ├── SourceError           a source file cannot be read (names the file)
    │   └── MalformedInput    one line or row is bad (names file and line)
    ├── LedgerError           the ledger file cannot be opened or migrated
    └── PricingError          a price cannot be computed as asked

The CLI prints the message on stderr and exits with 2 for a UsageError (bad
usage, as for an unknown option) and 1 for every other.
"""


class CostauditError(Exception):
    """Base class of the errors costaudit raises on purpose."""


class UsageError(CostauditError):
    """A command's options ask for something that does not exist or cannot
    be: an unknown group key, time zone or model, an empty date range."""


class ConfigError(CostauditError):
    """A configuration file or value is invalid."""


class SourceError(CostauditError):
    """A source (database, log file) cannot be read."""


class MalformedInput(SourceError):
    """One line, row or field of a source is invalid."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.reason = message


class LedgerError(CostauditError):
    """The ledger database cannot be opened, read or migrated."""


class PricingError(CostauditError):
    """A price cannot be computed as requested."""
