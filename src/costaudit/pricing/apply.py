"""Pricing the ledger: every record not priced under today's settings.

A record is priced again when the settings that priced it change (their
fingerprint is kept with it), and when per-call times for it arrived after
it was priced: a log read after the database that holds the record.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from costaudit.ledger.columns import objects
from costaudit.ledger.store import Ledger
from costaudit.pricing.call_times import CallTime
from costaudit.pricing.library import Tokens
from costaudit.pricing.pricer import Call, Pricer

log = logging.getLogger(__name__)

WITH_CALLS = "/calls"
"""Added to the fingerprint of a record priced with its per-call times."""

# A record's calls: the call events of its session and model, for the main
# loop (side calls are not in the logs that have per-call lines).
_EVENTS_OF = """
    e.profile = u.profile AND e.session_id = u.session_id AND e.model = u.model
    AND u.call_kind = 'main'
"""

_NEEDS_PRICE = f"""
    u.priced_with IS NULL
    OR (u.local AND u.priced_with <> $2)
    OR (NOT u.local AND u.priced_with NOT IN ($1, $1 || '{WITH_CALLS}'))
    OR (NOT u.local AND u.priced_with = $1
        AND EXISTS (SELECT 1 FROM call_events e WHERE {_EVENTS_OF}))
"""

_SELECT = f"""
    SELECT u.source, u.record_key, u.model, u.provider, u.endpoint, u.is_local,
           epoch(u.started_at), u.calls, u.input_tokens, u.cache_read_tokens,
           u.cache_write_tokens, u.output_tokens, u.agent_cost_usd,
           u.agent_cost_status
    FROM usage u
    WHERE {_NEEDS_PRICE}
"""

_SELECT_EVENTS = f"""
    SELECT u.source, u.record_key, epoch(e."at"), e.prompt_tokens,
           e.cache_read_tokens, e.output_tokens
    FROM usage u JOIN call_events e ON {_EVENTS_OF}
    WHERE {_NEEDS_PRICE}
    ORDER BY 1, 2, 3
"""

Key = tuple[str, str]


def _call_times(ledger: Ledger, params: list[str]) -> dict[Key, list[CallTime]]:
    found: dict[Key, list[CallTime]] = {}
    for source, key, at, prompt, cache_read, output in ledger.fetch(
        _SELECT_EVENTS, params
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


def price_ledger(ledger: Ledger, pricer: Pricer) -> int:
    """Price the records that need it; return how many were priced."""
    api_fp, local_fp = pricer.fingerprints()
    params = [api_fp, local_fp]
    rows = ledger.fetch(_SELECT, params)
    if not rows:
        return 0
    times = _call_times(ledger, params)
    columns: dict[str, list[Any]] = {
        name: []
        for name in ("source", "record_key", "cost_usd", "cost_source",
                     "cost_detail", "local", "priced_with")
    }  # fmt: skip
    for row in rows:
        calls = times.get((row[0], row[1]), [])
        cost, local = pricer.price(_call(row, calls))
        columns["source"].append(row[0])
        columns["record_key"].append(row[1])
        amount = cost.amount_usd
        columns["cost_usd"].append(None if amount is None else str(amount))
        columns["cost_source"].append(str(cost.source))
        columns["cost_detail"].append(cost.detail)
        columns["local"].append(local)
        mark = local_fp if local else api_fp + (WITH_CALLS if calls else "")
        columns["priced_with"].append(mark)
    _store(ledger, columns)
    log.info("priced %d records", len(rows))
    return len(rows)


def _store(ledger: Ledger, columns: dict[str, list[Any]]) -> None:
    priced = {name: objects(values) for name, values in columns.items()}  # noqa: F841
    ledger.con.execute("BEGIN")
    try:
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
        ledger.con.execute("COMMIT")
    except BaseException:
        ledger.con.execute("ROLLBACK")
        raise
