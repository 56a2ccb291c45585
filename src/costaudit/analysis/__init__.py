"""Reading the ledger: reports, top operations, comparisons and advice."""
