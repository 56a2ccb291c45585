"""The energy model: what a call to a local model costs in electricity.

A local call keeps the machine busy for ``prompt / prompt speed + output /
generation speed`` seconds at its busy power draw; that energy is billed at
the electricity price. Every input says whether it came from config, from a
measurement, or is a default, and defaults are printed wherever they are used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from costaudit.config import Config, Section
from costaudit.pricing.cost import Cost, CostSource
from costaudit.pricing.library import Tokens

DEFAULT_BUSY_WATTS = Decimal(65)
DEFAULT_IDLE_WATTS = Decimal(15)
DEFAULT_KWH_USD = Decimal("0.30")
# A 3B model quantised to 4 bits on a two-core VPS: conservative figures.
DEFAULT_PROMPT_TPS = Decimal(40)
DEFAULT_GENERATION_TPS = Decimal(8)

JOULES_PER_KWH = Decimal(3_600_000)


@dataclass(frozen=True, slots=True)
class Figure:
    """A number and where it came from: ``config``, ``measured ...``, ``default``."""

    value: Decimal
    origin: str

    def __str__(self) -> str:
        return f"{self.value.normalize():f}"

    def labelled(self, unit: str) -> str:
        """``65 W (default)``: the value, its unit and where it came from."""
        return f"{self} {unit} ({self.origin})"

    def dollars(self) -> str:
        """An amount in dollars, in cents at least: ``$0.30``, ``$0.255``."""
        cents = self.value.quantize(Decimal("0.01"))
        return f"${cents}" if cents == self.value else f"${self}"


@dataclass(frozen=True, slots=True)
class Throughput:
    prompt_tps: Figure
    generation_tps: Figure
    busy_watts: Figure | None = None
    """Power drawn while working, where it was measured with these speeds'
    model (bench-local's RAPL counters); else the configured draw applies."""

    def busy_seconds(self, tokens: Tokens) -> Decimal:
        return (
            Decimal(tokens.prompt_tokens) / self.prompt_tps.value
            + Decimal(tokens.output_tokens) / self.generation_tps.value
        )


def _figure(section: Section, key: str, default: Decimal) -> Figure:
    value = section.number(key)
    if value is None:
        return Figure(default, "default")
    if value <= 0:
        raise section._fail(key, "a positive number", value)
    return Figure(Decimal(str(value)), "config")


@dataclass(frozen=True)
class EnergySettings:
    busy_watts: Figure
    idle_watts: Figure
    kwh_usd: Figure
    throughput: Throughput
    per_model: dict[str, tuple[Figure | None, Throughput]] = field(default_factory=dict)
    """Model name to (busy watts if set, throughput) from ``[local.model]``."""

    @classmethod
    def from_config(cls, config: Config) -> EnergySettings:
        local = config.section("local")
        base = Throughput(
            _figure(local, "prompt_tokens_per_second", DEFAULT_PROMPT_TPS),
            _figure(local, "generation_tokens_per_second", DEFAULT_GENERATION_TPS),
        )
        busy = _figure(local, "watts", DEFAULT_BUSY_WATTS)
        per_model: dict[str, tuple[Figure | None, Throughput]] = {}
        models = local.table("model")
        for name in models:
            table = models.table(name)
            watts = _figure(table, "watts", busy.value) if table.has("watts") else None
            per_model[name] = (
                watts,
                Throughput(
                    _figure(table, "prompt_tokens_per_second", base.prompt_tps.value)
                    if table.has("prompt_tokens_per_second")
                    else base.prompt_tps,
                    _figure(
                        table, "generation_tokens_per_second", base.generation_tps.value
                    )
                    if table.has("generation_tokens_per_second")
                    else base.generation_tps,
                ),
            )
        return cls(
            busy_watts=busy,
            idle_watts=_figure(local, "idle_watts", DEFAULT_IDLE_WATTS),
            kwh_usd=_figure(local, "kwh_price_usd", DEFAULT_KWH_USD),
            throughput=base,
            per_model=per_model,
        )


class EnergyPricer:
    """Costs local calls; ``measured`` holds throughput measured per model."""

    def __init__(
        self, settings: EnergySettings, measured: dict[str, Throughput] | None = None
    ) -> None:
        self.settings = settings
        self.measured = measured or {}

    def throughput(self, model: str) -> Throughput:
        configured = self.settings.per_model.get(model)
        measured = self.measured.get(model)
        if configured is None:
            return measured or self.settings.throughput
        throughput = configured[1]
        if measured is None:
            return throughput
        # A figure set for this model in config wins; otherwise a measurement.
        return Throughput(
            throughput.prompt_tps
            if throughput.prompt_tps.origin == "config"
            else measured.prompt_tps,
            throughput.generation_tps
            if throughput.generation_tps.origin == "config"
            else measured.generation_tps,
        )

    def watts(self, model: str) -> Figure:
        """Busy power for ``model``: set for it in ``[local.model.NAME]``,
        else measured for it (RAPL), else ``[local] watts`` or the default."""
        configured = self.settings.per_model.get(model)
        if configured is not None and configured[0] is not None:
            return configured[0]
        measured = self.measured.get(model)
        if measured is not None and measured.busy_watts is not None:
            return measured.busy_watts
        return self.settings.busy_watts

    def price(self, model: str, tokens: Tokens) -> Cost:
        throughput = self.throughput(model)
        watts = self.watts(model)
        seconds = throughput.busy_seconds(tokens)
        # Multiply before dividing, so round figures stay exact.
        amount = watts.value * seconds * self.settings.kwh_usd.value / JOULES_PER_KWH
        kwh_usd = self.settings.kwh_usd
        detail = (
            f"energy model: {watts.labelled('W')} busy, "
            f"{kwh_usd.dollars()}/kWh ({kwh_usd.origin}), "
            f"prompt {throughput.prompt_tps.labelled('tok/s')}, "
            f"generation {throughput.generation_tps.labelled('tok/s')}"
        )
        return Cost(amount, CostSource.ENERGY_MODEL, detail)

    def defaults_used(self, models: Iterable[str]) -> list[str]:
        """The default figures that cost ``models``, each with its value and
        the models it applies to: what a user should know before trusting a
        local cost, and set in config."""
        models = sorted(set(models))
        if not models:
            return []
        used: dict[str, list[str]] = {}
        kwh_usd = self.settings.kwh_usd
        if kwh_usd.origin == "default":
            used[f"electricity {kwh_usd.dollars()}/kWh"] = []
        for model in models:
            throughput = self.throughput(model)
            for label, figure, unit in (
                ("busy power draw", self.watts(model), "W"),
                ("prompt speed", throughput.prompt_tps, "tok/s"),
                ("generation speed", throughput.generation_tps, "tok/s"),
            ):
                if figure.origin == "default":
                    used.setdefault(f"{label} {figure} {unit}", []).append(model)
        return [
            f"{text} ({', '.join(names)})" if names else text
            for text, names in used.items()
        ]

    def fingerprint(self) -> str:
        parts = [str(self.settings)]
        for model in sorted(self.measured):
            t = self.measured[model]
            parts.append(f"{model}:{t.prompt_tps}:{t.generation_tps}:{t.busy_watts}")
        return "|".join(parts)
