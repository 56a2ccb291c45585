"""Measuring local models on this machine (needs ``costaudit[local]``)."""
