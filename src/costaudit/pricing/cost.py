"""A cost and its provenance."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class CostSource(StrEnum):
    """Where a cost's price came from, most trusted first."""

    USER_OVERRIDE = "user_override"
    PROVIDER_REPORTED = "provider_reported"
    PRICE_LIBRARY = "price_library"
    AGENT_ESTIMATE = "agent_estimate"
    ENERGY_MODEL = "energy_model"
    UNPRICED = "unpriced"


@dataclass(frozen=True, slots=True)
class Cost:
    """What some usage cost, or ``amount_usd=None`` when it is unpriced."""

    amount_usd: Decimal | None
    source: CostSource
    detail: str
    """Human-readable provenance: library and version, model matched, rates."""

    @property
    def priced(self) -> bool:
        return self.amount_usd is not None


MTOK = Decimal(1_000_000)


class PartialAmount(Decimal):
    """A sum of costs that leaves out calls with no price: at least this much.

    It is a ``Decimal`` in every way (arithmetic gives plain ones), so JSON
    and CSV carry the figure as is; tables mark it as a lower bound.
    """


def partial(amount: Decimal | None, unpriced_calls: int) -> Decimal | None:
    """``amount`` marked as a lower bound when some calls had no price."""
    if amount is None or not unpriced_calls:
        return amount
    return PartialAmount(amount)
