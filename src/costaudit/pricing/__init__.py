"""Turning tokens into money, each amount with where its price came from."""

from costaudit.pricing.cost import Cost, CostSource

__all__ = ["Cost", "CostSource"]
