"""Sharing a record's tokens out over the times of its calls.

A usage record may sum many calls (a Hermes row covers a session's calls to
one model), while a price can change with the time of day or from a date
on. Where a log gives each call's time and tokens, the record's tokens are
shared out over the groups of calls that share a price, in proportion to
those calls' own tokens, and each share is priced at its group's price.
Calls the log missed are taken to be spread like the ones it has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Sized
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from costaudit.pricing.cost import Cost, CostSource
from costaudit.pricing.library import LibraryPricer, Match, Tokens

BY_CALL_TIME = "priced by call time"
"""Starts the part of a cost's detail that says it was priced call by call."""
AT_FIRST_CALL = "time-of-day price at the first call's time"
"""Says a time-of-day price was applied to a whole record at its start."""


@dataclass(frozen=True, slots=True)
class CallTime:
    """One call of a record: when it was made, and its tokens as weights."""

    at: datetime
    prompt_tokens: int
    """Whole prompt, cached tokens included."""
    cache_read_tokens: int = 0
    output_tokens: int = 0

    @property
    def input_tokens(self) -> int:
        return max(self.prompt_tokens - self.cache_read_tokens, 0)


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` shared in proportion to ``weights``, as whole numbers that
    add up to ``total`` (largest remainders get the leftover units)."""
    whole = sum(weights)
    if whole <= 0:
        raise ValueError("weights must add up to more than zero")
    shares = [total * w // whole for w in weights]
    leftover = total - sum(shares)
    by_remainder = sorted(
        range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i)
    )
    for i in by_remainder[:leftover]:
        shares[i] += 1
    return shares


Weight = Callable[[CallTime], int]

# A kind of token the calls do not show is shared like the next weight that
# has some: cache writes like non-cached input, then like the whole prompt.
_INPUT: tuple[Weight, ...] = (
    lambda c: c.input_tokens,
    lambda c: c.prompt_tokens,
    lambda c: 1,
)
_CACHE_READ: tuple[Weight, ...] = (lambda c: c.cache_read_tokens, *_INPUT[1:])
_OUTPUT: tuple[Weight, ...] = (lambda c: c.output_tokens, lambda c: 1)
_CALLS: tuple[Weight, ...] = (lambda c: 1,)


def _share(
    total: int, groups: Sequence[Sequence[CallTime]], weights: tuple[Weight, ...]
) -> list[int]:
    for weight in weights:
        sums = [sum(weight(c) for c in group) for group in groups]
        if sum(sums) > 0:
            return apportion(total, sums)
    return apportion(total, [len(group) for group in groups])


def share_tokens(tokens: Tokens, groups: Sequence[Sequence[CallTime]]) -> list[Tokens]:
    """The record's ``tokens`` shared over ``groups`` of its calls."""
    inputs = _share(tokens.input_tokens, groups, _INPUT)
    reads = _share(tokens.cache_read_tokens, groups, _CACHE_READ)
    writes = _share(tokens.cache_write_tokens, groups, _INPUT)
    outputs = _share(tokens.output_tokens, groups, _OUTPUT)
    calls = _share(tokens.calls, groups, _CALLS)
    return [
        Tokens(inputs[i], reads[i], writes[i], outputs[i], calls[i])
        for i in range(len(groups))
    ]


def price_by_call_time(
    library: LibraryPricer,
    model: str,
    provider: str | None,
    endpoint: str | None,
    at: datetime,
    tokens: Tokens,
    calls: Sequence[CallTime] = (),
) -> Cost | None:
    """The library's price of a record, call by call where ``calls`` give
    the times and the price depends on them; None if the model is unknown."""
    match = library.resolve(model, provider, endpoint, at)
    if match is None:
        return None
    if not calls or not match.time_dependent:
        detail = match.detail()
        if match.time_of_day:
            detail += f"; {AT_FIRST_CALL} (no per-call times)"
        amount = library.amount(match, at, tokens)
        return Cost(amount, CostSource.PRICE_LIBRARY, detail)

    groups: dict[tuple[int, int], tuple[Match, list[CallTime]]] = {}
    for call in sorted(calls, key=lambda c: c.at):
        found = library.resolve(model, provider, endpoint, call.at) or match
        key = (id(found.model), library.price_key(found, call.at))
        groups.setdefault(key, (found, []))[1].append(call)
    shares = share_tokens(tokens, [members for _, members in groups.values()])
    amount = sum(
        (
            library.amount(found, members[0].at, share)
            for (found, members), share in zip(groups.values(), shares, strict=True)
        ),
        Decimal(0),
    )
    return Cost(amount, CostSource.PRICE_LIBRARY, _detail(match, calls, tokens, groups))


def _detail(
    match: Match, calls: Sequence[CallTime], tokens: Tokens, groups: Sized
) -> str:
    seen = len(calls)
    if seen < tokens.calls:
        which = f"{seen} of its {tokens.calls} calls"
    else:
        which = "its call" if seen == 1 else f"its {seen} calls"
    prices = "" if len(groups) == 1 else f", {len(groups)} prices"
    return f"{match.detail()}; {BY_CALL_TIME} ({which}{prices})"
