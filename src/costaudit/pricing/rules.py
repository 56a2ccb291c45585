"""Price rules: how a group of alike records is priced, and from when.

Records with the same model, provider, endpoint, stated locality, agent cost
status and kind of agent cost figure (none, zero, some) are priced the same
way at a given time: :class:`Pricer` chooses between its sources of price by
those alone. A group's rules are what it chooses, worked out with no tokens
at the group's first start and wherever a price may change after it: the day
an alias or a dated library price starts, and the hours at which a
time-of-day price starts and ends. So the provenance of each record, and the
choice between sources, are those of pricing it on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from costaudit.pricing.aliases import ALIASES
from costaudit.pricing.cost import CostSource
from costaudit.pricing.library import LibraryPricer, Tokens
from costaudit.pricing.linear import (
    TOP,
    ZERO,
    Band,
    from_energy,
    from_rates,
    library_bands,
    whole,
)
from costaudit.pricing.pricer import Call, Pricer

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Kind(StrEnum):
    """How a rule prices a record."""

    LINEAR = "linear"
    AGENT = "agent"
    """The agent's own figure (reported by the provider, or its estimate)."""
    NONE = "none"
    """No price: the record is unpriced."""
    ROW = "row"
    """Left to pricing record by record."""


class AgentCost(int):
    """What a record holds as the agent's cost figure: 0 none, 1 zero, 2 some
    (:class:`Pricer` tells these apart)."""

    def probe(self) -> Decimal | None:
        return (None, Decimal(0), Decimal(1))[self]


@dataclass(frozen=True, slots=True)
class Group:
    """Alike records needing a price, and the span of their start times."""

    id: int
    model: str
    provider: str | None
    endpoint: str | None
    stated_local: bool | None
    status: str | None
    agent_cost: AgentCost
    with_calls: bool
    """Whether the records have per-call times (priced record by record)."""
    first_us: int
    """Earliest start, in microseconds since the epoch."""
    last_us: int
    records: int = 0


@dataclass(frozen=True, slots=True)
class Rule:
    """How a group's records starting from ``start_us`` on, with a prompt
    in ``band``, are priced."""

    group: int
    start_us: int
    kind: Kind
    band: Band = field(default_factory=lambda: Band(-1, TOP, ZERO))
    cost_source: str | None = None
    cost_detail: str | None = None
    local: bool = False
    priced_with: str = ""


def at_us(micros: int) -> datetime:
    """A time from microseconds since the epoch, exactly."""
    return EPOCH + timedelta(microseconds=micros)


def us_of(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def rules_for(pricer: Pricer, group: Group, marks: tuple[str, str]) -> list[Rule]:
    """The rules over the group's span, new ones wherever the price changes;
    ``marks`` are the API and local fingerprints priced records keep."""
    points = None if group.with_calls else change_points(pricer.library, group)
    if points is None:
        return [Rule(group.id, group.first_us, Kind.ROW)]
    rules: list[Rule] = []
    last: list[Rule] = []
    for start_us in [group.first_us, *points]:
        found = decide(pricer, group, start_us, marks)
        if [replace(r, start_us=0) for r in found] != last:
            rules.extend(found)
            last = [replace(r, start_us=0) for r in found]
    return rules


def decide(
    pricer: Pricer, group: Group, start_us: int, marks: tuple[str, str]
) -> list[Rule]:
    """The rules :class:`Pricer` applies to the group's records at
    ``start_us``: one per band of prompt sizes."""
    call = Call(
        model=group.model,
        provider=group.provider,
        endpoint=group.endpoint,
        stated_local=group.stated_local,
        at=at_us(start_us),
        tokens=Tokens(),
        agent_cost_usd=group.agent_cost.probe(),
        agent_cost_status=group.status,
    )
    cost, local = pricer.price(call)
    rule = Rule(
        group.id,
        start_us,
        Kind.ROW,
        cost_source=str(cost.source),
        cost_detail=cost.detail,
        local=local,
        priced_with=marks[1] if local else marks[0],
    )
    if cost.source is CostSource.UNPRICED:
        return [replace(rule, kind=Kind.NONE)]
    if cost.source is CostSource.AGENT_ESTIMATE or (
        cost.source is CostSource.PROVIDER_REPORTED and group.status == "actual"
    ):
        return [replace(rule, kind=Kind.AGENT)]
    bands = _bands(pricer, group, call, cost.source)
    if bands is None or any(b.price.integers() is None for b in bands):
        return [rule]
    return [replace(rule, kind=Kind.LINEAR, band=band) for band in bands]


def _bands(
    pricer: Pricer, group: Group, call: Call, source: CostSource
) -> list[Band] | None:
    if source is CostSource.PROVIDER_REPORTED:
        return whole(ZERO)  # included in a subscription
    if source is CostSource.USER_OVERRIDE:
        return whole(from_rates(pricer.overrides.by_model[group.model].rates))
    if source is CostSource.ENERGY_MODEL:
        return whole(from_energy(pricer.energy, group.model))
    library = pricer.library
    match = library.resolve(group.model, group.provider, group.endpoint, call.at)
    return None if match is None else library_bands(library, match, call.at)


def change_points(library: LibraryPricer, group: Group) -> list[int] | None:
    """Times after the group's first start where its price may change, in
    microseconds; None when a price depends on time in a way not known here."""
    first, last = at_us(group.first_us), at_us(group.last_us)
    points = {
        _midnight(alias.valid_from)
        for alias in ALIASES
        if alias.model == group.model.lower()
    }
    for moment in [first, *sorted(p for p in points if first < p <= last)]:
        match = library.resolve(group.model, group.provider, group.endpoint, moment)
        if match is None or not match.time_dependent:
            continue
        for conditional in match.model.prices:
            found = _constraint_points(conditional.constraint, first, last)
            if found is None:
                return None
            points.update(found)
    return sorted(us_of(p) for p in points if first < p <= last)


def _constraint_points(
    constraint: Any, first: datetime, last: datetime
) -> list[datetime] | None:
    from genai_prices.types import StartDateConstraint, TimeOfDateConstraint

    if constraint is None:
        return []
    if isinstance(constraint, StartDateConstraint):
        return [_midnight(constraint.start_date)]
    if isinstance(constraint, TimeOfDateConstraint):
        return [
            moment
            for day in _days(first.date(), last.date())
            for clock in (constraint.start_time, constraint.end_time)
            if first < (moment := _on(day, clock)) <= last
        ]
    log.info("price constraint %r is not known: pricing record by record", constraint)
    return None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _on(day: date, clock: time) -> datetime:
    """``clock`` on ``day``, a naive clock taken as UTC, as a UTC time."""
    zone = clock.tzinfo or UTC
    return datetime.combine(day, clock.replace(tzinfo=zone)).astimezone(UTC)


def _days(first: date, last: date) -> Iterator[date]:
    """Every day from the one before ``first`` to the one after ``last``
    (a clock in another zone may fall on the next or previous UTC day)."""
    day = first - timedelta(days=1)
    while day <= last + timedelta(days=1):
        yield day
        day += timedelta(days=1)
