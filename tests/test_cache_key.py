import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costaudit.strategies.cache_key import (
    CacheHit,
    ExactCache,
    canonical_request,
    prompt_cache_key,
    request_cache_key,
    stable_system_prompt,
)
from costaudit.strategies.semantic_cache import namespace_for

SYSTEM = "You are a careful assistant."
QUESTION = "What is the capital of France?"


def openai_request(**changes: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": QUESTION},
        ],
        "temperature": 0.2,
    }
    request.update(changes)
    return request


def test_key_is_stable_hex() -> None:
    key = request_cache_key(openai_request())

    assert key == request_cache_key(openai_request())
    assert len(key) == 64
    int(key, 16)


def test_key_does_not_depend_on_field_order() -> None:
    request = openai_request()
    reordered = dict(reversed(list(request.items())))
    reordered["messages"] = [
        dict(reversed(list(m.items()))) for m in request["messages"]
    ]

    assert request_cache_key(reordered) == request_cache_key(request)


@pytest.mark.parametrize(
    "delivery",
    [
        {"stream": True},
        {"stream_options": {"include_usage": True}},
        {"user": "user-8812"},
        {"metadata": {"trace": "abc"}},
        {"request_id": "req_123"},
        {"timeout": 30},
        {"store": True},
        {"service_tier": "flex"},
        {"prompt_cache_key": "tenant-a"},
        {"extra_headers": {"X-Trace": "1"}},
        {"seed": None},
    ],
)
def test_delivery_settings_do_not_change_the_key(delivery: dict[str, Any]) -> None:
    assert request_cache_key(openai_request(**delivery)) == request_cache_key(
        openai_request()
    )


@pytest.mark.parametrize(
    "answer_setting",
    [
        {"temperature": 0.7},
        {"top_p": 0.5},
        {"max_tokens": 50},
        {"seed": 7},
        {"stop": ["\n"]},
        {"response_format": {"type": "json_object"}},
        {"tools": [{"type": "function", "function": {"name": "lookup"}}]},
        {"tool_choice": "required"},
        {"n": 3},
        {"reasoning_effort": "high"},
        {"some_future_setting": 1},
        {"model": "gpt-4o"},
    ],
)
def test_answer_settings_change_the_key(answer_setting: dict[str, Any]) -> None:
    assert request_cache_key(openai_request(**answer_setting)) != request_cache_key(
        openai_request()
    )


def test_message_text_and_role_change_the_key() -> None:
    base = request_cache_key(openai_request())
    other_text = openai_request()
    other_text["messages"][1]["content"] = "What is the capital of Spain?"
    other_role = openai_request()
    other_role["messages"][1]["role"] = "assistant"

    assert request_cache_key(other_text) != base
    assert request_cache_key(other_role) != base


def test_whitespace_in_prompts_is_significant() -> None:
    spaced = openai_request()
    spaced["messages"][1]["content"] += " "

    assert request_cache_key(spaced) != request_cache_key(openai_request())


def test_equivalent_spellings_of_settings() -> None:
    assert request_cache_key(openai_request(max_tokens=100)) == request_cache_key(
        openai_request(max_completion_tokens=100)
    )
    assert request_cache_key(openai_request(stop="END")) == request_cache_key(
        openai_request(stop=["END"])
    )
    assert request_cache_key(openai_request(temperature=1)) == request_cache_key(
        openai_request(temperature=1.0)
    )


def test_conflicting_spellings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        request_cache_key(openai_request(max_tokens=10, max_completion_tokens=20))


def test_anthropic_and_openai_shapes_agree() -> None:
    anthropic = {
        "model": "gpt-4o-mini",
        "system": [{"type": "text", "text": SYSTEM, "cache_control": {"type": "x"}}],
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": QUESTION}],
            }
        ],
        "temperature": 0.2,
    }

    assert request_cache_key(anthropic) == request_cache_key(openai_request())


def test_anthropic_stop_sequences_match_openai_stop() -> None:
    anthropic_style = openai_request(stop_sequences=["x"])

    assert request_cache_key(anthropic_style) == request_cache_key(
        openai_request(stop=["x"])
    )


def test_prompt_convenience_matches_the_request() -> None:
    key = prompt_cache_key(
        "gpt-4o-mini", SYSTEM, "What is the capital of France?", temperature=0.2
    )

    assert key == request_cache_key(openai_request())


def test_prompt_convenience_without_system_prompt() -> None:
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}

    assert prompt_cache_key("m", None, "hi") == request_cache_key(request)
    assert prompt_cache_key("m", "", "hi") == request_cache_key(request)
    assert prompt_cache_key("m", "be brief", "hi") != request_cache_key(request)


def test_scope_separates_caches() -> None:
    assert request_cache_key(openai_request(), scope="tenant-a") != request_cache_key(
        openai_request(), scope="tenant-b"
    )


def _tool_conversation(call_id: str, arguments: str) -> dict[str, Any]:
    return openai_request(
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "weather", "arguments": arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call_id, "content": "18C, cloudy"},
        ]
    )


def test_tool_call_ids_and_argument_spacing_do_not_matter() -> None:
    first = _tool_conversation("call_Ab12", '{"city": "Paris", "unit": "C"}')
    second = _tool_conversation("call_Zz99", '{"unit":"C","city":"Paris"}')

    assert request_cache_key(first) == request_cache_key(second)


def test_tool_call_arguments_matter() -> None:
    first = _tool_conversation("call_1", '{"city": "Paris"}')
    second = _tool_conversation("call_1", '{"city": "Lyon"}')

    assert request_cache_key(first) != request_cache_key(second)


def test_ids_inside_tool_arguments_are_not_renumbered() -> None:
    first = _tool_conversation("call_1", '{"id": "order-1"}')
    second = _tool_conversation("call_1", '{"id": "order-2"}')

    assert request_cache_key(first) != request_cache_key(second)


def test_which_result_answers_which_call_matters() -> None:
    def two_calls(first_result_for: str) -> dict[str, Any]:
        call = {"type": "function", "function": {"name": "f", "arguments": "{}"}}
        return openai_request(
            messages=[
                {"role": "user", "content": "go"},
                {
                    "role": "assistant",
                    "tool_calls": [{**call, "id": "a"}, {**call, "id": "b"}],
                },
                {"role": "tool", "tool_call_id": first_result_for, "content": "1"},
            ]
        )

    assert request_cache_key(two_calls("a")) != request_cache_key(two_calls("b"))


def test_anthropic_tool_use_ids_are_renumbered() -> None:
    def conversation(tool_id: str) -> dict[str, Any]:
        return {
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": tool_id,
                            "name": "weather",
                            "input": {"city": "Paris"},
                        }
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": tool_id,
                            "content": "18C",
                            "cache_control": {"type": "ephemeral"},
                        }
                    ],
                },
            ],
        }

    assert request_cache_key(conversation("toolu_01A")) == request_cache_key(
        conversation("toolu_09Z")
    )


def test_canonical_form_is_json() -> None:
    canonical = canonical_request(_tool_conversation("call_x", '{"a": 1}'))

    assert json.loads(json.dumps(canonical)) == canonical
    assert canonical["messages"][1]["tool_calls"][0]["id"] == "call_0"
    assert canonical["messages"][2]["tool_call_id"] == "call_0"


@pytest.mark.parametrize(
    "bad",
    [
        {"messages": []},
        {"model": "  ", "messages": []},
        {"model": "m", "messages": "hello"},
        {"model": "m", "messages": ["hello"]},
        {"model": "m", "messages": [], "temperature": float("nan")},
        {"model": "m", "messages": [], "temperature": object()},
    ],
)
def test_malformed_requests_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        request_cache_key(bad)


@given(
    system=st.text(max_size=40),
    prompt=st.text(max_size=80),
    temperature=st.none() | st.floats(0, 2),
)
def test_convenience_equals_request_for_any_text(
    system: str, prompt: str, temperature: float | None
) -> None:
    messages = [{"role": "user", "content": prompt}]
    if system:
        messages.insert(0, {"role": "system", "content": system})
    request = {"model": "m", "messages": messages, "temperature": temperature}

    assert prompt_cache_key(
        "m", system, prompt, temperature=temperature
    ) == request_cache_key(request)


@given(st.text(max_size=30), st.text(max_size=30))
def test_different_prompts_get_different_keys(first: str, second: str) -> None:
    same = prompt_cache_key("m", None, first) == prompt_cache_key("m", None, second)

    assert same == (first == second)


# The system prompt's date and session lines

HERMES_SYSTEM = (
    "You are Hermes.\n\n## Memory\n- Invoices go out on the 1st; rent is due "
    "2026-11-05.\n\nConversation started: {day}\nSession ID: {session}\n"
    "Model: gpt-4.1-mini"
)


def hermes_system(day: str, session: str = "20261027_080405_ab12cd") -> str:
    return HERMES_SYSTEM.format(day=day, session=session)


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("Conversation started: Tuesday, October 27, 2026",
         "Conversation started: <date>"),
        ("Session ID: 20261027_080405_ab12cd", "Session ID: <id>"),
        ("Current date: 2025-03-01", "Current date: <date>"),
        ("Today is Monday, 3 March 2025.", "Today is <date>"),
        ("Today's date is March 3, 2025.", "Today's date is <date>"),
        ("- Current time: 14:05 UTC", "- Current time: <date>"),
        ("Current date and time: 03/11/2026 09:12", "Current date and time: <date>"),
    ],
)  # fmt: skip
def test_date_and_session_lines_are_masked(line: str, masked: str) -> None:
    found = stable_system_prompt(f"Be brief.\n{line}\nUse metric units.")
    assert found.text == f"Be brief.\n{masked}\nUse metric units."
    assert found.masked == (line,)


@pytest.mark.parametrize(
    "text",
    [
        "Invoices go out on the 1st of each month; rent is due 2026-11-05.",
        "Date: always write dates as ISO 8601.",
        "Time: keep answers short.",
        "Session ID: none",
        "Now: answer in English.",
    ],
)
def test_dates_that_are_instructions_stay(text: str) -> None:
    found = stable_system_prompt(text)
    assert found.text == text and not found.changed


def test_same_question_on_another_day_has_the_same_key() -> None:
    monday = hermes_system("Monday, March 03, 2025")
    tuesday = hermes_system("Tuesday, March 04, 2025", "20250304_101010_ffee00")

    assert prompt_cache_key("m", monday, QUESTION) == prompt_cache_key(
        "m", tuesday, QUESTION
    )
    raw = {"keep_volatile_lines": True}
    assert prompt_cache_key("m", monday, QUESTION, **raw) != prompt_cache_key(
        "m", tuesday, QUESTION, **raw
    )
    # Other instructions still change the key.
    other = monday.replace("Invoices", "Receipts")
    assert prompt_cache_key("m", other, QUESTION) != prompt_cache_key(
        "m", monday, QUESTION
    )


def test_anthropic_system_blocks_are_masked_too() -> None:
    def request(day: str) -> dict[str, Any]:
        return {
            "model": "claude-sonnet-4-5",
            "system": [{"type": "text", "text": hermes_system(day)}],
            "messages": [{"role": "user", "content": QUESTION}],
        }

    assert request_cache_key(request("Monday, March 03, 2025")) == request_cache_key(
        request("Friday, March 07, 2025")
    )


@given(st.text(max_size=200))
def test_masking_is_idempotent(text: str) -> None:
    once = stable_system_prompt(text).text
    assert stable_system_prompt(once).text == once


# ExactCache


def test_store_then_hit_with_age() -> None:
    cache: ExactCache[str] = ExactCache(ttl_seconds=60)
    cache.store("k", "Paris", now=1000.0)

    assert cache.lookup("k", now=1030.0) == CacheHit("Paris", 1000.0, 30.0)
    assert cache.lookup("other", now=1030.0) is None


def test_entry_expires_at_its_ttl() -> None:
    cache: ExactCache[str] = ExactCache(ttl_seconds=60)
    cache.store("k", "Paris", now=1000.0)

    assert cache.lookup("k", now=1059.9) is not None
    assert cache.lookup("k", now=1060.0) is None
    assert cache.lookup("k", now=1001.0) is None  # expired entries are dropped
    assert cache.stats.expired == 1


def test_per_entry_ttl_and_no_expiry() -> None:
    cache: ExactCache[str] = ExactCache(ttl_seconds=None)
    cache.store("forever", "a", now=0)
    cache.store("brief", "b", now=0, ttl_seconds=5)

    assert cache.lookup("forever", now=10**9) is not None
    assert cache.lookup("brief", now=5) is None


def test_lookup_before_store_time_is_a_miss() -> None:
    cache: ExactCache[str] = ExactCache()
    cache.store("k", "v", now=100.0)

    assert cache.lookup("k", now=99.0) is None
    assert cache.lookup("k", now=100.0) is not None


def test_storing_again_refreshes_the_entry() -> None:
    cache: ExactCache[str] = ExactCache(ttl_seconds=10)
    cache.store("k", "old", now=0)
    cache.store("k", "new", now=8)

    hit = cache.lookup("k", now=15)
    assert hit is not None
    assert hit.value == "new"
    assert hit.age_seconds == 7


def test_least_recently_used_entry_is_evicted() -> None:
    cache: ExactCache[int] = ExactCache(max_entries=2)
    cache.store("a", 1, now=0)
    cache.store("b", 2, now=1)
    cache.lookup("a", now=2)
    cache.store("c", 3, now=3)

    assert cache.lookup("b", now=4) is None
    assert cache.lookup("a", now=4) is not None
    assert cache.lookup("c", now=4) is not None
    assert len(cache) == 2
    assert cache.stats.evicted == 1


def test_datetimes_are_accepted() -> None:
    start = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
    cache: ExactCache[str] = ExactCache(ttl_seconds=3600)
    cache.store("k", "v", now=start)

    hit = cache.lookup("k", now=start + timedelta(minutes=30))
    assert hit is not None
    assert hit.age_seconds == 1800
    assert cache.lookup("k", now=start + timedelta(hours=1)) is None

    with pytest.raises(ValueError, match="timezone"):
        cache.lookup("k", now=datetime(2025, 3, 1, 9, 0))


def test_stats_count_hits_and_misses() -> None:
    cache: ExactCache[str] = ExactCache()
    cache.lookup("k", now=0)
    cache.store("k", "v", now=0)
    cache.lookup("k", now=1)
    cache.lookup("k", now=2)

    stats = cache.stats
    assert (stats.hits, stats.misses, stats.entries) == (2, 1, 1)
    assert stats.hit_rate == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "settings",
    [{"ttl_seconds": 0}, {"ttl_seconds": -1}, {"max_entries": 0}],
)
def test_bad_cache_settings_are_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ExactCache(**settings)


@pytest.mark.parametrize("now", [float("nan"), float("inf"), True, "10"])
def test_bad_times_are_refused(now: Any) -> None:
    with pytest.raises(ValueError):
        ExactCache[str]().store("k", "v", now=now)


def test_replaying_history_counts_repeats_within_ttl() -> None:
    prompts = [
        (0, "capital of France?"),
        (100, "capital of France?"),
        (200, "capital of Spain?"),
        (4000, "capital of France?"),
        (4100, "capital of France?"),
    ]
    cache: ExactCache[str] = ExactCache(ttl_seconds=3600)
    hits = 0
    for started, prompt in prompts:
        key = prompt_cache_key("gpt-4o-mini", SYSTEM, prompt)
        if cache.lookup(key, now=started) is not None:
            hits += 1
        else:
            cache.store(key, "answer", now=started)

    assert hits == 2


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        (
            "Be brief.\nCurrent date: 2026-11-02",
            "Be brief.\nCurrent date: 2026-11-03",
            True,
        ),
        (
            "Be brief.\nSession ID: 20261102_ab12",
            "Be brief.\nSession ID: 20261103_cd34",
            True,
        ),
        (
            "Be brief.\nCurrent date: 2026-11-02",
            "Be thorough.\nCurrent date: 2026-11-02",
            False,
        ),
        ("Deadline: 2026-11-02", "Deadline: 2026-11-03", False),
    ],
)
def test_both_caches_mask_the_same_lines(first: str, second: str, same: bool) -> None:
    """The exact cache's key and the semantic cache's namespace agree on
    which system prompts are one, so a gateway running both needs nothing
    more than to pass the system prompt as sent."""
    keys = {prompt_cache_key("m", s, QUESTION) for s in (first, second)}
    spaces = {namespace_for("m", s) for s in (first, second)}
    assert (len(keys) == 1) is same
    assert (len(spaces) == 1) is same


@given(st.text(max_size=200))
def test_namespace_for_is_unchanged_by_masking_first(text: str) -> None:
    assert namespace_for("m", stable_system_prompt(text).text) == namespace_for(
        "m", text
    )
