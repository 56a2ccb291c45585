"""Thin interfaces over the analysis: command line, HTML report."""
