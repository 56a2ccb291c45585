"""What each task cost as billed, as if it all ran locally, and as if it all
ran on one API model: the local-versus-API question, per profile and task.

The local model whose speed costs the "all local" column is, in order: the
one asked for, ``[audit] local_model`` in config, or the busiest local
model in the whole ledger (not only in the window, so a profile that never
ran locally is compared with the model the user does run). A row's billed
cost sums its priced calls, marked as a lower bound when some have no
price (``unpriced_calls`` says how many); a row with no priced call has
none (None).

An API model the price library does not know is a usage error, raised
before any work.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from costaudit.analysis.window import Window
from costaudit.errors import UsageError
from costaudit.ledger.store import Ledger
from costaudit.pricing.cost import partial
from costaudit.pricing.library import LibraryPricer, Tokens
from costaudit.pricing.pricer import Pricer

GENERIC_LOCAL = "local model"
"""The name used when no local model is known: default throughput applies."""


@dataclass
class Comparison:
    api_model: str
    api_provider: str | None
    local_model: str
    local_detail: str
    rows: list[dict[str, Any]]
    totals: dict[str, Any]
    local_origin: str = ""
    """Why this local model: asked for, set in config, or the busiest."""


def busiest_local_model(ledger: Ledger, window: Window | None = None) -> str | None:
    """The local model with the most calls, in ``window`` or the whole ledger."""
    where, params = window.where() if window is not None else ("TRUE", [])
    row = ledger.fetch(
        f"SELECT model FROM usage WHERE {where} AND local "
        "GROUP BY model ORDER BY sum(calls) DESC, model LIMIT 1",
        params,
    )
    return row[0][0] if row else None


def choose_local_model(
    ledger: Ledger, pricer: Pricer, asked: str | None = None
) -> tuple[str, str]:
    """The local model to cost "all local" with, and why it was chosen."""
    if asked:
        return asked, "asked for"
    configured = pricer.config.section("audit").string("local_model")
    if configured:
        return configured, "[audit] local_model in config"
    busiest = busiest_local_model(ledger)
    if busiest is not None:
        return busiest, "the busiest local model in the ledger"
    return GENERIC_LOCAL, "no local model in the ledger"


def check_api_model(library: LibraryPricer, model: str, provider: str | None) -> None:
    """Refuse an API model the price library does not know (bad usage)."""
    if not library.knows(model, provider, None):
        raise unknown_api_model(library, model, provider)


def unknown_api_model(
    library: LibraryPricer, model: str, provider: str | None
) -> UsageError:
    names = sorted({m.id for p in library.snapshot.providers for m in p.models})
    close = difflib.get_close_matches(model, names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    where = f" at {provider!r}" if provider else ""
    return UsageError(f"genai-prices has no price for {model!r}{where}{hint}")


def _new_row(profile: str, task: str) -> dict[str, Any]:
    return {
        "profile": profile,
        "task": task,
        "calls": 0,
        "local_calls": 0,
        "billed_usd": None,
        "unpriced_calls": 0,
        "as_local_usd": Decimal(0),
        "as_api_usd": Decimal(0),
    }


def _add(totals: dict[str, Any], key: str, amount: Decimal | None) -> None:
    if amount is not None:
        totals[key] = (totals[key] or Decimal(0)) + amount


def compare(
    ledger: Ledger,
    window: Window,
    pricer: Pricer,
    api_model: str,
    api_provider: str | None = None,
    local_model: str | None = None,
) -> Comparison:
    check_api_model(pricer.library, api_model, api_provider)
    local, origin = choose_local_model(ledger, pricer, local_model)
    where, params = window.where()
    records = ledger.fetch(
        f"""
        SELECT profile, task, epoch(started_at), calls, input_tokens,
               cache_read_tokens, cache_write_tokens, output_tokens, cost_usd, local
        FROM usage WHERE {where}
        """,
        params,
    )
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for profile, task, at, calls, inp, cread, cwrite, out, cost, is_local in records:
        row = groups.setdefault((profile, task), _new_row(profile, task))
        tokens = Tokens(inp, cread, cwrite, out, calls)
        row["calls"] += calls
        row["local_calls"] += calls if is_local else 0
        if cost is None:
            row["unpriced_calls"] += calls
        _add(row, "billed_usd", cost)
        row["as_local_usd"] += pricer.energy.price(local, tokens).amount_usd or 0
        # Without the provider's cache, every prompt token is paid as input
        # on the API, unless it was a cache read there too.
        moved = (
            tokens if not is_local else Tokens(tokens.prompt_tokens, 0, 0, out, calls)
        )
        api = pricer.library.price(
            api_model, api_provider, None, datetime.fromtimestamp(at, tz=UTC), moved
        )
        row["as_api_usd"] += api.amount_usd if api and api.amount_usd else 0
    rows = _finish(groups)
    for row in rows:
        row["billed_usd"] = partial(row["billed_usd"], row["unpriced_calls"])
    totals = _totals(rows)
    totals["billed_usd"] = partial(totals["billed_usd"], totals["unpriced_calls"])
    detail = _local_detail(pricer, local, origin)
    return Comparison(api_model, api_provider, local, detail, rows, totals, origin)


def _finish(groups: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    rows = sorted(
        groups.values(),
        key=lambda r: (r["billed_usd"] is None, -(r["billed_usd"] or 0), r["profile"]),
    )
    for row in rows:
        row["api_minus_local_usd"] = row["as_api_usd"] - row["as_local_usd"]
        row["cheaper"] = "local" if row["as_local_usd"] < row["as_api_usd"] else "api"
    return rows


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    totals: dict[str, Any] = {"billed_usd": None}
    for row in rows:
        _add(totals, "billed_usd", row["billed_usd"])
    for key in ("as_local_usd", "as_api_usd", "api_minus_local_usd"):
        totals[key] = sum((r[key] for r in rows), Decimal(0))
    for key in ("calls", "local_calls", "unpriced_calls"):
        totals[key] = sum(r[key] for r in rows)
    return totals


def _local_detail(pricer: Pricer, local: str, origin: str) -> str:
    throughput = pricer.energy.throughput(local)
    kwh = pricer.energy.settings.kwh_usd
    return (
        f"{local} ({origin}): {pricer.energy.watts(local).labelled('W')}, "
        f"prompt {throughput.prompt_tps.labelled('tok/s')}, "
        f"generation {throughput.generation_tps.labelled('tok/s')}, "
        f"{kwh.dollars()}/kWh ({kwh.origin})"
    )
