"""One module per command; each stays thin over the analysis."""
