"""Prices with provenance: library, overrides, energy model, unpriced."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price

from costaudit.config import Config
from costaudit.errors import ConfigError
from costaudit.pricing.cost import CostSource
from costaudit.pricing.library import Tokens
from costaudit.pricing.locality import endpoint_is_local
from costaudit.pricing.pricer import Call, Pricer

AT = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def config(text: str = "") -> Config:
    return Config(raw=tomllib.loads(text))


def api_call(model: str, provider: str | None, tokens: Tokens, **kw: object) -> Call:
    return Call(model, provider, "https://api.example.com/v1", None, AT, tokens, **kw)  # type: ignore[arg-type]


def test_cached_tokens_are_converted_to_the_library_convention() -> None:
    tokens = Tokens(input_tokens=6000, cache_read_tokens=4000, output_tokens=500)
    cost, local = Pricer(config()).price(api_call("gpt-4.1", "openai", tokens))
    expected = calc_price(
        Usage(input_tokens=10_000, cache_read_tokens=4000, output_tokens=500),
        "gpt-4.1",
        provider_id="openai",
        genai_request_timestamp=AT,
    ).total_price
    assert not local
    assert cost.source is CostSource.PRICE_LIBRARY
    assert cost.amount_usd == expected
    # Priced as all input, the same call would cost more: cache reads are cheaper.
    naive = calc_price(
        Usage(input_tokens=10_000, output_tokens=500), "gpt-4.1", provider_id="openai"
    ).total_price
    assert cost.amount_usd is not None and cost.amount_usd < naive


def test_unknown_model_is_unpriced_not_zero() -> None:
    tokens = Tokens(input_tokens=1000, output_tokens=100)
    cost, _ = Pricer(config()).price(api_call("no-such-model-9000", "acme", tokens))
    assert cost.source is CostSource.UNPRICED
    assert cost.amount_usd is None
    assert "no-such-model-9000" in cost.detail


def test_agent_estimate_is_used_only_when_the_library_does_not_know() -> None:
    tokens = Tokens(input_tokens=1000, output_tokens=100)
    call = api_call(
        "no-such-model-9000",
        "acme",
        tokens,
        agent_cost_usd=Decimal("0.25"),
        agent_cost_status="estimated",
    )
    cost, _ = Pricer(config()).price(call)
    assert cost.source is CostSource.AGENT_ESTIMATE
    assert cost.amount_usd == Decimal("0.25")


def test_provider_reported_cost_wins_over_the_library() -> None:
    call = api_call(
        "gpt-4.1",
        "openai",
        Tokens(input_tokens=1000),
        agent_cost_usd=Decimal("0.0123"),
        agent_cost_status="actual",
    )
    cost, _ = Pricer(config()).price(call)
    assert cost.source is CostSource.PROVIDER_REPORTED
    assert cost.amount_usd == Decimal("0.0123")


def test_user_override_per_model() -> None:
    pricer = Pricer(
        config(
            '[prices."my-model"]\ninput_mtok = 1.5\noutput_mtok = 6\n'
            "cache_read_mtok = 0.15\n"
        )
    )
    tokens = Tokens(input_tokens=2_000_000, cache_read_tokens=1_000_000,
                    output_tokens=500_000)  # fmt: skip
    cost, _ = pricer.price(api_call("my-model", None, tokens))
    assert cost.source is CostSource.USER_OVERRIDE
    assert cost.amount_usd == Decimal("3.0") + Decimal("0.15") + Decimal("3.0")


def test_override_needs_both_prices() -> None:
    with pytest.raises(ConfigError, match=r"prices\.my-model"):
        Pricer(config('[prices."my-model"]\ninput_mtok = 1.5\n'))


def test_energy_model_arithmetic_on_a_local_endpoint() -> None:
    pricer = Pricer(
        config(
            "[local]\nwatts = 60\nkwh_price_usd = 0.30\n"
            "prompt_tokens_per_second = 100\ngeneration_tokens_per_second = 10\n"
        )
    )
    # 1,000 prompt tokens at 100/s + 100 output tokens at 10/s = 20 s busy.
    call = Call("qwen2.5-3b", "custom", "http://127.0.0.1:8080/v1", None, AT,
                Tokens(input_tokens=1000, output_tokens=100))  # fmt: skip
    cost, local = pricer.price(call)
    assert local
    assert cost.source is CostSource.ENERGY_MODEL
    # 60 W x 20 s = 1,200 J = 1/3000 kWh, at $0.30 = $0.0001.
    assert cost.amount_usd == Decimal("0.0001")
    assert "(config)" in cost.detail


def test_energy_defaults_are_labelled() -> None:
    call = Call("qwen2.5-3b", "custom", "http://localhost:8080", None, AT,
                Tokens(input_tokens=10))  # fmt: skip
    cost, _ = Pricer(config()).price(call)
    assert "(default)" in cost.detail


@pytest.mark.parametrize(
    ("endpoint", "local"),
    [
        ("http://127.0.0.1:8080/v1", True),
        ("http://localhost:11434", True),
        ("http://192.168.1.20:8080/v1", True),
        ("http://10.0.0.5/v1", True),
        ("http://[::1]:8080", True),
        ("https://api.deepseek.com/v1", False),
        ("https://api.openai.com/v1", False),
        (None, False),
    ],
)
def test_local_endpoints(endpoint: str | None, local: bool) -> None:
    assert endpoint_is_local(endpoint) is local


def test_model_marked_local_in_config() -> None:
    pricer = Pricer(config('[local]\nmodels = ["my-box-model"]\n'))
    call = Call("my-box-model", "custom", "https://box.example.org/v1", None, AT,
                Tokens(input_tokens=10))  # fmt: skip
    assert pricer.price(call)[1]
