import pytest
from hypothesis import given
from hypothesis import strategies as st

from costaudit.strategies.volatility import RULES, Volatility, assess_volatility

STABLE = [
    "what is the capital of France",
    "explain how TCP congestion control works",
    "Now explain recursion with an example",
    "OK. Now, write the same thing in Rust",
    "write an email to my boss asking for Friday off",
    "prove that the square root of 2 is irrational",
    "compare quicksort and mergesort",
    "explain alternating current and direct current",
    "how old is the universe",
    "explain how an MD5 digest is computed",
    "write three headlines for my blog post about sourdough",
    "what is the actual value of x after the loop",
    "describe the status of women in medieval Europe",
    "in the past, how did sailors navigate",
    "I know the answer, just check my reasoning",
    'Translate "see you tomorrow" into French',
    "Fix this:\n```python\nstamp = datetime.now()\nprint(latest)\n```",
    "why does `date.today()` return a naive date",
    "> The weather today is fine.\nWhat figure of speech is this?",
    "Review this function:\n```python\ndef load(path):\n    return open(path)\n```",
    "What does os.path.join do?",
    "Convert 90 km/h to m/s",
    "Write a regex that matches dates like 03/11/2026",
    "",
]

VOLATILE = [
    ("Review the staged changes before I commit.", ["staged changes"]),
    ("What does the diff change?", ["the diff"]),
    ("Make the test suite pass.", ["the test suite"]),
    (
        "Write pytest cases for parse_duration in invoice_parser/durations.py",
        ["invoice_parser/durations.py"],
    ),
    ("summarise today's inbox", ["today's", "inbox"]),
    ("```\nwhat's the weather today", ["weather", "today"]),
    ("summarise today\u2019s inbox", ["today's", "inbox"]),
    ("what is happening now", ["now"]),
    ("what are you doing right now?", ["right now"]),
    ("what's the latest version of numpy", ["latest"]),
    ("which Python versions are currently supported", ["currently"]),
    ("give me the current time in Tokyo", ["current"]),
    ("what did I do yesterday", ["yesterday"]),
    ("plan my tasks for tomorrow", ["tomorrow"]),
    ("what did we ship this week", ["this week"]),
    ("what happened this morning", ["this morning"]),
    ("what changed in the last 3 days", ["in the last 3 days"]),
    ("what merged 2 hours ago", ["2 hours ago"]),
    ("what meetings do I have next monday", ["next monday"]),
    ("what's the date", ["what's the date"]),
    ("tell me the news", ["news"]),
    ("any unread messages?", ["unread"]),
    ("summarize my emails", ["summarize my emails"]),
    ("check my calendar for conflicts", ["check my calendar"]),
    ("what's the weather in Paris", ["weather"]),
    ("what is the AAPL stock price", ["stock price"]),
    ("convert 100 USD at the exchange rate", ["exchange rate"]),
    ("status of the nightly build?", ["status of the nightly build"]),
    ("what's the status of my order #1234", ["what's the status"]),
    ("check the server logs for errors", ["check the server logs"]),
    ("is the website down?", ["is the website down"]),
    ("give me my daily briefing", ["daily briefing"]),
    ("search the web for rust 2024 edition changes", ["search the web"]),
    ("summarise https://example.com/post", ["https://example.com/post"]),
    ("wie ist das Wetter heute?", ["heute", "wetter"]),
    ("¿qué noticias hay hoy?", ["hoy", "noticias"]),
    ("今天天气怎么样", ["今天", "天气"]),
    ("今日のニュースを要約して", ["今日", "ニュース"]),
    ("какие новости сегодня", ["сегодня", "новости"]),
]


@pytest.mark.parametrize("prompt", STABLE)
def test_stable_prompts(prompt: str) -> None:
    assert assess_volatility(prompt) == Volatility(volatile=False, reasons=())


@pytest.mark.parametrize(("prompt", "words"), VOLATILE)
def test_volatile_prompts_say_why(prompt: str, words: list[str]) -> None:
    verdict = assess_volatility(prompt)

    assert verdict.volatile
    for word in words:
        assert any(f"'{word}'" in reason for reason in verdict.reasons), (
            word,
            verdict.reasons,
        )


def test_reason_names_the_word_and_its_kind() -> None:
    assert assess_volatility("summarise today's inbox").reasons == (
        "mentions 'today's' (relative time)",
        "mentions 'inbox' (messages)",
    )


def test_scheduled_prompts_are_volatile_whatever_they_say() -> None:
    assert assess_volatility("what is the capital of France", scheduled=True) == (
        Volatility(volatile=True, reasons=("runs on a schedule",))
    )


def test_scheduled_reason_comes_first() -> None:
    reasons = assess_volatility("news digest", scheduled=True).reasons

    assert reasons[0] == "runs on a schedule"
    assert "mentions 'news' (news)" in reasons


def test_the_same_words_are_reported_once() -> None:
    reasons = assess_volatility("the latest news, latest news, latest news").reasons

    assert len(reasons) == len(set(reasons))


def test_every_rule_has_a_kind() -> None:
    assert all(rule.kind for rule in RULES)


@given(st.text(max_size=200))
def test_verdict_agrees_with_its_reasons(prompt: str) -> None:
    verdict = assess_volatility(prompt)

    assert verdict.volatile == bool(verdict.reasons)


@given(st.text(max_size=200), st.sampled_from([v[0] for v in VOLATILE]))
def test_a_volatile_sentence_stays_volatile_in_any_company(
    prefix: str, sentence: str
) -> None:
    # A fence in the prefix may be left open; ours closes it or stays unpaired.
    prompt = f"{prefix}\n```\n\n{sentence}"

    assert assess_volatility(prompt).volatile


VOCABULARY = sorted(
    {word for prompt, _ in VOLATILE for word in prompt.lower().split()}
    | {word for prompt in STABLE for word in prompt.lower().split()}
    | {"up", "to", "date", "live", "score", "past", "last", "since", "ago", "is"}
)


@given(st.lists(st.sampled_from(VOCABULARY), max_size=12).map(" ".join))
def test_triggers_never_hide_a_match(text: str) -> None:
    for rule in RULES:
        if rule.pattern.search(text):
            assert rule.search(text), (rule.pattern.pattern, text)


@pytest.mark.parametrize("prompt", [p.lower() for p, _ in VOLATILE])
def test_triggers_fire_on_every_volatile_example(prompt: str) -> None:
    for rule in RULES:
        if rule.pattern.search(prompt):
            assert rule.search(prompt), rule.pattern.pattern
