from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costaudit.strategies.difficulty import (
    TIER_MINIMUM_SCORES,
    TIERS,
    CallFeatures,
    Difficulty,
    classify_difficulty,
    tier_for_score,
)

PYTHON_SERVICE = (
    "```python\n"
    + "\n".join(
        f"def handle_{i}(request):\n    with LOCK_{i % 3}:\n        return run(req)"
        for i in range(15)
    )
    + "\n```\n"
)

SIMPLE = [
    CallFeatures("What is the capital of France?"),
    CallFeatures("hi"),
    CallFeatures("Translate 'good morning' into Spanish."),
    CallFeatures("Give me a synonym for happy"),
    CallFeatures("Explain how TCP congestion control works"),
    CallFeatures("Write a Python function that checks if a string is a palindrome"),
    CallFeatures("Summarise: " + "The meeting moved to Tuesday. " * 3),
    CallFeatures("thanks!", system_prompt_tokens=1_500, output_tokens=20),
    CallFeatures("Write a blog post about our product launch", output_tokens=1_200),
]

MEDIUM = [
    CallFeatures(
        "Write a Python function that parses ISO 8601 durations like P3DT4H and"
        " returns a timedelta. It must handle weeks, must reject negative values"
        " and should raise ValueError on bad input."
    ),
    CallFeatures(
        "Compare PostgreSQL and MySQL for a small web app. Why pick one or the other?"
    ),
    CallFeatures("Prove that there are infinitely many primes."),
    CallFeatures("Rename a config option in the repo", tool_calls=4, session_calls=6),
]

HARD = [
    CallFeatures(
        PYTHON_SERVICE + "This deadlocks under load. Why? Find the root cause"
        " and propose a fix."
    ),
    CallFeatures(
        "Refactor the payment module to use the new API",
        tool_calls=25,
        session_calls=30,
        output_tokens=2_000,
    ),
    CallFeatures(
        "Analyse the trade-offs between event sourcing and CRUD for our"
        " billing service, step by step."
    ),
    CallFeatures(
        r"Solve $\int_0^\pi x^2 \sin(x)\,dx$ and prove the result by"
        " integration by parts. Explain each step.",
        output_tokens=900,
    ),
]

EXPERT = [
    CallFeatures(
        "Design a distributed rate limiter for a multi-region API. Compare token"
        " bucket vs sliding window, discuss the trade-offs, prove the bound on"
        " burst size, and give a step-by-step rollout plan. Constraints: it must"
        " survive a region outage and must add at most 5 ms latency."
    ),
    CallFeatures(
        PYTHON_SERVICE + "Why does this deadlock? Find the root cause, design a"
        " lock-free replacement and compare it with the current one.",
        tool_calls=40,
        session_calls=55,
        output_tokens=6_000,
    ),
    CallFeatures(
        "Migrate the monolith's authentication to OAuth2 and keep the tests"
        " green. Explain the plan first.",
        tool_calls=120,
        session_calls=140,
        output_tokens=9_000,
        system_prompt_tokens=12_000,
        prompt_tokens=7_000,
    ),
]


@pytest.mark.parametrize(
    ("tier", "call"),
    [
        *[("simple", c) for c in SIMPLE],
        *[("medium", c) for c in MEDIUM],
        *[("hard", c) for c in HARD],
        *[("expert", c) for c in EXPERT],
    ],
)
def test_hand_labelled_calls(tier: str, call: CallFeatures) -> None:
    result = classify_difficulty(call)

    assert result.tier == tier, result


def test_reasons_name_features_and_points() -> None:
    result = classify_difficulty(HARD[0])

    assert ("code block", 2) in result.reasons
    assert ("mentions python", 1) in result.reasons
    assert ("asks to reason ('root cause')", 2) in result.reasons
    assert result.score == sum(points for _, points in result.reasons)


def test_caps_are_shown_as_negative_points() -> None:
    result = classify_difficulty(EXPERT[0])

    assert ("reasoning capped at 7", -2) in result.reasons
    assert result == Difficulty("expert", result.score, result.reasons)


def test_side_calls_are_simple() -> None:
    call = CallFeatures(
        EXPERT[0].prompt, tool_calls=50, output_tokens=9_000, call_kind="compression"
    )

    assert classify_difficulty(call) == Difficulty(
        "simple", 0, (("side call 'compression'", 0),)
    )


def test_counted_prompt_tokens_take_precedence() -> None:
    result = classify_difficulty(CallFeatures("hi", prompt_tokens=2_000))

    assert ("prompt of 2,000 tokens", 3) in result.reasons


def test_known_output_replaces_the_long_answer_cue() -> None:
    prompt = "Write a detailed report on our cloud spend"

    before = classify_difficulty(CallFeatures(prompt)).reasons
    after = classify_difficulty(CallFeatures(prompt, output_tokens=5_000)).reasons

    assert ("asks for a long answer ('detailed report')", 1) in before
    assert after == (("answer of 5,000 tokens", 3),)


def test_tier_boundaries() -> None:
    assert [tier_for_score(s) for s in (0, 2, 3, 5, 6, 11, 12, 40)] == [
        "simple",
        "simple",
        "medium",
        "medium",
        "hard",
        "hard",
        "expert",
        "expert",
    ]
    assert list(TIER_MINIMUM_SCORES) == list(TIERS)


@pytest.mark.parametrize(
    "bad",
    [
        {"tool_calls": -1},
        {"session_calls": True},
        {"output_tokens": 1.5},
        {"prompt_tokens": -3},
        {"system_prompt_tokens": float("nan")},
    ],
)
def test_bad_counts_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        CallFeatures("hi", **bad)


CODE_ADDITIONS = [
    "```python\nprint('hi')\n```",
    '```rust\nfn main() {\n    println!("hi");\n}\n```',
    "def f(x):\n    return x * 2\nimport os\nclass A: pass",
    "SELECT id FROM users WHERE name = 'a';",
    "Implement it in TypeScript.",
    PYTHON_SERVICE,
]
REASONING_ADDITIONS = [
    "Why?",
    "Explain your reasoning step by step.",
    "Compare the two approaches and weigh the trade-offs.",
    "Design the architecture first.",
    "Find the root cause.",
    "Prove it.",
    "Analyse the edge cases and justify the plan.",
]

calls = st.builds(
    CallFeatures,
    prompt=st.text(max_size=300),
    system_prompt_tokens=st.integers(0, 20_000),
    output_tokens=st.none() | st.integers(0, 10_000),
    tool_calls=st.integers(0, 200),
    session_calls=st.integers(1, 200),
    call_kind=st.sampled_from(["main", "main", "main", "title_generation"]),
)


def _with_prompt(call: CallFeatures, prompt: str) -> CallFeatures:
    return CallFeatures(
        prompt,
        system_prompt_tokens=call.system_prompt_tokens,
        output_tokens=call.output_tokens,
        tool_calls=call.tool_calls,
        session_calls=call.session_calls,
        call_kind=call.call_kind,
    )


def _rank(result: Difficulty) -> int:
    return TIERS.index(result.tier)


@given(calls, st.lists(st.sampled_from(CODE_ADDITIONS), min_size=1, max_size=3))
def test_adding_code_never_lowers_the_tier(
    call: CallFeatures, additions: list[str]
) -> None:
    before = classify_difficulty(call)
    after = classify_difficulty(
        _with_prompt(call, "\n\n".join([call.prompt, *additions]))
    )

    assert after.score >= before.score
    assert _rank(after) >= _rank(before)


@given(calls, st.lists(st.sampled_from(REASONING_ADDITIONS), min_size=1, max_size=3))
def test_adding_reasoning_demand_never_lowers_the_tier(
    call: CallFeatures, additions: list[str]
) -> None:
    before = classify_difficulty(call)
    after = classify_difficulty(
        _with_prompt(call, "\n\n".join([call.prompt, *additions]))
    )

    assert after.score >= before.score
    assert _rank(after) >= _rank(before)


@given(calls, st.integers(0, 500), st.integers(0, 20_000))
def test_more_tool_use_or_output_never_lowers_the_tier(
    call: CallFeatures, more_tools: int, more_output: int
) -> None:
    bigger = CallFeatures(
        call.prompt,
        system_prompt_tokens=call.system_prompt_tokens,
        output_tokens=(call.output_tokens or 0) + more_output,
        tool_calls=call.tool_calls + more_tools,
        session_calls=call.session_calls + more_tools,
        call_kind=call.call_kind,
    )
    before = classify_difficulty(call)
    if call.output_tokens is None:
        # A known output replaces the guess from the prompt's wording.
        before = classify_difficulty(
            CallFeatures(
                call.prompt,
                system_prompt_tokens=call.system_prompt_tokens,
                output_tokens=0,
                tool_calls=call.tool_calls,
                session_calls=call.session_calls,
                call_kind=call.call_kind,
            )
        )

    assert classify_difficulty(bigger).score >= before.score


@given(calls)
def test_score_is_the_sum_of_reasons_and_picks_the_tier(call: CallFeatures) -> None:
    result = classify_difficulty(call)

    assert result.score == sum(points for _, points in result.reasons)
    assert result.tier == tier_for_score(result.score)
    assert result.score >= 0
    assert classify_difficulty(call) == result
