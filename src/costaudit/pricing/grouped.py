"""Pricing records by groups, in SQL, from a small table of price rules.

The distinct groups of records that need a price are read (see
:mod:`rules`), given their rules, and one UPDATE prices every record from the
rule of its group in force at its start, for its prompt's size. No record is
held in memory. A linear price is worked out in 128-bit integers from the
rule's numerators and denominator (see :mod:`linear`) and rounded half away
from zero to the ledger's 12 decimal places, as the ledger rounds an exact
amount priced in Python when it stores it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from costaudit.ledger.store import Ledger
from costaudit.pricing.linear import MAX_TOKENS
from costaudit.pricing.rules import AgentCost, Group, Kind, Rule

END_US = 2**63 - 1
"""The end of the last rule of a group: no record starts later."""

AGENT_COST_KIND = """
    CASE WHEN u.agent_cost_usd IS NULL THEN 0
         WHEN u.agent_cost_usd = 0 THEN 1 ELSE 2 END
"""


@dataclass(frozen=True, slots=True)
class Selection:
    """Which records to price: ``needs``, a condition on ``usage u`` with its
    ``params``, and ``with_calls``, true for a record that has per-call times."""

    needs: str
    with_calls: str
    params: Sequence[Any]


_GROUPS = """
    SELECT u.model, u.provider, u.endpoint, u.is_local, u.agent_cost_status,
           {kind} AS agent_cost, {with_calls} AS with_calls,
           epoch_us(min(u.started_at)), epoch_us(max(u.started_at)), count(*)
    FROM usage u
    WHERE {needs}
    GROUP BY ALL
    ORDER BY ALL
"""

_GROUPS_TABLE = """
    CREATE OR REPLACE TEMP TABLE pricing_groups AS
    SELECT grp::BIGINT AS grp, model, provider, endpoint,
           is_local::BOOLEAN AS is_local, agent_cost_status,
           agent_cost::INTEGER AS agent_cost, with_calls::BOOLEAN AS with_calls
    FROM groups_frame
"""

_NUMERATORS = ("n_fixed", "n_input", "n_cache_read", "n_cache_write", "n_output")

_RULES_TABLE = f"""
    CREATE OR REPLACE TEMP TABLE pricing_rules AS
    SELECT grp::BIGINT AS grp, start_us::BIGINT AS start_us,
           end_us::BIGINT AS end_us, low::BIGINT AS low, high::BIGINT AS high,
           kind, {", ".join(f"{n}::HUGEINT AS {n}" for n in _NUMERATORS)},
           denominator::HUGEINT AS denominator, cost_source, cost_detail,
           local::BOOLEAN AS local, priced_with
    FROM rules_frame
"""

_PROMPT = """
    (u.input_tokens::HUGEINT + u.cache_read_tokens + u.cache_write_tokens)
"""

_PICODOLLARS = """
    (2 * (r.n_fixed
          + u.input_tokens::HUGEINT * r.n_input
          + u.cache_read_tokens::HUGEINT * r.n_cache_read
          + u.cache_write_tokens::HUGEINT * r.n_cache_write
          + u.output_tokens::HUGEINT * r.n_output) + r.denominator)
    // (2 * r.denominator)
"""

_UPDATE = f"""
    UPDATE usage AS u SET
        cost_usd = CASE r.kind
            WHEN 'linear' THEN
                (({_PICODOLLARS})::DECIMAL(38, 0) * 0.000000000001)
                ::DECIMAL(24, 12)
            WHEN 'agent' THEN u.agent_cost_usd
        END,
        cost_source = r.cost_source,
        cost_detail = r.cost_detail,
        local = r.local,
        priced_with = r.priced_with
    FROM pricing_groups g JOIN pricing_rules r ON r.grp = g.grp
    WHERE u.model = g.model
      AND u.provider IS NOT DISTINCT FROM g.provider
      AND u.endpoint IS NOT DISTINCT FROM g.endpoint
      AND u.is_local IS NOT DISTINCT FROM g.is_local
      AND u.agent_cost_status IS NOT DISTINCT FROM g.agent_cost_status
      AND {AGENT_COST_KIND} = g.agent_cost
      AND {{with_calls}} = g.with_calls
      AND epoch_us(u.started_at) >= r.start_us
      AND epoch_us(u.started_at) < r.end_us
      AND {_PROMPT} > r.low AND {_PROMPT} <= r.high
      AND r.kind <> 'row'
      AND (r.kind <> 'linear' OR greatest(u.input_tokens, u.cache_read_tokens,
           u.cache_write_tokens, u.output_tokens) < {MAX_TOKENS})
      AND {{needs}}
"""


def read_groups(ledger: Ledger, selection: Selection) -> list[Group]:
    """The groups of the records selected."""
    sql = _GROUPS.format(
        kind=AGENT_COST_KIND, with_calls=selection.with_calls, needs=selection.needs
    )
    found = []
    for index, row in enumerate(ledger.fetch(sql, selection.params), start=1):
        model, provider, endpoint, stated_local, status = row[:5]
        found.append(
            Group(
                index, model, provider, endpoint, stated_local, status,
                AgentCost(row[5]), bool(row[6]), row[7], row[8], row[9],
            )
        )  # fmt: skip
    return found


def apply_rules(
    ledger: Ledger,
    groups: Sequence[Group],
    rules: Sequence[Rule],
    selection: Selection,
) -> int:
    """Price the records the rules cover; return how many were priced.
    ``rules`` come group by group, each group's in order of start."""
    from costaudit.ledger.columns import objects

    groups_frame = {  # noqa: F841 (scanned by name)
        "grp": objects([g.id for g in groups]),
        "model": objects([g.model for g in groups]),
        "provider": objects([g.provider for g in groups]),
        "endpoint": objects([g.endpoint for g in groups]),
        "is_local": objects([g.stated_local for g in groups]),
        "agent_cost_status": objects([g.status for g in groups]),
        "agent_cost": objects([int(g.agent_cost) for g in groups]),
        "with_calls": objects([g.with_calls for g in groups]),
    }
    rules_frame = _rules_frame(rules)  # noqa: F841 (scanned by name)
    con = ledger.con
    con.execute(_GROUPS_TABLE)
    con.execute(_RULES_TABLE)
    try:
        sql = _UPDATE.format(with_calls=selection.with_calls, needs=selection.needs)
        found = con.execute(sql, selection.params).fetchone()
    finally:
        con.execute("DROP TABLE IF EXISTS pricing_rules")
        con.execute("DROP TABLE IF EXISTS pricing_groups")
    return int(found[0]) if found else 0


def _rules_frame(rules: Sequence[Rule]) -> dict[str, Any]:
    """The rules as columns; 128-bit numbers go as text, cast in SQL."""
    from costaudit.ledger.columns import objects

    integers = [
        r.band.price.integers() if r.kind is Kind.LINEAR else None for r in rules
    ]
    numerators = [found[0] if found else (0,) * 5 for found in integers]
    frame = {
        "grp": objects([r.group for r in rules]),
        "start_us": objects([r.start_us for r in rules]),
        "end_us": objects(_ends(rules)),
        "low": objects([r.band.low for r in rules]),
        "high": objects([r.band.high for r in rules]),
        "kind": objects([str(r.kind) for r in rules]),
        "denominator": objects([str(found[1] if found else 1) for found in integers]),
        "cost_source": objects([r.cost_source for r in rules]),
        "cost_detail": objects([r.cost_detail for r in rules]),
        "local": objects([r.local for r in rules]),
        "priced_with": objects([r.priced_with for r in rules]),
    }
    for index, name in enumerate(_NUMERATORS):
        frame[name] = objects([str(n[index]) for n in numerators])
    return frame


def _ends(rules: Sequence[Rule]) -> list[int]:
    """Where each rule stops: where the next start of its group is."""
    following: dict[tuple[int, int], int] = {}
    previous: tuple[int, int] | None = None
    for rule in rules:
        key = (rule.group, rule.start_us)
        if previous is not None and previous != key and previous[0] == rule.group:
            following[previous] = rule.start_us
        previous = key
    return [following.get((r.group, r.start_us), END_US) for r in rules]
