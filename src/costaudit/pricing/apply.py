"""Pricing the ledger: every record not priced under today's settings.

A record is priced again when the settings that priced it change (their
fingerprint is kept with it), and when per-call times for it arrived after
it was priced: a log read after the database that holds the record.

Most records are priced by groups in SQL (see :mod:`grouped`), which holds
none of them in memory; the rest (tiered prices, records with per-call
times) are priced one by one, :data:`CHUNK_ROWS` at a time, so memory stays
bounded whatever the ledger's size.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from costaudit.ledger.store import Ledger
from costaudit.pricing.call_times import CallTime
from costaudit.pricing.library import Tokens
from costaudit.pricing.pricer import Call, Pricer

log = logging.getLogger(__name__)

WITH_CALLS = "/calls"
"""Added to the fingerprint of a record priced with its per-call times."""
CHUNK_ROWS = 20_000
"""Records priced one by one per query and update."""
FEW = 500
"""Up to this many records to price (a rescan that found a few), pricing
them one by one costs less than working out and applying rules."""

# A record's calls: the call events of its session and model, for the main
# loop (side calls are not in the logs that have per-call lines).
_EVENTS_OF = """
    e.profile = u.profile AND e.session_id = u.session_id AND e.model = u.model
    AND u.call_kind = 'main'
"""

_HAS_CALLS = f"""
    (u.call_kind = 'main' AND EXISTS (SELECT 1 FROM call_events e WHERE {_EVENTS_OF}))
"""

_STALE = f"""
    (u.priced_with IS NULL
    OR (u.local AND u.priced_with <> $2)
    OR (NOT u.local AND u.priced_with NOT IN ($1, $1 || '{WITH_CALLS}')))
"""
"""Priced under other settings, or never."""

_NEEDS_PRICE = f"""
    ({_STALE}
    OR (NOT u.local AND u.priced_with = $1
        AND EXISTS (SELECT 1 FROM call_events e WHERE {_EVENTS_OF})))
"""

# The last part of _NEEDS_PRICE alone, as a join: asked apart, each part
# takes a few milliseconds where the whole takes tens.
_TIMED_SINCE = f"""
    SELECT 1 FROM usage u SEMI JOIN call_events e ON {_EVENTS_OF}
    WHERE NOT u.local AND u.priced_with = $1
    LIMIT 1
"""

# One chunk: the records needing a price after the key ($3, $4), up to and
# including the key ($5, $6).
_CHUNK = """
    AND (u.source > $3 OR (u.source = $3 AND u.record_key > $4))
    AND (u.source < $5 OR (u.source = $5 AND u.record_key <= $6))
"""

_NEXT_KEYS = f"""
    SELECT u.source, u.record_key FROM usage u
    WHERE {_NEEDS_PRICE}
      AND (u.source > $3 OR (u.source = $3 AND u.record_key > $4))
    ORDER BY 1, 2
    LIMIT {{limit}}
"""

_SELECT = f"""
    SELECT u.source, u.record_key, u.model, u.provider, u.endpoint, u.is_local,
           epoch(u.started_at), u.calls, u.input_tokens, u.cache_read_tokens,
           u.cache_write_tokens, u.output_tokens, u.agent_cost_usd,
           u.agent_cost_status
    FROM usage u
    WHERE {_NEEDS_PRICE} {_CHUNK}
"""

_SELECT_EVENTS = f"""
    SELECT u.source, u.record_key, epoch(e."at"), e.prompt_tokens,
           e.cache_read_tokens, e.output_tokens
    FROM usage u JOIN call_events e ON {_EVENTS_OF}
    WHERE {_NEEDS_PRICE} {_CHUNK}
    ORDER BY 1, 2, 3
"""

Key = tuple[str, str]


PRICED_UNDER = "priced_under"
"""Meta key: the fingerprints the ledger was last priced under, and what the
energy model's measured speeds were measured from then."""

# The ledger's contents the measured speeds depend on (see ``throughput``).
_MEASURED_FROM = """
    SELECT (SELECT count(*) || ':' || coalesce(sum(hash(e)), 0) FROM call_events e)
        || '/' || (SELECT count(*) || ':' || coalesce(sum(hash(b)), 0)
                   FROM bench_energy b)
        || '/' || (SELECT coalesce(string_agg(DISTINCT model, ',' ORDER BY model), '')
                   FROM usage WHERE local)
"""


def price_ledger(ledger: Ledger, pricer: Pricer) -> int:
    """Price the records that need it; return how many were priced."""
    from costaudit.pricing.grouped import Selection, apply_rules, read_groups
    from costaudit.pricing.rules import rules_for

    api_fp, local_fp = pricer.fingerprints()
    selection = Selection(_NEEDS_PRICE, _HAS_CALLS, [api_fp, local_fp])
    groups = read_groups(ledger, selection)
    if not groups:
        return 0
    if sum(group.records for group in groups) <= FEW:
        return _price_one_by_one(ledger, pricer, [api_fp, local_fp])
    rules = [
        r for group in groups for r in rules_for(pricer, group, (api_fp, local_fp))
    ]
    by_groups = apply_rules(ledger, groups, rules, selection)
    one_by_one = _price_one_by_one(ledger, pricer, [api_fp, local_fp])
    log.info(
        "priced %d records in %d groups, %d one by one",
        by_groups,
        len(groups),
        one_by_one,
    )
    return by_groups + one_by_one


def remember_pricing(ledger: Ledger, pricer: Pricer) -> None:
    """Keep the fingerprints the ledger is now priced under, for
    :func:`needs_pricing`; ``pricer`` holds the speeds measured from the
    ledger as it is."""
    api_fp, local_fp = pricer.fingerprints()
    measured_from = ledger.fetch(_MEASURED_FROM)[0][0]
    ledger.set_meta(PRICED_UNDER, f"{api_fp} {local_fp} {measured_from}")


def needs_pricing(ledger: Ledger, pricer: Pricer) -> bool:
    """Whether some record may need a price, judged without measuring the
    energy model's speeds (``pricer`` may lack them): records priced as local
    are judged by the fingerprint kept by :func:`remember_pricing`, as long
    as the settings and what the speeds are measured from are the same as
    then; without one, they may."""
    api_fp, _ = pricer.fingerprints()
    local_fp = ""
    last = (ledger.get_meta(PRICED_UNDER) or "").split(" ", 2)
    same = len(last) == 3 and last[0] == api_fp
    if same and last[2] == ledger.fetch(_MEASURED_FROM)[0][0]:
        local_fp = last[1]
    stale = ledger.fetch(
        f"SELECT 1 FROM usage u WHERE {_STALE} LIMIT 1", [api_fp, local_fp]
    )
    return bool(stale or ledger.fetch(_TIMED_SINCE, [api_fp]))


def _price_one_by_one(ledger: Ledger, pricer: Pricer, params: list[str]) -> int:
    """Price what the groups left, :data:`CHUNK_ROWS` records at a time."""
    priced = 0
    after: Key = ("", "")
    query = _NEXT_KEYS.format(limit=int(CHUNK_ROWS))
    while keys := ledger.fetch(query, [*params, *after]):
        last: Key = (keys[-1][0], keys[-1][1])
        window = [*params, *after, *last]
        rows = ledger.fetch(_SELECT, window)
        times = _call_times(ledger, window)
        _store(ledger, [_priced(pricer, row, times, params) for row in rows])
        priced += len(rows)
        after = last
    return priced


def _call_times(ledger: Ledger, window: list[str]) -> dict[Key, list[CallTime]]:
    found: dict[Key, list[CallTime]] = {}
    for source, key, at, prompt, cache_read, output in ledger.fetch(
        _SELECT_EVENTS, window
    ):
        found.setdefault((source, key), []).append(
            CallTime(
                datetime.fromtimestamp(float(at), tz=UTC), prompt, cache_read, output
            )
        )
    return found


def _call(row: tuple[Any, ...], times: list[CallTime]) -> Call:
    return Call(
        model=row[2],
        provider=row[3],
        endpoint=row[4],
        stated_local=row[5],
        at=datetime.fromtimestamp(float(row[6]), tz=UTC),
        tokens=Tokens(row[8], row[9], row[10], row[11], row[7]),
        agent_cost_usd=None if row[12] is None else Decimal(row[12]),
        agent_cost_status=row[13],
        call_times=tuple(times),
    )


def _priced(
    pricer: Pricer,
    row: tuple[Any, ...],
    times: dict[Key, list[CallTime]],
    params: list[str],
) -> tuple[Any, ...]:
    """A record's key and the columns its price fills."""
    calls = times.get((row[0], row[1]), [])
    cost, local = pricer.price(_call(row, calls))
    amount = cost.amount_usd
    api_fp, local_fp = params
    mark = local_fp if local else api_fp + (WITH_CALLS if calls else "")
    return (
        row[0],
        row[1],
        None if amount is None else str(amount),
        str(cost.source),
        cost.detail,
        local,
        mark,
    )


_PRICED = ("source", "record_key", "cost_usd", "cost_source", "cost_detail",
           "local", "priced_with")  # fmt: skip


def _store(ledger: Ledger, rows: list[tuple[Any, ...]]) -> None:
    from costaudit.ledger.columns import objects

    columns = zip(*rows, strict=True) if rows else [[] for _ in _PRICED]
    priced = {  # noqa: F841 (scanned by name)
        name: objects(list(values))
        for name, values in zip(_PRICED, columns, strict=True)
    }
    with ledger.writing():
        ledger.con.execute(
            """
            UPDATE usage SET
                cost_usd = priced.cost_usd::DECIMAL(24, 12),
                cost_source = priced.cost_source,
                cost_detail = priced.cost_detail,
                local = priced.local::BOOLEAN,
                priced_with = priced.priced_with
            FROM priced
            WHERE usage.source = priced.source
              AND usage.record_key = priced.record_key
            """
        )
