"""The ledger: an embedded DuckDB file that keeps every usage record."""

from costaudit.ledger.store import Ledger

__all__ = ["Ledger"]
