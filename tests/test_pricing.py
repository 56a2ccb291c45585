"""Prices with provenance: library, overrides, energy model, unpriced."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from costaudit.config import Config
from costaudit.errors import ConfigError
from costaudit.pricing.aliases import alias_for
from costaudit.pricing.cost import CostSource
from costaudit.pricing.library import PROVIDER_IDS, LibraryPricer, Tokens
from costaudit.pricing.locality import endpoint_is_local
from costaudit.pricing.pricer import Call, Pricer

AT = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def config(text: str = "") -> Config:
    return Config(raw=tomllib.loads(text))


def api_call(
    model: str,
    provider: str | None,
    tokens: Tokens,
    at: datetime = AT,
    **kw: Any,
) -> Call:
    endpoint = "https://api.example.com/v1"
    return Call(model, provider, endpoint, None, at, tokens, **kw)


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


# A retired name its provider bills as its successor is priced as that model.

MILLION_EACH = Tokens(input_tokens=1_000_000, output_tokens=1_000_000)


@pytest.mark.parametrize("model", ["deepseek-chat", "deepseek-reasoner"])
def test_deepseek_names_are_priced_as_v4_flash_since_2026_04_24(model: str) -> None:
    pricer = Pricer(config())
    noon = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    cost, _ = pricer.price(api_call(model, "deepseek", MILLION_EACH, at=noon))
    # deepseek-v4-flash: $0.15 input and $0.60 output per MTok at noon UTC.
    assert cost.amount_usd == Decimal("0.15") + Decimal("0.60")
    assert (
        f": deepseek/deepseek-v4-flash ({model} is its alias since 2026-04-24);"
        in cost.detail
    )
    # The day before, the name is priced as itself.
    before = datetime(2026, 4, 23, 12, 0, tzinfo=UTC)
    old, _ = pricer.price(api_call(model, "deepseek", MILLION_EACH, at=before))
    assert f": deepseek/{model};" in old.detail
    assert "alias" not in old.detail


def test_the_alias_holds_without_a_provider_but_not_at_another_one() -> None:
    library = LibraryPricer()
    noon = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    unknown = library.resolve("deepseek-chat", None, None, noon)
    assert unknown is not None and unknown.alias is not None
    assert alias_for("deepseek-chat", "openrouter", noon) is None
    assert alias_for("DeepSeek-Chat", "deepseek", noon) is not None


@pytest.mark.parametrize(
    ("hermes_name", "library_id"),
    [
        ("copilot", "github-copilot"),
        ("kimi-coding", "moonshotai"),
        ("kimi-coding-cn", "moonshotai"),
        ("xai-oauth", "x-ai"),
        ("azure-foundry", "azure"),
        ("minimax-oauth", "minimax"),
        ("openai-codex", "openai"),
        ("openai-api", "openai"),
        ("openrouter", "openrouter"),
        ("gemini", "google"),
        ("bedrock", "aws"),
        ("zai", "zai"),
        ("Anthropic", "anthropic"),
        # Already genai-prices ids: passed through.
        ("cloudflare", "cloudflare"),
        ("baseten", "baseten"),
        # Neither: unknown, looked up by endpoint or model maker instead.
        ("nous", None),
        ("custom", None),
    ],
)
def test_provider_names_map_to_library_ids(
    hermes_name: str, library_id: str | None
) -> None:
    assert LibraryPricer().provider_id(hermes_name) == library_id


def test_every_mapped_provider_id_exists_in_the_library() -> None:
    library = LibraryPricer()
    known = {p.id for p in library.snapshot.providers}
    assert set(PROVIDER_IDS.values()) <= known


def test_config_maps_a_provider_name() -> None:
    pricer = Pricer(config('[providers]\nMy-Proxy = "openai"\n'))
    assert pricer.library.provider_id("my-proxy") == "openai"
    cost, _ = pricer.price(api_call("gpt-4.1", "my-proxy", Tokens(input_tokens=1000)))
    assert cost.detail.endswith("openai/gpt-4.1")
