"""The advisor: ways to spend less, each projected over the recorded history.

Every strategy replays or reprices the window's usage records and says what
each record would have cost after its change; savings are ranked by their
monthly figure, and a combined projection applies them in sequence so that
nothing is counted twice (see :mod:`.combined`).
"""

from costaudit.analysis.advisor.model import Confidence, Strategy
from costaudit.analysis.advisor.runner import (
    STRATEGY_IDS,
    Advice,
    AdviceOptions,
    advice_section,
    advise,
)

__all__ = [
    "STRATEGY_IDS",
    "Advice",
    "AdviceOptions",
    "Confidence",
    "Strategy",
    "advice_section",
    "advise",
]
