"""Hermes Agent: its profiles' ``state.db`` files, read-only."""

from costaudit.sources.hermes.reader import HermesSource

__all__ = ["HermesSource"]
