"""Pricing the ledger: every record not priced under today's settings."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from costaudit.ledger.columns import objects
from costaudit.ledger.store import Ledger
from costaudit.pricing.library import Tokens
from costaudit.pricing.pricer import Call, Pricer

log = logging.getLogger(__name__)

_SELECT = """
    SELECT source, record_key, model, provider, endpoint, is_local,
           epoch(started_at), calls, input_tokens, cache_read_tokens,
           cache_write_tokens, output_tokens, agent_cost_usd, agent_cost_status
    FROM usage
    WHERE priced_with IS NULL
       OR (local AND priced_with <> ?)
       OR (NOT local AND priced_with <> ?)
"""


def price_ledger(ledger: Ledger, pricer: Pricer) -> int:
    """Price the records that need it; return how many were priced."""
    api_fp, local_fp = pricer.fingerprints()
    rows = ledger.fetch(_SELECT, [local_fp, api_fp])
    if not rows:
        return 0
    keys_source, keys_record, amounts, sources, details, local_flags, marks = (
        [],
        [],
        [],
        [],
        [],
        [],
        [],
    )
    for row in rows:
        call = Call(
            model=row[2],
            provider=row[3],
            endpoint=row[4],
            stated_local=row[5],
            at=datetime.fromtimestamp(float(row[6]), tz=UTC),
            tokens=Tokens(row[8], row[9], row[10], row[11], row[7]),
            agent_cost_usd=None if row[12] is None else Decimal(row[12]),
            agent_cost_status=row[13],
        )
        cost, local = pricer.price(call)
        keys_source.append(row[0])
        keys_record.append(row[1])
        amounts.append(None if cost.amount_usd is None else str(cost.amount_usd))
        sources.append(str(cost.source))
        details.append(cost.detail)
        local_flags.append(local)
        marks.append(local_fp if local else api_fp)
    priced = {  # noqa: F841 (scanned by name)
        "source": objects(keys_source),
        "record_key": objects(keys_record),
        "cost_usd": objects(amounts),
        "cost_source": objects(sources),
        "cost_detail": objects(details),
        "local": np.array(local_flags, dtype=bool),
        "priced_with": objects(marks),
    }
    ledger.con.execute("BEGIN")
    try:
        ledger.con.execute(
            """
            UPDATE usage SET
                cost_usd = priced.cost_usd::DECIMAL(24, 12),
                cost_source = priced.cost_source,
                cost_detail = priced.cost_detail,
                local = priced.local,
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
    log.info("priced %d records", len(rows))
    return len(rows)
