"""What each task cost as billed, as if it all ran locally, and as if it all
ran on one API model: the local-versus-API question, per profile and task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from costaudit.analysis.window import Window
from costaudit.errors import PricingError
from costaudit.ledger.store import Ledger
from costaudit.pricing.library import Tokens
from costaudit.pricing.pricer import Pricer


@dataclass
class Comparison:
    api_model: str
    api_provider: str | None
    local_model: str
    local_detail: str
    rows: list[dict[str, Any]]
    totals: dict[str, Any]


def busiest_local_model(ledger: Ledger, window: Window) -> str | None:
    where, params = window.where()
    row = ledger.fetch(
        f"SELECT model FROM usage WHERE {where} AND local "
        "GROUP BY model ORDER BY sum(calls) DESC LIMIT 1",
        params,
    )
    return row[0][0] if row else None


def compare(
    ledger: Ledger,
    window: Window,
    pricer: Pricer,
    api_model: str,
    api_provider: str | None = None,
    local_model: str | None = None,
) -> Comparison:
    if not pricer.library.knows(api_model, api_provider, None):
        raise PricingError(
            f"genai-prices has no price for {api_model!r}"
            + (f" at {api_provider!r}" if api_provider else "")
            + "; name a model it knows, e.g. gpt-4.1-mini or deepseek-chat"
        )
    local = local_model or busiest_local_model(ledger, window) or "local model"
    where, params = window.where()
    cursor_rows = ledger.fetch(
        f"""
        SELECT profile, task, epoch(started_at), calls, input_tokens,
               cache_read_tokens, cache_write_tokens, output_tokens, cost_usd, local
        FROM usage WHERE {where}
        """,
        params,
    )
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for (
        profile,
        task,
        at,
        calls,
        inp,
        cread,
        cwrite,
        out,
        cost,
        is_local,
    ) in cursor_rows:
        row = groups.setdefault(
            (profile, task),
            {
                "profile": profile,
                "task": task,
                "calls": 0,
                "local_calls": 0,
                "billed_usd": Decimal(0),
                "unpriced_calls": 0,
                "as_local_usd": Decimal(0),
                "as_api_usd": Decimal(0),
            },
        )
        tokens = Tokens(inp, cread, cwrite, out, calls)
        row["calls"] += calls
        row["local_calls"] += calls if is_local else 0
        if cost is None:
            row["unpriced_calls"] += calls
        else:
            row["billed_usd"] += cost
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
    rows = sorted(groups.values(), key=lambda r: (-r["billed_usd"], r["profile"]))
    for row in rows:
        row["api_minus_local_usd"] = row["as_api_usd"] - row["as_local_usd"]
        row["cheaper"] = "local" if row["as_local_usd"] < row["as_api_usd"] else "api"
    totals: dict[str, Any] = {
        key: sum((r[key] for r in rows), Decimal(0))
        for key in ("billed_usd", "as_local_usd", "as_api_usd", "api_minus_local_usd")
    }
    totals["calls"] = sum(r["calls"] for r in rows)
    totals["unpriced_calls"] = sum(r["unpriced_calls"] for r in rows)
    throughput = pricer.energy.throughput(local)
    kwh = pricer.energy.settings.kwh_usd
    detail = (
        f"{local}: {pricer.energy.watts(local).labelled('W')}, "
        f"prompt {throughput.prompt_tps.labelled('tok/s')}, "
        f"generation {throughput.generation_tps.labelled('tok/s')}, "
        f"${kwh}/kWh ({kwh.origin})"
    )
    return Comparison(api_model, api_provider, local, detail, rows, totals)
