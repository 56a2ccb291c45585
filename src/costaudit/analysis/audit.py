"""The audit: one document with the overview, profiles, top operations,
local versus API, provenance and the sections later analyses add."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from costaudit.analysis.compare import compare
from costaudit.analysis.provenance import (
    cost_by_source,
    estimate_disagreements,
    unpriced_models,
)
from costaudit.analysis.report import build_report
from costaudit.analysis.series import daily_by_profile
from costaudit.analysis.top import top_operations
from costaudit.analysis.window import Window
from costaudit.errors import CostauditError, PricingError, UsageError
from costaudit.workspace import Workspace

DEFAULT_COMPARE_API = "gpt-4.1-mini"


@dataclass
class AuditOptions:
    window: Window
    compare_api: str | None = None
    top: int = 5
    advice: bool = True
    """Run the advisor (the slowest section: it replays the history)."""


def later_sections(workspace: Workspace, options: AuditOptions) -> dict[str, Any]:
    """The advisor's savings, the budgets and the break-even analysis.

    A section that cannot be worked out says why in place of its figures,
    so one missing input never hides the rest of the audit.
    """
    from costaudit.analysis.advisor import advice_section
    from costaudit.analysis.breakeven_report import breakeven_section
    from costaudit.analysis.budgets import budget_section

    window = options.window
    sections: dict[str, Any] = {}
    if options.advice:
        try:
            sections["advice"] = advice_section(workspace, window)
        except CostauditError as exc:
            sections["advice"] = {"error": str(exc), "strategies": []}
    sections.update(budget_section(workspace, window))
    try:
        sections.update(breakeven_section(workspace, window))
    except CostauditError as exc:
        sections["breakeven"] = {"error": str(exc), "series": []}
    return sections


def energy_assumptions(workspace: Workspace) -> list[str]:
    """Say which energy-model inputs are defaults, wherever they are used."""
    energy = workspace.pricer().energy
    settings = energy.settings
    lines = [
        f"electricity: {settings.kwh_usd.dollars()}/kWh ({settings.kwh_usd.origin})",
        f"busy power draw: {settings.busy_watts.labelled('W')}",
    ]
    models = [
        row[0]
        for row in workspace.ledger.fetch(
            "SELECT DISTINCT model FROM usage WHERE local ORDER BY 1"
        )
    ]
    for model in models:
        t = energy.throughput(model)
        lines.append(
            f"{model}: prompt {t.prompt_tps.labelled('tok/s')}, "
            f"generation {t.generation_tps.labelled('tok/s')}"
        )
    infra = workspace.infrastructure()
    lines.append(f"infrastructure: ${infra.monthly_usd:.2f}/month ({infra.origin})")
    return lines


def build_audit(workspace: Workspace, options: AuditOptions) -> dict[str, Any]:
    ledger, window = workspace.ledger, options.window
    infra = workspace.infrastructure()
    by_profile = build_report(ledger, window, ["profile"], infra)
    by_day = build_report(ledger, window, ["day"], infra)
    by_model = build_report(ledger, window, ["model"], infra)
    by_task = build_report(ledger, window, ["profile", "task"], infra)
    totals = by_profile.totals
    where, params = window.where()
    local_calls = ledger.fetch(
        f"SELECT coalesce(sum(calls), 0) FROM usage WHERE {where} AND local", params
    )[0][0]
    calls = int(totals["calls"] or 0)
    api_model = (
        options.compare_api
        or workspace.config.section("audit").string("compare_api")
        or DEFAULT_COMPARE_API
    )
    try:
        comparison = compare(ledger, window, workspace.pricer(), api_model)
        local_vs_api: dict[str, Any] = {
            "api_model": api_model,
            "local_model": comparison.local_model,
            "local_assumptions": comparison.local_detail,
            "rows": comparison.rows,
            "totals": comparison.totals,
        }
    except (PricingError, UsageError) as exc:
        # An API model the library does not know leaves this section out,
        # saying why, and the rest of the audit whole.
        local_vs_api = {
            "api_model": api_model,
            "error": f"unavailable: {exc}",
            "rows": [],
        }
    days = sorted(by_day.rows, key=lambda r: r["day"])
    return {
        "period": {
            "first_day": days[0]["day"] if days else None,
            "last_day": days[-1]["day"] if days else None,
            "days": by_profile.days,
            "timezone": window.tz_name,
        },
        "overview": {
            **{
                k: totals.get(k)
                for k in (
                    "calls",
                    "sessions",
                    "total_tokens",
                    "input_tokens",
                    "cache_read_tokens",
                    "cache_write_tokens",
                    "output_tokens",
                    "cost_usd",
                    "api_cost_usd",
                    "local_cost_usd",
                    "infra_cost_usd",
                    "cost_per_query_usd",
                    "unpriced_calls",
                )
            },
            "local_call_share": (
                Decimal(int(local_calls)) / Decimal(calls) if calls else None
            ),
        },
        "profiles": by_profile.rows,
        "models": by_model.rows,
        "tasks": by_task.rows,
        "daily": days,
        "daily_by_profile": daily_by_profile(workspace, window),
        "top": top_operations(ledger, window, options.top),
        "local_vs_api": local_vs_api,
        "provenance": cost_by_source(ledger, window),
        "unpriced": unpriced_models(ledger, window),
        "disagreements": estimate_disagreements(ledger, window),
        "assumptions": energy_assumptions(workspace),
        **later_sections(workspace, options),
    }
