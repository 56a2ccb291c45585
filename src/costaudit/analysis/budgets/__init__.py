"""Budgets: limits on spend or tokens per period, and alerts as they near.

- :mod:`.settings`: the ``[[budgets]]`` tables of the config;
- :mod:`.period`: the calendar or rolling period holding a moment;
- :mod:`.evaluate`: spend, share, burn rate and forecast of a budget;
- :mod:`.state`: which thresholds have alerted, kept in the ledger;
- :mod:`.check`: one unattended run that sends what is new or owed;
- :mod:`.section`: the same as plain data for JSON and the audit.
"""

from costaudit.analysis.budgets.check import (
    EXIT_OK,
    EXIT_OVER,
    EXIT_UNDELIVERED,
    EXIT_WARNING,
    CheckResult,
    Delivery,
    run_check,
)
from costaudit.analysis.budgets.evaluate import (
    BudgetStatus,
    evaluate,
    evaluate_all,
    scope_problem,
)
from costaudit.analysis.budgets.section import budget_section, status_document
from costaudit.analysis.budgets.settings import (
    Budget,
    Scope,
    budgets_from_config,
    max_attempts,
    notification_urls,
)
from costaudit.analysis.budgets.state import BUDGET_ALERTS_MIGRATION

__all__ = [
    "BUDGET_ALERTS_MIGRATION",
    "EXIT_OK",
    "EXIT_OVER",
    "EXIT_UNDELIVERED",
    "EXIT_WARNING",
    "Budget",
    "BudgetStatus",
    "CheckResult",
    "Delivery",
    "Scope",
    "budget_section",
    "budgets_from_config",
    "evaluate",
    "evaluate_all",
    "max_attempts",
    "notification_urls",
    "run_check",
    "scope_problem",
    "status_document",
]
