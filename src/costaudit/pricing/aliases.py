"""Model names a provider bills as another model, from a given day.

A provider sometimes keeps an old model name working after it retires the
model, routing it to a newer one and billing the newer one's price. A price
library that still matches the old name to the retired model's entry then
prices those calls wrongly. Each alias here says which name, at which
provider (a genai-prices provider id), from which day (UTC), is priced as
which library model. The table is data: adding a row needs no code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime


@dataclass(frozen=True, slots=True)
class Alias:
    model: str
    provider: str
    """genai-prices provider id."""
    valid_from: date
    """First day (UTC) the name is billed as ``priced_as``."""
    priced_as: str
    """genai-prices model id the calls are priced as."""

    def note(self) -> str:
        return f"{self.model} is its alias since {self.valid_from.isoformat()}"


# DeepSeek's change log of 2026-04-24: deepseek-chat and deepseek-reasoner
# became the non-thinking and thinking modes of deepseek-v4-flash, billed at
# its price, and were announced as discontinued names.
ALIASES: tuple[Alias, ...] = (
    Alias("deepseek-chat", "deepseek", date(2026, 4, 24), "deepseek-v4-flash"),
    Alias("deepseek-reasoner", "deepseek", date(2026, 4, 24), "deepseek-v4-flash"),
)

_BY_MODEL: dict[str, tuple[Alias, ...]] = {}
for _alias in ALIASES:
    _BY_MODEL[_alias.model] = (*_BY_MODEL.get(_alias.model, ()), _alias)


def alias_for(model: str, provider_id: str | None, at: datetime) -> Alias | None:
    """The alias in force for ``model`` at ``provider_id`` at ``at``, if any.

    A call whose provider is not known is matched too: the library would
    otherwise fall back to the model maker's entry, which is the one the
    alias corrects.
    """
    candidates = _BY_MODEL.get(model.lower())
    if not candidates:
        return None
    day = at.astimezone(UTC).date()
    found = None
    for alias in candidates:
        if provider_id not in (None, alias.provider) or day < alias.valid_from:
            continue
        if found is None or alias.valid_from > found.valid_from:
            found = alias
    return found
