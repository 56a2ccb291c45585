"""costaudit: what LLM agents' tokens cost, where the money goes, how to spend less.

Data flows one way through the package:

    sources  ->  ledger  ->  pricing  ->  analysis  ->  interfaces
    (readers)    (DuckDB)    (money)      (reports,     (CLI, HTML)
                                           advisor...)
"""

from importlib.metadata import PackageNotFoundError, version

from costaudit.record import UsageRecord

try:
    __version__ = version("costaudit")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["UsageRecord", "__version__"]
