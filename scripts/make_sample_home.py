"""Build samples/hermes-home: five weeks of one user's Hermes Agent.

The home is written by hermes-agent 0.19.0 itself: this script only builds a
spec (seeded, so every run gives the same rows) and hands it to
``tests/hermes_writer/write_home.py``, run with a Python that has Hermes
installed. The committed result lets the demo run without Hermes.

Usage::

    python scripts/make_sample_home.py [--out samples/hermes-home]
        [--hermes-python PATH] [--days 35] [--seed 20261130]
        [--spec-out FILE] [--schema 22|19]

The Hermes interpreter is ``--hermes-python``, else ``$COSTAUDIT_HERMES_PYTHON``,
else ``.venv-hermes/bin/python`` in the repository.

The user, Mara, lives in Lisbon and ends the period on 2026-11-30. Her
profiles:

- ``hermy``: a daily 07:00 briefing and, from the fourth week, an hourly shop
  status check, both by cron, plus Telegram chat; a parcel tracker job that
  she deletes after twelve days. ``deepseek-chat``.
- ``codi``: code review in the terminal, mostly on a local
  ``qwen2.5-coder-3b`` served by llama.cpp, sometimes ``gpt-4.1-mini``; one
  runaway session that loops on a failing test until compression.
- ``ayva``: research summaries on ``deepseek-reasoner`` with heavy side calls
  (web_extract, session_search, compression, title_generation), about half
  of all input tokens.
- ``sira``: design reviews on ``gpt-4.1``; one session switches to
  ``claude-sonnet-4-5`` midway, with cache writes and reads.
- ``tesa``: data quality checks by cron on a local ``qwen2.5-3b-instruct``.
- the default profile: a few sessions from the first days.

The prompts include exact repeats, paraphrases, near misses (same question
with other numbers, or reversed), code-heavy and maths questions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
WRITER = REPO / "tests" / "hermes_writer" / "write_home.py"
DEFAULT_OUT = REPO / "samples" / "hermes-home"
TIMEZONE = "Europe/Lisbon"
TZ = ZoneInfo(TIMEZONE)
LAST_DAY = date(2026, 11, 30)
CHAT_ID = "5823017744"

Spec = dict[str, Any]


# --------------------------------------------------------------------------
# Models and how fast they are


@dataclass(frozen=True)
class Model:
    name: str
    provider: str
    base_url: str
    overhead_s: float
    output_per_s: float
    prompt_per_s: float
    cache: str  # "prefix64", "prefix128", "breakpoints" or "none"


DEEPSEEK_URL = "https://api.deepseek.com/v1"
OPENAI_URL = "https://api.openai.com/v1"
MODELS = {
    "deepseek-chat": Model(
        "deepseek-chat", "deepseek", DEEPSEEK_URL, 0.9, 45, 5000, "prefix64"
    ),
    "deepseek-reasoner": Model(
        "deepseek-reasoner", "deepseek", DEEPSEEK_URL, 1.6, 38, 4500, "prefix64"
    ),
    "gpt-4.1": Model("gpt-4.1", "openai", OPENAI_URL, 0.7, 70, 9000, "prefix128"),
    "gpt-4.1-mini": Model(
        "gpt-4.1-mini", "openai", OPENAI_URL, 0.5, 105, 12000, "prefix128"
    ),
    "claude-sonnet-4-5": Model(
        "claude-sonnet-4-5",
        "anthropic",
        "https://api.anthropic.com",
        1.1,
        62,
        7000,
        "breakpoints",
    ),
    "qwen2.5-coder-3b": Model(
        "qwen2.5-coder-3b", "custom", "http://127.0.0.1:8080/v1", 0.2, 34, 850, "none"
    ),
    "qwen2.5-3b-instruct": Model(
        "qwen2.5-3b-instruct",
        "custom",
        "http://127.0.0.1:8081/v1",
        0.2,
        36,
        900,
        "none",
    ),
}

# Tool schemas the agent sends with every call: the full toolset for API
# models, a trimmed one for the small local models.
FULL_TOOLS_TOKENS = 11_800
LOCAL_TOOLS_TOKENS = 2_300


def text_tokens(text: str) -> int:
    return max(1, len(text) // 4)


# --------------------------------------------------------------------------
# Token bookkeeping of one conversation


class Conversation:
    """The context a provider sees, call by call, and what it caches."""

    def __init__(self, rng: random.Random, model: Model, base: int, warm: bool):
        self.rng = rng
        self.model = model
        self.base = base
        self.tokens = base
        self.cached = base - 40 if warm and model.cache != "none" else 0

    def add(self, tokens: int) -> None:
        self.tokens += tokens

    def switch(self, model: Model) -> None:
        self.model = model
        self.cached = 0

    def call(self, output: int, reasoning: int = 0) -> dict[str, Any]:
        prompt = self.tokens
        read, write = self._cache_split(prompt)
        uncached = prompt - read - write
        model = self.model
        latency = (
            model.overhead_s
            + (uncached + write) / model.prompt_per_s
            + output / model.output_per_s
        )
        self.cached = prompt
        self.tokens += output - reasoning
        return {
            "latency": round(latency * self.rng.uniform(0.85, 1.2), 1),
            "input": uncached,
            "output": output,
            "cache_read": read,
            "cache_write": write,
            "reasoning": reasoning,
        }

    def _cache_split(self, prompt: int) -> tuple[int, int]:
        cached = min(self.cached, prompt)
        kind = self.model.cache
        if kind == "prefix64":
            return cached // 64 * 64, 0
        if kind == "prefix128":
            if prompt < 1024 or cached < 1024:
                return 0, 0
            return cached // 128 * 128, 0
        if kind == "breakpoints":
            tail = min(prompt - cached, self.rng.randint(3, 40))
            return cached, prompt - cached - tail
        return 0, 0

    def compress(self, summary_tokens: int) -> int:
        """Replace the history by a summary; return the tokens summarised."""
        compressed = self.tokens
        self.tokens = self.base + summary_tokens
        self.cached = 0
        return compressed


# --------------------------------------------------------------------------
# Sessions


@dataclass
class Tool:
    name: str
    arguments: dict[str, Any]
    result: str
    result_tokens: int
    duration: float = 0.6

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arguments": self.arguments,
            "result": self.result,
            "duration": self.duration,
        }


@dataclass
class SessionBuilder:
    """Builds one session of the spec, keeping its clock and its context."""

    rng: random.Random
    source: str
    start: float
    first_model: Model
    system_prompt: str
    conversation: Conversation
    fields: dict[str, Any] = field(default_factory=dict)
    turns: list[dict[str, Any]] = field(default_factory=list)
    now: float = 0.0
    next_turn_at: float | None = None

    def __post_init__(self) -> None:
        self.now = self.start + self.rng.uniform(0.5, 3.0)

    def user(self, text: str | None, pause: tuple[float, float] = (25, 240)) -> None:
        """Start a turn; text None is a cron run (the job prompt)."""
        if self.next_turn_at is not None:
            self.now = max(self.now + 1.0, self.next_turn_at)
            self.next_turn_at = None
        elif self.turns:
            self.now += self.rng.uniform(*pause)
        turn: dict[str, Any] = {"at": round(self.now, 3), "calls": []}
        if text is not None:
            turn["user"] = text
        self.turns.append(turn)
        self.conversation.add(text_tokens(text or "") + 180)

    def tools(self, tools: list[Tool], output: int | None = None) -> None:
        """A main-loop call that asks for tools, then their results."""
        call = self.conversation.call(output or self.rng.randint(35, 170))
        call["tools"] = [tool.spec() for tool in tools]
        self._append(call)
        for tool in tools:
            self.now += tool.duration
            self.conversation.add(tool.result_tokens)

    def side(
        self, task: str, model: Model, prompt: int, output: int, **extra: Any
    ) -> None:
        """An auxiliary call (title, extraction, search, compression)."""
        seconds = model.overhead_s + prompt / model.prompt_per_s
        seconds += output / model.output_per_s
        call = {
            "task": task,
            "model": model.name,
            "provider": model.provider,
            "base_url": model.base_url,
            "latency": round(seconds * self.rng.uniform(0.85, 1.2), 1),
            "input": prompt,
            "output": output,
            **extra,
        }
        self._append(call)

    def reply(self, text: str, output: int | None = None, reasoning: int = 0) -> None:
        """The main-loop call that answers; reasoning is part of output."""
        visible = output or text_tokens(text) + self.rng.randint(5, 40)
        call = self.conversation.call(visible + reasoning, reasoning)
        self._append(call)
        self.turns[-1]["reply"] = text

    def switch(self, model: Model, via: str, prompt: str | None = None) -> None:
        """Switch the model before the current turn's calls."""
        switch: dict[str, Any] = {
            "model": model.name,
            "provider": model.provider,
            "base_url": model.base_url,
            "via": via,
        }
        if model.provider == "anthropic":
            switch["api_mode"] = "anthropic_messages"
        if prompt is not None:
            switch["system_prompt"] = prompt
        self.turns[-1]["switch"] = switch
        self.conversation.switch(model)

    def compress(self, model: Model, summary: str) -> None:
        """Compression: summarise the context, then go on in a child session."""
        summary_tokens = self.rng.randint(900, 1800)
        compressed = self.conversation.compress(summary_tokens)
        self.side(
            "compression",
            model,
            compressed,
            summary_tokens,
            rotate=True,
            summary=summary,
        )

    def _append(self, call: dict[str, Any]) -> None:
        self.now += call["latency"]
        self.turns[-1]["calls"].append(call)

    def build(self, **fields: Any) -> Spec:
        session: Spec = {
            "source": self.source,
            "started_at": round(self.start, 3),
            "system_prompt": self.system_prompt,
            "turns": self.turns,
        }
        if self.source != "cron":
            session["model"] = self.first_model.name
            session["provider"] = self.first_model.provider
            session["base_url"] = self.first_model.base_url
        session.update(self.fields)
        session.update(fields)
        return session


def new_session(
    rng: random.Random,
    source: str,
    start: datetime,
    model: Model,
    stable_prompt: str,
    warm: bool,
) -> SessionBuilder:
    """A session whose system prompt ends with Hermes' volatile tail."""
    prompt = with_volatile_tail(stable_prompt, start, model)
    tools = LOCAL_TOOLS_TOKENS if model.provider == "custom" else FULL_TOOLS_TOKENS
    conversation = Conversation(rng, model, tools + text_tokens(prompt), warm)
    return SessionBuilder(rng, source, start.timestamp(), model, prompt, conversation)


def with_volatile_tail(stable: str, when: datetime, model: Model) -> str:
    """Hermes appends the date, model and provider to every system prompt."""
    day = when.strftime("%A, %B %d, %Y")
    tail = f"Conversation started: {day}\nModel: {model.name}"
    return f"{stable}\n\n{tail}\nProvider: {model.provider}"


def job_id(name: str) -> str:
    return hashlib.sha256(f"costaudit-sample/{name}".encode()).hexdigest()[:12]


def at(day: date, hour: int, minute: int = 0, second: float = 0.0) -> datetime:
    moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)
    return moment + timedelta(seconds=second)


def pick(rng: random.Random, items: list[Any]) -> Any:
    return items[rng.randrange(len(items))]


# --------------------------------------------------------------------------
# System prompts: identity, guidance and memory, as each profile has them

IDENTITY = """\
You are Hermes, a personal agent that works for Mara Duarte. You are direct,
warm and exact. You would rather do a thing than describe it: when a tool can
answer, use the tool instead of guessing. Never invent facts, links, prices,
figures or quotations. When you are not sure, say so plainly and say how the
answer could be checked. Keep answers short unless Mara asks for depth, and
never pad them with restated questions or generic advice."""

TOOL_GUIDANCE = """\
## Using tools
- Anything that changes over time (weather, news, prices, schedules, package
  versions) must come from web_search or web_extract, not from memory.
- Read files before you edit them. Prefer small, reviewable patches over
  rewriting whole files, and never touch files outside the working directory
  unless asked.
- Run commands with the terminal tool only when they are safe to repeat. Ask
  before anything that deletes data, pushes code, sends messages to other
  people or spends money.
- Use session_search to recall earlier conversations instead of asking Mara
  to repeat herself.
- When a tool fails, read the error, fix the call once, and if it fails
  again, report what you tried instead of looping.
- Save durable facts about Mara with the memory tool only when she states
  them or confirms them; never store secrets."""

FORMAT_GUIDANCE = """\
## Answer format
- Lead with the answer, then the reasoning if it is needed.
- Use lists for steps and comparisons, tables only when there are at least
  three rows and three columns, and code blocks for anything she will copy.
- Times are 24-hour Lisbon time, amounts in EUR unless stated, distances in
  kilometres.
- Cite sources as [n] with the link at the end when you used the web."""

MEMORY = """\
## Memory
Facts Mara asked you to keep:
- Lives in Lisbon (Arroios). Partner: Ana. Cat: Figo.
- Freelance backend developer (Python, PostgreSQL); main client is a
  logistics company; invoices go out on the 1st of each month.
- Runs a small online shop for her ceramics at shop.mara-ceramica.pt
  (Shopify front, her own order-export service behind it).
- Prefers concise answers, metric units and EUR. Allergic to penicillin.
- Calendar: Google Calendar 'mara@duarte.pt'; mail: same account.
- Trains at the climbing gym on Tuesdays and Thursdays at 19:00."""

HERMY = """\
## Role
You are Hermy, Mara's everyday assistant. She talks to you mostly from
Telegram on her phone, often while walking, so answers must read well on a
small screen: short paragraphs, no wide tables, no long code blocks.

## Briefings
A morning briefing has four parts in this order: today's calendar, the
weather in Lisbon (morning and afternoon, rain probability, wind if above
30 km/h), the three unread emails that most need an answer, and five tech
headlines with one line each. Leave out anything she already dismissed.

## Shop monitoring
The shop status check looks at shop.mara-ceramica.pt, the order-export
service health endpoint and the last errors of its log. Report only what is
broken or degraded, with the first error line and when it started. If all is
well, answer exactly [SILENT].

## Telegram
You are replying in a Telegram chat. Markdown is limited: bold, italics,
inline code and links work; headings do not. Keep replies under about 180
words unless she asks for more. Voice notes arrive already transcribed."""

CODI = """\
## Role
You are Codi, Mara's code reviewer and pair programmer in the terminal. The
working directory is a git repository; read the code before commenting on it.

## Reviewing
For each review, in this order:
1. Bugs and behaviour changes, with the file and line.
2. Security problems: injection, secrets, unsafe deserialisation, missing
   authorisation checks.
3. Data problems: migrations without a way back, queries inside loops,
   missing indexes on new foreign keys, naive datetimes.
4. Tests that are missing for the changed behaviour.
5. Only then style, and only when it hurts readability.
Say 'no blocking issues' when there are none; do not invent problems.

## Conventions of Mara's repositories
- Python 3.12, ruff and mypy strict, pytest with fixtures in conftest.py.
- PostgreSQL 16 through SQLAlchemy 2 Core, never the ORM session in hot
  paths. Money is Decimal, never float. Times are UTC in the database.
- Commits follow 'area: imperative summary', one concern per commit.

## Working with the terminal
Run the test suite with `make test` and a single test with
`pytest -x -k NAME`. Do not install packages globally. Stop after three
failed attempts at the same fix and explain what blocks you."""

AYVA = """\
## Role
You are Ayva, Mara's research assistant. She asks for summaries of research
literature and technical developments, usually to decide what to read in
full or whether an idea is worth trying in her own work.

## Sources
- Prefer primary sources: papers (arXiv, ACL Anthology, journals), official
  documentation and the authors' own posts. Use news coverage only to find
  the primary source.
- Read a source with web_extract before you cite it; never cite from a
  search snippet alone. Note the publication date of every source.
- When studies disagree, say so and say which has the stronger design.
- Check session_search for earlier digests so you do not repeat papers Mara
  has already seen.

## Summary format
1. A three-sentence answer to her question.
2. Key findings, each with its source [n] and the strength of evidence
   (meta-analysis, RCT, benchmark, preprint, anecdote).
3. Open questions and what would change the conclusion.
4. A reading list of at most five items, most useful first, with one line on
   why each is worth her time.
Keep the whole summary under 600 words unless she asks for a deep dive."""

SIRA = """\
## Role
You are Sira, Mara's design reviewer. She brings architecture proposals,
API designs, database schemas and ADRs for the systems she builds for her
clients, and wants a critical second opinion before she commits to them.

## How to review a design
- Restate the problem the design solves in two sentences; if you cannot,
  ask what it is before reviewing.
- Check the failure modes first: what happens on partial failure, retries,
  duplicates, clock skew, a slow dependency, a full disk.
- Check the data: ownership of each table or topic, consistency needs,
  migrations, retention and deletion, personal data and GDPR.
- Check the operations: deployment, observability, on-call load, cost at
  ten times the current volume.
- Name the two or three decisions that are hardest to reverse and say
  whether the document justifies them.
- Offer alternatives only when they are clearly better for her constraints:
  a team of one to six people, modest traffic, boring technology preferred.

## Output
Start with a verdict (approve, approve with changes, rethink), then numbered
findings by severity, then questions for the author. Quote the part of the
document each finding refers to."""

TESA = """\
## Role
You are Tesa, the data quality checker for Mara's shop. You run on a small
local model, so keep your reasoning short and let the tools do the work.

## Checks on the orders export
Read the newest file in ~/data/exports/ with execute_code (pandas is
installed) and check:
- null rate per column (fail above 1% for order_id, total, currency);
- duplicate order_id values;
- negative or zero totals, and totals above 5000 EUR;
- currency codes that are not ISO 4217;
- created_at in the future or older than the previous export;
- row count within 40% of the 7-day average in ~/data/exports/stats.json.

## Output
A table of failed checks with columns check, count, example. If nothing
failed, one line: 'All checks passed' with the row count. Never print whole
rows: they contain customer names and addresses."""

GENERAL = """\
## Role
You are Mara's general assistant on the command line. Help with whatever she
asks: setting up Hermes itself, quick questions, calculations, drafts. For
Hermes configuration, prefer the `hermes` commands over editing config.yaml
by hand, and explain what each command changes."""


def stable_prompt(*sections: str) -> str:
    return "\n\n".join(sections)


PROMPTS = {
    "default": stable_prompt(IDENTITY, GENERAL, TOOL_GUIDANCE, FORMAT_GUIDANCE, MEMORY),
    "hermy": stable_prompt(IDENTITY, HERMY, TOOL_GUIDANCE, FORMAT_GUIDANCE, MEMORY),
    "codi": stable_prompt(IDENTITY, CODI, TOOL_GUIDANCE, MEMORY),
    "ayva": stable_prompt(IDENTITY, AYVA, TOOL_GUIDANCE, FORMAT_GUIDANCE, MEMORY),
    "sira": stable_prompt(IDENTITY, SIRA, TOOL_GUIDANCE, FORMAT_GUIDANCE, MEMORY),
    "tesa": stable_prompt(IDENTITY, TESA, MEMORY),
}


# --------------------------------------------------------------------------
# Cron


def cron_job(
    name: str,
    prompt: str,
    schedule: str,
    model: Model,
    created: datetime,
    deleted: datetime | None = None,
    deliver: str | None = None,
) -> Spec:
    job: Spec = {
        "id": job_id(name),
        "name": name,
        "prompt": prompt,
        "schedule": schedule,
        "model": model.name,
        "provider": model.provider,
        "base_url": model.base_url,
        "created_at": created.timestamp(),
    }
    if deliver == "telegram":
        job["deliver"] = "origin"
        job["origin"] = {
            "platform": "telegram",
            "chat_id": CHAT_ID,
            "chat_name": "Mara Duarte",
            "chat_type": "dm",
            "user_id": CHAT_ID,
        }
    elif deliver is not None:
        job["deliver"] = deliver
    if deleted is not None:
        job["deleted_at"] = deleted.timestamp()
    return job


def fire_times(
    rng: random.Random,
    job: Spec,
    days: list[date],
    hours: list[int],
    weekdays: set[int] | None = None,
) -> list[datetime]:
    """When the ticker starts each run: the slot plus a few seconds of lag."""
    created = job["created_at"]
    deleted = job.get("deleted_at", float("inf"))
    times = []
    for day in days:
        if weekdays is not None and day.weekday() not in weekdays:
            continue
        for hour in hours:
            slot = at(day, hour, 0, rng.uniform(1.0, 48.0))
            if created < slot.timestamp() < deleted:
                times.append(slot)
    return times


def cron_session(
    rng: random.Random,
    job: Spec,
    start: datetime,
    stable: str,
    warm: bool = True,
) -> SessionBuilder:
    builder = new_session(rng, "cron", start, MODELS[job["model"]], stable, warm)
    builder.fields["cron_job"] = job["id"]
    builder.user(None)
    return builder


def tool(
    name: str, arguments: dict[str, Any], result: str, tokens: int, seconds: float
) -> Tool:
    return Tool(name, arguments, result, tokens, round(seconds, 1))


# --------------------------------------------------------------------------
# hermy: briefings, shop status, parcel tracking and Telegram chat

BRIEFING_PROMPT = (
    "Prepare my morning briefing for today: my calendar for today, the weather "
    "in Lisbon this morning and this afternoon, the three unread emails that "
    "most need an answer, and the top 5 tech headlines. Keep it under 250 "
    "words and put the calendar first."
)
STATUS_PROMPT = (
    "Check shop.mara-ceramica.pt and the order-export service: HTTP status of "
    "the home page and of https://export.mara-ceramica.pt/health, and the last "
    "20 lines of ~/logs/export/error.log. Report only problems; otherwise "
    "answer exactly [SILENT]."
)
PARCEL_PROMPT = (
    "Check the CTT tracking page for parcel RR482913377PT and tell me whether "
    "its status changed since the last check. One line if nothing changed."
)
EVENTS = [
    "09:30 call with Rui (logistics client), weekly sync",
    "11:00 dentist, Rua Morais Soares",
    "13:00 lunch with Ana",
    "15:00 kiln firing at the studio",
    "16:30 invoice review with the accountant",
    "19:00 climbing gym",
    "10:00 pair session on the routing service",
    "18:00 pick up glaze order at Cerâmica Arte",
]
HEADLINES = [
    "EU AI Act: first transparency obligations apply to general-purpose models",
    "PostgreSQL 19 beta adds built-in sharded tables",
    "Raspberry Pi 6 announced with an NPU and 16 GB RAM",
    "Python 3.15 final freezes the free-threaded ABI",
    "Cloudflare outage takes down DNS for 40 minutes",
    "Mistral releases a 3B model with 128k context",
    "GitHub makes code review agents generally available",
    "Portugal's first 5G standalone network goes live in Porto",
    "SQLite adds native JSONB indexing",
    "OpenAI cuts prices of its mini models again",
]
SENDERS = [
    ("Rui Marques", "Route optimiser: new depot constraints"),
    ("Shopify", "Payout of 412.80 EUR scheduled"),
    ("Ana", "Dinner Saturday with Inês and Tomás?"),
    ("Finanças", "Aviso: declaração periódica de IVA"),
    ("Cerâmica Arte", "Your glaze order is ready"),
    ("GitHub", "[invoice-parser] CI failed on main"),
    ("Joana (gallery)", "Christmas market stand, confirm by Friday"),
]


def briefing_reply(rng: random.Random, day: date) -> str:
    events = sorted(rng.sample(EVENTS, rng.randint(1, 3)))
    morning = rng.randint(9, 15)
    afternoon = morning + rng.randint(2, 6)
    rain = rng.choice([0, 5, 10, 20, 40, 70, 85])
    mails = rng.sample(SENDERS, 3)
    news = rng.sample(HEADLINES, 5)
    lines = [f"*{day.strftime('%A %d %B')}*", "", "*Calendar*"]
    lines += [f"• {event}" for event in events]
    lines += [
        "",
        f"*Weather* {morning}°C in the morning, {afternoon}°C in the afternoon, "
        f"{rain}% chance of rain.",
        "",
        "*Emails to answer*",
    ]
    lines += [f"• {who}: {subject}" for who, subject in mails]
    lines += ["", "*Tech*"]
    lines += [f"{n}. {headline}" for n, headline in enumerate(news, 1)]
    return "\n".join(lines)


def briefing_run(rng: random.Random, job: Spec, start: datetime) -> Spec:
    b = cron_session(rng, job, start, PROMPTS["hermy"], warm=rng.random() < 0.6)
    day = start.date().isoformat()
    b.tools(
        [
            tool(
                "mcp_gcal_list_events",
                {"calendar": "mara@duarte.pt", "date": day},
                "3 events",
                rng.randint(300, 900),
                rng.uniform(0.6, 1.8),
            ),
            tool(
                "web_search",
                {"query": f"Lisbon weather {day} hourly"},
                "IPMA forecast for Lisboa ...",
                rng.randint(700, 1300),
                rng.uniform(1.0, 2.6),
            ),
            tool(
                "mcp_gmail_search",
                {"query": "is:unread newer_than:2d", "max_results": 20},
                "14 unread messages ...",
                rng.randint(1400, 2800),
                rng.uniform(0.8, 2.0),
            ),
        ]
    )
    b.tools(
        [
            tool(
                "web_search",
                {"query": "top technology news today"},
                "Results from 8 sources ...",
                rng.randint(1000, 1800),
                rng.uniform(1.0, 2.4),
            )
        ]
    )
    b.reply(briefing_reply(rng, start.date()))
    return b.build()


def status_run(rng: random.Random, job: Spec, start: datetime, broken: bool) -> Spec:
    b = cron_session(rng, job, start, PROMPTS["hermy"], warm=rng.random() < 0.9)
    b.tools(
        [
            tool(
                "terminal",
                {
                    "command": "curl -s -o /dev/null -w '%{http_code}' "
                    "https://shop.mara-ceramica.pt"
                },
                "200",
                12,
                rng.uniform(0.4, 1.2),
            ),
            tool(
                "terminal",
                {"command": "curl -s https://export.mara-ceramica.pt/health"},
                '{"status": "degraded", "db": "timeout"}'
                if broken
                else '{"status": "ok", "queue": 0}',
                30,
                rng.uniform(0.3, 0.9),
            ),
        ]
    )
    if not broken:
        b.reply("[SILENT]", output=rng.randint(4, 9))
        return b.build()
    b.tools(
        [
            tool(
                "terminal",
                {"command": "tail -n 20 ~/logs/export/error.log"},
                "psycopg.OperationalError: connection timeout expired ...",
                rng.randint(600, 1400),
                rng.uniform(0.2, 0.6),
            )
        ]
    )
    b.reply(
        "⚠️ Order export is *degraded*: the health endpoint reports a database "
        "timeout, and error.log shows `psycopg.OperationalError: connection "
        f"timeout expired` since {start.strftime('%H:%M')}. The shop front is "
        "up (HTTP 200); new orders are queued, not lost."
    )
    return b.build()


PARCEL_STATES = [
    "Accepted – Lisboa CPL",
    "In transit – Centro de Distribuição Cabo Ruivo",
    "In transit – Centro de Distribuição Cabo Ruivo",
    "Out for delivery – Lisboa 1170",
    "Delivery failed – recipient absent, notice left",
    "Awaiting pickup – Loja CTT Praça do Chile",
]


def parcel_run(rng: random.Random, job: Spec, start: datetime, state: int) -> Spec:
    b = cron_session(rng, job, start, PROMPTS["hermy"], warm=rng.random() < 0.5)
    page = rng.randint(9000, 16000)
    b.tools(
        [
            tool(
                "web_extract",
                {
                    "urls": [
                        "https://www.ctt.pt/feapl_2/app/open/objectSearch/"
                        "objectSearch.jspx?objects=RR482913377PT"
                    ]
                },
                f"Status: {PARCEL_STATES[state]}",
                rng.randint(250, 500),
                rng.uniform(2.0, 5.0),
            )
        ]
    )
    b.side("web_extract", MODELS["deepseek-chat"], page, rng.randint(150, 400))
    changed = state > 0 and PARCEL_STATES[state] != PARCEL_STATES[state - 1]
    if changed:
        b.reply(f"📦 RR482913377PT changed: {PARCEL_STATES[state]}.")
    else:
        b.reply(f"No change: {PARCEL_STATES[state]}.")
    return b.build()


PEER = {
    "user_id": CHAT_ID,
    "chat_id": CHAT_ID,
    "chat_type": "dm",
    "user_name": "Mara",
    "chat_name": "Mara Duarte",
}
WEATHER_EXACT = "What's the weather tomorrow in Lisbon?"
WEATHER_PARAPHRASES = [
    "Will it rain in Lisbon tomorrow?",
    "Do I need an umbrella tomorrow?",
    "How's the weather looking for tomorrow in Lisbon?",
    "tomorrow's forecast for lisbon pls",
]


def search(rng: random.Random, query: str, low: int = 700, high: int = 1600) -> Tool:
    return tool(
        "web_search",
        {"query": query},
        f"8 results for '{query}' ...",
        rng.randint(low, high),
        rng.uniform(0.9, 2.5),
    )


def chat_weather(rng: random.Random, b: SessionBuilder, text: str) -> str:
    b.user(text)
    b.tools([search(rng, "IPMA Lisboa previsão amanhã")])
    low, high = rng.randint(8, 13), rng.randint(15, 21)
    rain = rng.choice([5, 10, 30, 60, 80])
    umbrella = "Take an umbrella." if rain >= 50 else "No umbrella needed."
    b.reply(
        f"Tomorrow in Lisbon: {low}–{high}°C, {rain}% chance of rain, mostly "
        f"in the afternoon. {umbrella}"
    )
    return "Lisbon weather tomorrow"


def chat_emails(rng: random.Random, b: SessionBuilder, text: str) -> str:
    b.user(text)
    b.tools(
        [
            tool(
                "mcp_gmail_search",
                {"query": "is:unread", "max_results": 25},
                "11 unread messages ...",
                rng.randint(1800, 3200),
                rng.uniform(0.8, 1.8),
            )
        ]
    )
    mails = rng.sample(SENDERS, 4)
    lines = [f"• *{who}* – {subject}" for who, subject in mails]
    b.reply("You have 11 unread emails. Worth a reply:\n" + "\n".join(lines))
    return "Unread emails summary"


def chat_currency(rng: random.Random, b: SessionBuilder, amount: int) -> str:
    b.user(f"Convert {amount} EUR to USD at today's rate")
    b.tools([search(rng, "EUR USD exchange rate today", 400, 900)])
    rate = round(rng.uniform(1.05, 1.12), 4)
    b.reply(f"{amount} EUR ≈ {amount * rate:,.2f} USD (1 EUR = {rate} USD, ECB).")
    return f"{amount} EUR in USD"


def chat_drive(rng: random.Random, b: SessionBuilder, origin: str, to: str) -> str:
    b.user(f"How long is the drive from {origin} to {to}?")
    b.tools([search(rng, f"driving time {origin} {to} A1")])
    minutes = rng.randint(2, 25)
    b.reply(
        f"About 3 h {minutes:02d} min for 313 km on the A1, tolls about 22 EUR. "
        "Leave before 17:00 on a Friday to miss the traffic near Coimbra."
    )
    return f"Drive {origin} to {to}"


def chat_prime(rng: random.Random, b: SessionBuilder, number: int) -> str:
    b.user(f"Is {number} a prime number?")
    factors = [p for p in range(2, int(number**0.5) + 1) if number % p == 0]
    if factors:
        reply = f"No: {number} = {factors[0]} × {number // factors[0]}."
    else:
        reply = f"Yes, {number} is prime (no divisor up to √{number} ≈ 89)."
    b.reply(reply)
    return f"Is {number} prime"


def chat_interest(rng: random.Random, b: SessionBuilder, text: str) -> str:
    b.user(text)
    total = 5000 * (1 + 0.032 / 12) ** 48
    b.reply(
        f"After 4 years you would have {total:,.2f} EUR: 5000 × (1 + 0.032/12)^48. "
        f"That is {total - 5000:,.2f} EUR of interest before the 28% tax."
    )
    return "Compound interest 5000 EUR"


def chat_bill(rng: random.Random, b: SessionBuilder, text: str) -> str:
    b.user(text)
    b.reply("137.60 × 1.10 = 151.36 EUR in total, so 30.27 EUR each.")
    return "Splitting the dinner bill"


def chat_draft(rng: random.Random, b: SessionBuilder, text: str) -> str:
    b.user(text)
    b.reply(
        "Olá Joana! Yes, count me in for the Christmas market stand 🎄. "
        "Could you tell me the table size, and whether there is power at the "
        "stand? I'd like to bring a small lamp for the glazes. Beijinhos, Mara"
    )
    return "Reply to Joana about the market"


def chat_ramen(rng: random.Random, b: SessionBuilder, text: str) -> str:
    b.user(text)
    b.tools([search(rng, "ramen Saldanha Lisboa aberto depois 22h")])
    b.tools(
        [
            tool(
                "web_extract",
                {"urls": ["https://www.zomato.com/lisboa/ramen"]},
                "Opening hours and addresses of 6 places ...",
                rng.randint(600, 1200),
                rng.uniform(2.0, 4.5),
            )
        ]
    )
    b.side("web_extract", MODELS["deepseek-chat"], rng.randint(8000, 15000), 420)
    b.reply(
        "Two options open after 22:00 near Saldanha: *Ramen Kazuki* (Av. "
        "Duque de Ávila, until 23:30) and *Koya* (Rua Tomás Ribeiro, until "
        "midnight on Fri/Sat)."
    )
    return "Late ramen near Saldanha"


def chat_shopping(rng: random.Random, b: SessionBuilder, text: str) -> str:
    b.user(text)
    b.tools(
        [
            tool(
                "todo",
                {"action": "add", "items": ["oat milk", "coffee filters"]},
                "2 items added to 'shopping'",
                40,
                0.2,
            )
        ],
        output=60,
    )
    b.reply("Added oat milk and coffee filters to your shopping list.")
    return "Shopping list"


def chat_translate(rng: random.Random, b: SessionBuilder, text: str) -> str:
    b.user(text)
    b.reply("„Die Rechnung ist beigefügt.“ (formal: „Anbei finden Sie die Rechnung.“)")
    return "Invoice attached in German"


def chat_match(rng: random.Random, b: SessionBuilder, text: str) -> str:
    b.user(text)
    b.tools([search(rng, "Benfica próximo jogo sábado hora")])
    b.reply("Benfica – Sporting de Braga on Saturday at 20:30, Estádio da Luz, on BTV.")
    return "Benfica on Saturday"


def chat_marbles(rng: random.Random, b: SessionBuilder, text: str) -> str:
    """Mara sends /model deepseek-reasoner (a gateway command), then asks."""
    b.user(text)
    b.switch(MODELS["deepseek-reasoner"], "gateway")
    b.reply(
        "P(exactly 2 red) = C(5,2)·C(7,2) / C(12,4) = 10·21 / 495 = 210/495 "
        "≈ 0.424, so about 42%.",
        reasoning=rng.randint(1400, 2600),
    )
    return "Marbles probability"


CHAT_TOPICS: list[tuple[int, Callable[[random.Random, SessionBuilder], str]]] = [
    (7, lambda rng, b: chat_weather(rng, b, WEATHER_EXACT)),
    (4, lambda rng, b: chat_weather(rng, b, pick(rng, WEATHER_PARAPHRASES))),
    (5, lambda rng, b: chat_emails(rng, b, "Summarize my unread emails")),
    (2, lambda rng, b: chat_currency(rng, b, 250)),
    (2, lambda rng, b: chat_currency(rng, b, 520)),
    (2, lambda rng, b: chat_drive(rng, b, "Lisbon", "Porto")),
    (2, lambda rng, b: chat_drive(rng, b, "Porto", "Lisbon")),
    (1, lambda rng, b: chat_prime(rng, b, 7919)),
    (1, lambda rng, b: chat_prime(rng, b, 7917)),
    (
        2,
        lambda rng, b: chat_interest(
            rng,
            b,
            "If I put 5,000 EUR at 3.2% a year compounded monthly, how much "
            "will I have after 4 years?",
        ),
    ),
    (
        2,
        lambda rng, b: chat_bill(
            rng, b, "Dinner was 137.60 EUR for 5 people plus a 10% tip. How much each?"
        ),
    ),
    (
        2,
        lambda rng, b: chat_draft(
            rng,
            b,
            "Draft a short reply to Joana saying yes to the Christmas market "
            "stand and asking about the table size",
        ),
    ),
    (
        2,
        lambda rng, b: chat_ramen(
            rng, b, "Find a ramen place near Saldanha open after 22:00"
        ),
    ),
    (
        2,
        lambda rng, b: chat_shopping(
            rng, b, "Add oat milk and coffee filters to my shopping list"
        ),
    ),
    (
        2,
        lambda rng, b: chat_translate(
            rng, b, "How do I say 'the invoice is attached' in German?"
        ),
    ),
    (2, lambda rng, b: chat_match(rng, b, "What time does Benfica play on Saturday?")),
]


def chat_session(rng: random.Random, times: list[datetime], with_switch: bool) -> Spec:
    """One day of Telegram chat: the gateway resets the session daily at 04:00."""
    deepseek = MODELS["deepseek-chat"]
    warm = rng.random() < 0.7
    b = new_session(rng, "telegram", times[0], deepseek, PROMPTS["hermy"], warm)
    weights = [weight for weight, _ in CHAT_TOPICS]
    topics = [topic for _, topic in CHAT_TOPICS]
    title = ""
    for number, moment in enumerate(times):
        b.next_turn_at = moment.timestamp()
        if with_switch and number == len(times) - 1:
            chat_marbles(
                rng,
                b,
                "A bag has 5 red and 7 blue marbles and I draw 4 without "
                "replacement. What's the probability of exactly 2 red?",
            )
            continue
        topic_title = rng.choices(topics, weights)[0](rng, b)
        if number == 0:
            title = topic_title
            prompt = rng.randint(260, 620)
            b.side("title_generation", deepseek, prompt, rng.randint(7, 15))
    return b.build(peer=PEER, title=title)


def hermy(rng: random.Random, days: list[date]) -> Spec:
    deepseek = MODELS["deepseek-chat"]
    briefing = cron_job(
        "Morning briefing",
        BRIEFING_PROMPT,
        "0 7 * * *",
        deepseek,
        at(days[0], 9, 14, 31),
        deliver="telegram",
    )
    status = cron_job(
        "Shop status check",
        STATUS_PROMPT,
        "0 * * * *",
        deepseek,
        at(days[min(21, len(days) - 1)], 14, 20, 7),
        deliver="telegram",
    )
    parcel = cron_job(
        "Parcel tracker",
        PARCEL_PROMPT,
        "0 9,13,18 * * *",
        deepseek,
        at(days[min(3, len(days) - 1)], 10, 5, 12),
        deleted=at(days[min(15, len(days) - 1)], 20, 31, 40),
        deliver="telegram",
    )
    sessions = [
        briefing_run(rng, briefing, t) for t in fire_times(rng, briefing, days, [7])
    ]
    for t in fire_times(rng, status, days, list(range(24))):
        sessions.append(status_run(rng, status, t, broken=rng.random() < 0.04))
    parcel_times = fire_times(rng, parcel, days, [9, 13, 18])
    for index, t in enumerate(parcel_times):
        state = min(
            len(PARCEL_STATES) - 1, index * len(PARCEL_STATES) // len(parcel_times)
        )
        sessions.append(parcel_run(rng, parcel, t, state))
    sessions += chat_sessions(rng, days)
    return {
        "name": "hermy",
        "created_at": at(days[0], 8, 52, 3).timestamp(),
        "description": "Everyday assistant on Telegram: briefings, shop checks",
        "cron_jobs": [briefing, status, parcel],
        "sessions": sessions,
    }


def chat_sessions(rng: random.Random, days: list[date]) -> list[Spec]:
    """Telegram chats; a day's session ends when the next day's first message
    resets it (reset mode 'daily'); the last one is still open."""
    per_day = []
    for day in days:
        hours = sorted(rng.sample(range(8, 23), rng.choice([0, 1, 2, 2, 3, 4])))
        times = [
            at(day, hour, rng.randint(0, 50), rng.uniform(0, 59)) for hour in hours
        ]
        if times:
            per_day.append(times)
    switch_day = len(per_day) // 2
    chats = [
        chat_session(rng, times, index == switch_day)
        for index, times in enumerate(per_day)
    ]
    for chat, following in zip(chats, per_day[1:], strict=False):
        chat["ended_at"] = following[0].timestamp() - 0.4
        chat["end_reason"] = "daily"
    return chats


# --------------------------------------------------------------------------
# codi: code review in the terminal, mostly on a local model

REPOS = [
    "/home/mara/src/shop-export",
    "/home/mara/src/invoice-parser",
    "/home/mara/src/route-planner",
]
STAGED_REVIEW = (
    "Review the staged changes and point out anything risky before I commit."
)
SNIPPETS = {
    "totals": """\
def order_totals(conn, customer_ids):
    totals = {}
    for cid in customer_ids:
        rows = conn.execute(
            "SELECT amount FROM orders WHERE customer_id = %s" % cid
        ).fetchall()
        totals[cid] = sum(float(r[0]) for r in rows)
    return totals""",
    "parse_amount": '''\
def parse_amount(text: str) -> Decimal:
    """Parse '1.234,56 €' or '1,234.56 EUR' into a Decimal."""
    cleaned = text.replace("€", "").replace("EUR", "").strip()
    if "," in cleaned and cleaned.rfind(",") > cleaned.rfind("."):
        cleaned = cleaned.replace(".", "").replace(",", ".")
    return Decimal(cleaned.replace(",", ""))''',
    "retry": """\
async def fetch_with_retry(client, url, attempts=5):
    for attempt in range(attempts):
        try:
            response = await client.get(url, timeout=10)
            response.raise_for_status()
            return response.json()
        except Exception:
            time.sleep(2 ** attempt)
    raise RuntimeError(f"gave up on {url}")""",
    "cache": """\
_cache = {}

def get_rate(currency, day=datetime.now().date()):
    key = (currency, day)
    if key not in _cache:
        _cache[key] = requests.get(f"{ECB_URL}/{currency}/{day}").json()["rate"]
    return _cache[key]""",
}
BIG_O_SNIPPETS = [
    """\
def has_pair(values, target):
    seen = set()
    for v in sorted(values):
        if target - v in seen:
            return True
        seen.add(v)
    return False""",
    """\
def has_pair(values, target):
    for i, a in enumerate(values):
        for b in values[i + 1:]:
            if a + b == target:
                return True
    return False""",
]
TRACEBACK = """\
FAILED tests/test_amounts.py::test_parse_amount_with_thousands_separator
    assert parse_amount("1.234.567,89 €") == Decimal("1234567.89")
E   decimal.InvalidOperation: [<class 'decimal.ConversionSyntax'>]
tests/test_amounts.py:41: InvalidOperation"""

REVIEW_REPLIES = {
    "totals": (
        "Blocking:\n1. SQL injection: `%` formatting puts `cid` into the query; "
        "pass it as a parameter.\n2. N+1 queries: one query per customer. Use "
        "`SELECT customer_id, SUM(amount) FROM orders WHERE customer_id = "
        "ANY(%s) GROUP BY customer_id`.\n3. Money as float: keep `Decimal`."
        "\n\nSuggested version:\n```python\ndef order_totals(conn, customer_ids):"
        '\n    rows = conn.execute(\n        "SELECT customer_id, SUM(amount) FROM '
        'orders WHERE customer_id = ANY(%s) GROUP BY customer_id",\n        '
        "(list(customer_ids),),\n    ).fetchall()\n    return {cid: total for "
        "cid, total in rows}\n```"
    ),
    "parse_amount": (
        "Bug: with two or more thousands separators ('1.234.567,89') the "
        "European branch works, but '1,234,567.89' leaves nothing to split on "
        "when there is no decimal part, and '12,5' becomes 125. Handle the "
        "three shapes explicitly and add tests for '12,5', '1.234' and "
        "'1,234,567'. Also strip NBSP (\\u00a0) that bank exports use."
    ),
    "retry": (
        "Blocking: `time.sleep` inside an async function blocks the event "
        "loop; use `await asyncio.sleep`. Catching bare `Exception` also "
        "retries 4xx errors that will never succeed: retry only on "
        "`httpx.TransportError` and 5xx. Add jitter to the backoff."
    ),
    "cache": (
        "Blocking: the default `day=datetime.now().date()` is evaluated once "
        "at import, so a long-running worker asks for the same day forever. "
        "Use `day: date | None = None` and compute it inside. The module-level "
        "dict also grows without bound; use `functools.lru_cache(maxsize=512)`."
    ),
}


def read_tool(rng: random.Random, path: str) -> Tool:
    return tool(
        "read_file",
        {"path": path},
        f"{path} ({rng.randint(40, 400)} lines)",
        rng.randint(500, 2600),
        rng.uniform(0.05, 0.3),
    )


def terminal(
    rng: random.Random, command: str, result: str, low: int, high: int
) -> Tool:
    return tool(
        "terminal",
        {"command": command},
        result,
        rng.randint(low, high),
        rng.uniform(0.3, 6.0),
    )


def review_staged(rng: random.Random, b: SessionBuilder) -> str:
    b.user(STAGED_REVIEW)
    diff = terminal(rng, "git diff --staged", "diff --git a/... (3 files)", 900, 4200)
    b.tools([diff, terminal(rng, "git status --short", "M  export/jobs.py", 20, 60)])
    if rng.random() < 0.5:
        b.tools([read_tool(rng, "export/jobs.py")])
    b.reply(
        pick(
            rng,
            [
                "No blocking issues. Two notes: `export_batch` now swallows "
                "`KeyError` silently — log it; and the new migration adds a "
                "foreign key without an index on `orders.batch_id`.",
                "Risky: the staged change renames `created` to `created_at` in "
                "the API response without a deprecation period; the shop front "
                "still reads `created`. Keep both fields for one release.",
                "One bug: `timezone.utc` is compared with a naive datetime in "
                "`is_stale()`, which raises TypeError at runtime. Otherwise fine.",
            ],
        ),
        output=rng.randint(180, 520),
    )
    return "Review of staged changes"


def review_snippet(rng: random.Random, b: SessionBuilder, name: str) -> str:
    b.user(f"Review this function:\n\n```python\n{SNIPPETS[name]}\n```")
    b.reply(REVIEW_REPLIES[name], output=rng.randint(250, 700))
    return f"Review of {name}"


def failing_test(rng: random.Random, b: SessionBuilder) -> str:
    b.user(f"Why does this test fail?\n\n```\n{TRACEBACK}\n```")
    b.tools([read_tool(rng, "invoice_parser/amounts.py")])
    b.reply(REVIEW_REPLIES["parse_amount"], output=rng.randint(200, 500))
    return "Failing amount parsing test"


def big_o(rng: random.Random, b: SessionBuilder, index: int) -> str:
    b.user(f"Is this O(n log n) or O(n^2)?\n\n```python\n{BIG_O_SNIPPETS[index]}\n```")
    if index == 0:
        answer = (
            "O(n log n): the sort dominates; the loop is O(n) with O(1) set "
            "lookups. Without the sort it would be O(n)."
        )
    else:
        answer = (
            "O(n^2): the nested loop compares every pair, n(n-1)/2 sums, and "
            "`values[i + 1:]` also copies the list each time."
        )
    b.reply(answer, output=rng.randint(80, 220))
    return "Complexity of has_pair"


def regex(rng: random.Random, b: SessionBuilder, example: str, pattern: str) -> str:
    b.user(f"Write a regex that matches dates like {example}")
    b.reply(f"```\n{pattern}\n```\nIt checks the shape only, not that the day exists.")
    return f"Regex for dates like {example}"


def collisions(rng: random.Random, b: SessionBuilder) -> str:
    b.user(
        "What's the probability of at least one collision when hashing 10,000 "
        "keys into 2^32 buckets?"
    )
    b.reply(
        "About 1.16%: p ≈ 1 − exp(−n(n−1)/(2m)) with n = 10,000 and "
        "m = 2^32 gives 1 − exp(−0.01164) ≈ 0.0116.",
        output=rng.randint(120, 260),
    )
    return "Hash collision probability"


def write_test(rng: random.Random, b: SessionBuilder) -> str:
    b.user("Write pytest cases for parse_duration in invoice_parser/durations.py")
    b.tools([read_tool(rng, "invoice_parser/durations.py")])
    b.tools(
        [
            tool(
                "write_file",
                {"path": "tests/test_durations.py", "content": "import pytest ..."},
                "wrote 48 lines",
                30,
                0.1,
            )
        ],
        output=rng.randint(600, 1100),
    )
    b.tools([terminal(rng, "pytest -x tests/test_durations.py", "8 passed", 80, 240)])
    b.reply(
        "Added tests/test_durations.py with 8 cases (minutes, hours, '1h30', "
        "ISO 8601 'PT2H', zero, negative, garbage, whitespace). All pass.",
        output=rng.randint(90, 200),
    )
    return "Tests for parse_duration"


def codi_topics() -> list[tuple[int, Callable[[random.Random, SessionBuilder], str]]]:
    return [
        (6, review_staged),
        (3, lambda rng, b: review_snippet(rng, b, "totals")),
        (2, lambda rng, b: review_snippet(rng, b, "parse_amount")),
        (2, lambda rng, b: review_snippet(rng, b, "retry")),
        (2, lambda rng, b: review_snippet(rng, b, "cache")),
        (3, failing_test),
        (1, lambda rng, b: big_o(rng, b, 0)),
        (1, lambda rng, b: big_o(rng, b, 1)),
        (
            1,
            lambda rng, b: regex(
                rng, b, "2026-11-03", r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
            ),
        ),
        (
            1,
            lambda rng, b: regex(
                rng, b, "03/11/2026", r"^(0[1-9]|[12]\d|3[01])/(0[1-9]|1[0-2])/\d{4}$"
            ),
        ),
        (1, collisions),
        (2, write_test),
    ]


def codi_session(rng: random.Random, start: datetime) -> Spec:
    local = rng.random() < 0.8
    model = MODELS["qwen2.5-coder-3b" if local else "gpt-4.1-mini"]
    b = new_session(rng, "cli", start, model, PROMPTS["codi"], rng.random() < 0.5)
    topics = codi_topics()
    weights = [weight for weight, _ in topics]
    title = ""
    for number in range(rng.choice([1, 1, 1, 2, 2, 3])):
        topic_title = rng.choices([t for _, t in topics], weights)[0](rng, b)
        if number == 0:
            title = topic_title
            b.side("title_generation", model, rng.randint(240, 700), rng.randint(6, 14))
    b.now += rng.uniform(20, 600)
    return b.build(
        cwd=pick(rng, REPOS),
        title=title,
        ended_at=round(b.now, 3),
        end_reason="cli_close",
    )


def runaway_step(rng: random.Random, attempt: int) -> Tool:
    """Read the file, patch it, run the test: again and again."""
    if attempt % 3 == 0:
        return tool(
            "read_file",
            {"path": "invoice_parser/amounts.py", "offset": 1, "limit": 60},
            "invoice_parser/amounts.py lines 1-60",
            rng.randint(250, 600),
            0.1,
        )
    if attempt % 3 == 1:
        return tool(
            "patch",
            {"path": "invoice_parser/amounts.py", "old": "...", "new": "..."},
            "applied 1 hunk",
            40,
            0.2,
        )
    return terminal(rng, "pytest -x tests/test_amounts.py", TRACEBACK, 250, 500)


def runaway_session(rng: random.Random, start: datetime) -> Spec:
    """A local model loops on one failing test until Mara stops it."""
    model = MODELS["qwen2.5-coder-3b"]
    b = new_session(rng, "cli", start, model, PROMPTS["codi"], False)
    b.user("CI is red on main. Make the test suite pass.")
    b.tools([terminal(rng, "make test", TRACEBACK, 900, 1400)])
    compressed = False
    for attempt in range(86):
        if not compressed and b.conversation.tokens > 27_000:
            b.compress(
                model,
                "Goal: make the test suite pass. test_parse_amount_with_thousands_"
                "separator still fails with InvalidOperation after 40 attempts at "
                "editing parse_amount in invoice_parser/amounts.py.",
            )
            compressed = True
        b.tools([runaway_step(rng, attempt)], output=rng.randint(40, 200))
    b.reply(
        "I could not make test_parse_amount_with_thousands_separator pass: "
        "every change to parse_amount breaks '12,5' or '1.234.567,89'. The "
        "test expectations may need a decision on which format wins.",
        output=240,
    )
    # Titles are generated once the first exchange is over: here, at the end.
    b.side("title_generation", model, 310, 9)
    b.now += 45
    return b.build(
        cwd=REPOS[1],
        title="Make the test suite pass",
        ended_at=round(b.now, 3),
        end_reason="cli_close",
    )


def codi(rng: random.Random, days: list[date]) -> Spec:
    sessions = []
    runaway_day = days[min(19, len(days) - 1)]
    for day in days:
        count = rng.randint(2, 6) if day.weekday() < 5 else rng.choice([0, 0, 1])
        hours = sorted(rng.sample(range(9, 20), count))
        for hour in hours:
            start = at(day, hour, rng.randint(0, 40), rng.uniform(0, 59))
            sessions.append(codi_session(rng, start))
        if day == runaway_day:
            sessions.append(runaway_session(rng, at(day, 21, 7, 13)))
    return {
        "name": "codi",
        "created_at": at(days[0], 10, 3, 44).timestamp(),
        "description": "Code review and pair programming, local model first",
        "sessions": sessions,
    }


# --------------------------------------------------------------------------
# ayva: research summaries on deepseek-reasoner, with heavy side calls

RESEARCH_QUESTIONS = [
    "Summarize recent research on solid-state battery electrolytes (2024-2026).",
    "Compare RLHF and DPO for aligning small language models: key papers and findings.",
    "What is the evidence on time-restricted eating and longevity in humans?",
    "How do learned sparse retrievers (SPLADE and successors) compare with dense "
    "retrieval on BEIR?",
    "Summarize what is known about the glaze crawling defect in stoneware and "
    "how to prevent it.",
    "What are the current best practices for evaluating LLM agents on "
    "long-horizon tasks?",
    "Summarize the research on KV-cache compression for long-context inference.",
    "What does the literature say about the four-day work week and productivity?",
    "How well do small (1-4B) models do at tool calling, according to recent "
    "benchmarks?",
    "Summarize the state of post-quantum TLS deployment in 2026.",
]
DIGEST_EXACT = (
    "Weekly digest: what's new this week in retrieval-augmented generation research?"
)
DIGEST_PARAPHRASES = [
    "Any new RAG papers worth reading from the last seven days?",
    "Give me this week's highlights in retrieval-augmented generation.",
]
LORA_TOP = "Summarize the {n} most cited papers on LoRA fine-tuning."


def research_reply(rng: random.Random, question: str) -> str:
    topic = question.rstrip("?.").split(":")[0]
    return (
        f"**{topic}: short answer.** The evidence points in one direction but "
        "rests on a handful of strong studies; most of the rest are small or "
        "preprints.\n\n**Key findings**\n"
        + "\n".join(
            f"{n}. Finding {n} with effect size and setting [{n}] "
            f"({pick(rng, ['meta-analysis', 'RCT', 'benchmark', 'preprint'])})"
            for n in range(1, rng.randint(4, 7))
        )
        + "\n\n**Open questions**: replication at scale, and whether results "
        "hold outside the benchmark setting.\n\n**Reading list**: [1], [3], "
        "[4] first; skip [2] unless you need the method details."
    )


def recall(rng: random.Random, b: SessionBuilder, question: str) -> None:
    """session_search: the tool asks an auxiliary model to sum up old sessions."""
    b.tools(
        [
            tool(
                "session_search",
                {"query": question[:60]},
                "2 earlier sessions mention this topic ...",
                rng.randint(300, 700),
                rng.uniform(1.0, 3.0),
            )
        ],
        output=rng.randint(300, 700),
    )
    chat = MODELS["deepseek-chat"]
    b.side("session_search", chat, rng.randint(4000, 9000), rng.randint(250, 600))


def read_papers(rng: random.Random, b: SessionBuilder) -> None:
    """web_extract: each page is condensed by an auxiliary model call."""
    pages = rng.randint(2, 3)
    urls = [
        f"https://arxiv.org/abs/26{rng.randint(1, 11):02d}.{rng.randint(10000, 29999)}"
        for _ in range(pages)
    ]
    b.tools(
        [
            tool(
                "web_extract",
                {"urls": [url]},
                "Summary of the paper: method, results, limitations ...",
                rng.randint(600, 1400),
                rng.uniform(3.0, 9.0),
            )
            for url in urls
        ],
        output=rng.randint(350, 900),
    )
    chat = MODELS["deepseek-chat"]
    for _ in urls:
        b.side("web_extract", chat, rng.randint(9000, 24000), rng.randint(500, 1100))


def research_turn(rng: random.Random, b: SessionBuilder, question: str) -> None:
    """Recall, search, read papers, compress when long, answer."""
    b.user(question)
    if rng.random() < 0.6:
        recall(rng, b, question)
    queries = [question[:70], question[:40] + " survey 2026"]
    b.tools(
        [search(rng, query, 900, 1700) for query in queries],
        output=rng.randint(400, 900),
    )
    for _ in range(rng.randint(2, 3)):
        read_papers(rng, b)
        if b.conversation.tokens > 32_000:
            b.compress(
                MODELS["deepseek-chat"],
                f"Researching: {question} Sources read so far: six arXiv papers "
                "and two reviews; findings noted per source.",
            )
    b.reply(
        research_reply(rng, question),
        output=rng.randint(700, 1300),
        reasoning=rng.randint(1800, 4200),
    )


def ayva_session(rng: random.Random, start: datetime, question: str) -> Spec:
    reasoner = MODELS["deepseek-reasoner"]
    b = new_session(rng, "cli", start, reasoner, PROMPTS["ayva"], rng.random() < 0.5)
    research_turn(rng, b, question)
    b.side("title_generation", MODELS["deepseek-chat"], rng.randint(400, 900), 12)
    if rng.random() < 0.35:
        research_turn(rng, b, pick(rng, RESEARCH_QUESTIONS))
    b.now += rng.uniform(30, 900)
    title = question.rstrip("?.")[:60]
    return b.build(
        cwd="/home/mara/notes/research",
        title=title,
        ended_at=round(b.now, 3),
        end_reason="cli_close",
    )


def ayva(rng: random.Random, days: list[date]) -> Spec:
    sessions = []
    for index, day in enumerate(days):
        if day.weekday() == 0:
            question = DIGEST_EXACT if index % 3 else pick(rng, DIGEST_PARAPHRASES)
            sessions.append(
                ayva_session(rng, at(day, 8, 40, rng.uniform(0, 59)), question)
            )
        for _ in range(rng.choice([0, 1, 1, 2])):
            hour = rng.randint(10, 22)
            if index in (9, 23):
                question = LORA_TOP.format(n=5 if index == 9 else 10)
            else:
                question = pick(rng, RESEARCH_QUESTIONS)
            start = at(day, hour, rng.randint(0, 59), rng.uniform(0, 59))
            sessions.append(ayva_session(rng, start, question))
    return {
        "name": "ayva",
        "created_at": at(days[0], 11, 30, 9).timestamp(),
        "description": "Research summaries with sources",
        "sessions": sessions,
    }


# --------------------------------------------------------------------------
# sira: design reviews on gpt-4.1, one switch to claude-sonnet-4-5

DESIGNS = {
    "outbox": """\
# ADR 014: Order events through a transactional outbox

## Context
The shop-export service writes orders to PostgreSQL and then publishes an
`order.created` event to the carrier integration over HTTP. When the carrier
API is slow we time out after the commit and the event is lost; twice this
month a parcel was never booked.

## Decision
Write the event into an `outbox` table in the same transaction as the order.
A worker polls `SELECT ... FROM outbox WHERE sent_at IS NULL ORDER BY id
LIMIT 100 FOR UPDATE SKIP LOCKED` every 2 seconds, posts each event, and sets
`sent_at`. Failed posts are retried with exponential backoff up to 24 hours,
then moved to `outbox_dead` and reported to Telegram.

## Consequences
- At-least-once delivery: the carrier must deduplicate on `event_id`.
- One more table and one worker process to operate.
- Ordering is per order, not global.""",
    "tenancy": """\
# Design: multi-tenant billing for the route planner

Tenants are logistics companies (3 today, maybe 30 in two years). Each has
depots, vehicles and drivers. We bill per planned route per month.

Proposal: one PostgreSQL database, a `tenant_id` column on every table,
row-level security policies keyed on `current_setting('app.tenant')`, and a
`usage` table with one row per planned route (tenant_id, route_id,
planned_at, stops, km). A monthly job aggregates `usage` into `invoice_lines`
and sends the invoice through the accounting API. Reports are plain SQL
views per tenant. Backups are per database, daily, 30 days.""",
    "api": """\
# API proposal: public order-status endpoint

GET /v1/orders/{order_number}/status?email=...
Returns status, carrier, tracking number and the last 5 tracking events.
No login: the customer's email acts as the second factor. Rate limit 60
requests per minute per IP. Responses cached 60 s at the CDN. Order numbers
are sequential (MC-2026-00412). Errors: 404 when the pair does not match.""",
    "search": """\
# Design: product search for the shop

Replace Shopify's built-in search with our own: nightly export of 340
products to a SQLite FTS5 index served by a small FastAPI app on the same VPS
as the export service, with typo tolerance via trigram matching and synonyms
(jarra = jar = vase). The shop front calls it from the browser. If the app is
down, the front falls back to Shopify search.""",
}
DESIGN_VERDICTS = [
    "**Verdict: approve with changes.**",
    "**Verdict: rethink.**",
    "**Verdict: approve.**",
]
MONOLITH = (
    "What are the trade-offs between a modular monolith and microservices for "
    "a team of six?"
)


def design_reply(rng: random.Random, name: str) -> str:
    findings = "\n".join(
        f"{n}. ({pick(rng, ['high', 'medium', 'low'])}) Finding about the "
        f"{name} design, quoting the relevant line, with a concrete fix."
        for n in range(1, rng.randint(4, 8))
    )
    return (
        f"{pick(rng, DESIGN_VERDICTS)}\n\n{findings}\n\nQuestions for the "
        "author: what is the expected volume in two years, and who is on call?"
    )


def second_opinion(rng: random.Random, b: SessionBuilder, start: datetime) -> None:
    """The CLI /model switch to Claude, whose prompt cache starts cold."""
    claude = MODELS["claude-sonnet-4-5"]
    b.user("Let's get a second opinion from Claude on the retry part.", (30, 90))
    b.switch(claude, "cli", with_volatile_tail(PROMPTS["sira"], start, claude))
    b.reply(
        "Second opinion on retries: backoff up to 24 h is fine, but without "
        "a per-event attempt counter the dead-letter move cannot be "
        "decided; add `attempts` and `next_attempt_at` to the outbox row.",
        output=rng.randint(500, 900),
    )
    for text in (
        "Would you poll or use LISTEN/NOTIFY for the worker?",
        "Draft the worker loop in Python.",
        "What should the alert in Telegram say?",
    ):
        b.user(text, pause=(40, 300))
        b.reply(
            "Considered answer from the second reviewer ...", rng.randint(350, 1100)
        )


def sira_session(
    rng: random.Random, start: datetime, name: str, switch: bool = False
) -> Spec:
    gpt = MODELS["gpt-4.1"]
    mini = MODELS["gpt-4.1-mini"]
    b = new_session(rng, "cli", start, gpt, PROMPTS["sira"], rng.random() < 0.4)
    b.user(f"Review this design critically:\n\n{DESIGNS[name]}")
    if rng.random() < 0.5:
        b.tools([read_tool(rng, f"docs/{name}.md")], output=rng.randint(60, 140))
    b.reply(design_reply(rng, name), output=rng.randint(700, 1500))
    b.side("title_generation", mini, rng.randint(700, 1400), rng.randint(7, 14))
    follow_ups = [
        "Which of these would you fix first if I only have two days?",
        "Write the migration for your first suggestion.",
        "How would this behave if the database fails over mid-transaction?",
        "Give me a simpler alternative with fewer moving parts.",
    ]
    for _ in range(rng.randint(1, 3)):
        b.user(pick(rng, follow_ups), pause=(60, 600))
        b.reply(
            "Start with the finding that can lose data; the rest can wait. "
            + pick(rng, ["Here is why ...", "Concretely ...", "In order ..."]),
            output=rng.randint(300, 900),
        )
    if switch:
        second_opinion(rng, b, start)
    b.now += rng.uniform(60, 900)
    return b.build(
        cwd="/home/mara/work/design-docs",
        title=f"Design review: {name}",
        ended_at=round(b.now, 3),
        end_reason="cli_close",
    )


def storage_question(rng: random.Random, start: datetime, orders: str) -> Spec:
    gpt = MODELS["gpt-4.1"]
    b = new_session(rng, "cli", start, gpt, PROMPTS["sira"], rng.random() < 0.4)
    b.user(
        f"Estimate the storage for {orders} orders a year at 3 KB each, kept "
        "for 7 years, with indexes adding 40%."
    )
    count = 2_000_000 if orders == "2 million" else 20_000_000
    total_gb = count * 3 * 7 * 1.4 / 1_000_000
    b.reply(f"About {total_gb:,.1f} GB: {count:,} × 3 KB × 7 years × 1.4.", 140)
    b.now += rng.uniform(30, 300)
    return b.build(
        cwd="/home/mara/work/design-docs",
        title=f"Storage for {orders} orders",
        ended_at=round(b.now, 3),
        end_reason="cli_close",
    )


def monolith_question(rng: random.Random, start: datetime) -> Spec:
    gpt = MODELS["gpt-4.1"]
    b = new_session(rng, "cli", start, gpt, PROMPTS["sira"], rng.random() < 0.4)
    b.user(MONOLITH)
    b.reply(
        "For six people, a modular monolith: one deployable, clear module "
        "boundaries enforced by imports, one database with schemas per module. "
        "Split a module out only when it needs its own scaling or release "
        "cadence.",
        output=rng.randint(500, 900),
    )
    b.now += rng.uniform(30, 300)
    return b.build(
        cwd="/home/mara/work/design-docs",
        ended_at=round(b.now, 3),
        end_reason="cli_close",
    )


def sira(rng: random.Random, days: list[date]) -> Spec:
    sessions = []
    weekdays = [day for day in days if day.weekday() < 5]
    switch_day = weekdays[len(weekdays) // 2]
    for index, day in enumerate(weekdays):
        for _ in range(rng.choice([0, 1, 1, 2])):
            start = at(day, rng.randint(9, 18), rng.randint(0, 59), rng.uniform(0, 59))
            sessions.append(sira_session(rng, start, pick(rng, list(DESIGNS))))
        if day == switch_day:
            sessions.append(
                sira_session(rng, at(day, 15, 12, 5), "outbox", switch=True)
            )
        if index in (4, 17):
            sessions.append(monolith_question(rng, at(day, 19, 2, 40)))
        if index in (6, 7):
            orders = "2 million" if index == 6 else "20 million"
            sessions.append(storage_question(rng, at(day, 8, 31, 10), orders))
    return {
        "name": "sira",
        "created_at": at(days[0], 11, 48, 0).timestamp(),
        "description": "Design and architecture reviews",
        "sessions": sessions,
    }


# --------------------------------------------------------------------------
# tesa: data quality checks by cron on a local model

QUALITY_PROMPT = (
    "Run the data quality checks on the newest orders export in ~/data/exports/ "
    "and report failed checks as a table."
)
KPI_PROMPT = (
    "Weekly KPI sanity check: compare last week's orders, revenue and average "
    "basket in ~/data/exports/stats.json with the 8-week average and flag any "
    "metric that moved more than 30%."
)


def quality_run(rng: random.Random, job: Spec, start: datetime) -> Spec:
    b = cron_session(rng, job, start, PROMPTS["tesa"])
    rows = rng.randint(900, 1700)
    b.tools(
        [
            tool(
                "execute_code",
                {"code": "import pandas as pd\ndf = pd.read_csv(newest_export())\n..."},
                f"rows={rows} nulls={{'order_id': 0, 'total': 0}} dup_ids=0",
                rng.randint(250, 700),
                rng.uniform(1.5, 4.0),
            )
        ],
        output=rng.randint(120, 260),
    )
    failed = rng.random() < 0.15
    if failed:
        b.tools(
            [
                tool(
                    "execute_code",
                    {"code": "df[df.currency.isin(ISO_4217) == False].head(3)"},
                    "3 rows with currency 'EU'",
                    rng.randint(150, 400),
                    rng.uniform(1.0, 2.5),
                )
            ],
            output=rng.randint(80, 160),
        )
        b.reply(
            "| check | count | example |\n|---|---|---|\n"
            "| currency not ISO 4217 | 3 | 'EU' "
            f"(order MC-2026-{rng.randint(100, 999):05d}) |"
        )
    else:
        b.reply(f"All checks passed ({rows:,} rows).")
    return b.build()


def kpi_run(rng: random.Random, job: Spec, start: datetime) -> Spec:
    b = cron_session(rng, job, start, PROMPTS["tesa"])
    b.tools(
        [
            tool(
                "read_file",
                {"path": "~/data/exports/stats.json"},
                "weekly stats for 9 weeks",
                rng.randint(600, 1100),
                0.1,
            )
        ],
        output=rng.randint(60, 140),
    )
    b.reply(
        "Orders +12%, revenue +18%, average basket +5% against the 8-week "
        "average. Nothing moved more than 30%."
    )
    return b.build()


def tesa(rng: random.Random, days: list[date]) -> Spec:
    local = MODELS["qwen2.5-3b-instruct"]
    quality = cron_job(
        "Orders export quality check",
        QUALITY_PROMPT,
        "0 6,12,18 * * *",
        local,
        at(days[0], 12, 31, 50),
        deliver="local",
    )
    kpi = cron_job(
        "Weekly KPI sanity check",
        KPI_PROMPT,
        "0 9 * * 1",
        local,
        at(days[0], 12, 40, 2),
        deliver="local",
    )
    sessions = [
        quality_run(rng, quality, t)
        for t in fire_times(rng, quality, days, [6, 12, 18])
    ]
    sessions += [kpi_run(rng, kpi, t) for t in fire_times(rng, kpi, days, [9], {0})]
    return {
        "name": "tesa",
        "created_at": at(days[0], 12, 25, 19).timestamp(),
        "description": "Data quality checks on the shop exports",
        "cron_jobs": [quality, kpi],
        "sessions": sessions,
    }


# --------------------------------------------------------------------------
# The default profile: Mara's first days with Hermes


@dataclass(frozen=True)
class Exchange:
    day: int
    hour: int
    model: str
    title: str
    question: str
    answer: str


FIRST_DAYS = [
    Exchange(
        0,
        8,
        "gpt-4.1-mini",
        "What Hermes can do",
        "What can you do?",
        "I can search the web, read and edit files, run commands, keep memory "
        "and run scheduled jobs. Tell me a task and I'll pick the tools.",
    ),
    Exchange(
        0,
        9,
        "gpt-4.1-mini",
        "Creating a profile",
        "How do I make a separate profile for code reviews?",
        "Run `hermes profile create codi`, then `hermes -p codi setup` to pick "
        "its model. Each profile has its own memory, sessions and cron jobs.",
    ),
    Exchange(
        0,
        10,
        "gpt-4.1-mini",
        "Morning briefing job",
        "Set up a job that sends me a briefing every morning at 7.",
        "Use the hermy profile for it: `hermes -p hermy cron create "
        "'0 7 * * *' ...`. I can draft the prompt if you like.",
    ),
    Exchange(
        1,
        8,
        "deepseek-chat",
        "Lisbon weather tomorrow",
        WEATHER_EXACT,
        "Tomorrow in Lisbon: 11–17°C, light rain in the morning.",
    ),
    Exchange(
        1,
        21,
        "deepseek-chat",
        "Derivative of x^3 ln x",
        "What is the derivative of x^3 · ln(x)?",
        "d/dx [x³ ln x] = 3x² ln x + x² = x²(3 ln x + 1).",
    ),
    Exchange(
        2,
        9,
        "gpt-4.1-mini",
        "250 EUR in USD",
        "Convert 250 EUR to USD at today's rate",
        "250 EUR ≈ 271.45 USD at 1.0858.",
    ),
    Exchange(
        2,
        18,
        "deepseek-chat",
        "Quadratic",
        "Solve 3x^2 - 12x + 9 = 0",
        "x² − 4x + 3 = 0, so (x − 1)(x − 3) = 0: x = 1 or x = 3.",
    ),
    Exchange(
        4,
        12,
        "deepseek-chat",
        "Hourly cron expression",
        "Explain what a cron expression '0 * * * *' means",
        "At minute 0 of every hour, every day: hourly, on the hour.",
    ),
    Exchange(
        4,
        12,
        "deepseek-chat",
        "Hourly cron expression",
        "Explain what a cron expression '0 * * * *' means",
        "It runs at minute 0 of every hour — once an hour, on the hour.",
    ),
    Exchange(
        10,
        22,
        "deepseek-chat",
        "API spend this month",
        "How much have I spent on API calls this month?",
        "Hermes doesn't track spend in money; `hermes insights` shows tokens "
        "by model. Check the DeepSeek and OpenAI billing pages.",
    ),
]


def first_days_session(rng: random.Random, days: list[date], e: Exchange) -> Spec:
    model = MODELS[e.model]
    start = at(days[e.day], e.hour, rng.randint(0, 50), rng.uniform(0, 59))
    b = new_session(rng, "cli", start, model, PROMPTS["default"], False)
    b.user(e.question)
    if "weather" in e.question or "rate" in e.question:
        b.tools([search(rng, e.question)])
    b.reply(e.answer)
    b.side("title_generation", model, rng.randint(200, 500), rng.randint(5, 12))
    b.now += rng.uniform(20, 200)
    return b.build(
        cwd="/home/mara",
        title=e.title,
        ended_at=round(b.now, 3),
        end_reason="cli_close",
    )


def default_profile(rng: random.Random, days: list[date]) -> Spec:
    sessions = [first_days_session(rng, days, e) for e in FIRST_DAYS]
    return {"name": "default", "sessions": sessions}


# --------------------------------------------------------------------------
# Spec, writing and summary

PROFILE_BUILDERS: dict[str, Callable[[random.Random, list[date]], Spec]] = {
    "default": default_profile,
    "hermy": hermy,
    "codi": codi,
    "ayva": ayva,
    "sira": sira,
    "tesa": tesa,
}


def build_spec(days: int, seed: int) -> Spec:
    """The whole spec; each profile draws from its own seeded generator."""
    first = LAST_DAY - timedelta(days=days - 1)
    period = [first + timedelta(days=n) for n in range(days)]
    profiles = [
        builder(random.Random(f"{seed}/{name}"), period)
        for name, builder in PROFILE_BUILDERS.items()
    ]
    return {"timezone": TIMEZONE, "profiles": profiles}


def hermes_python(explicit: str | None) -> str:
    candidates = [
        explicit,
        os.environ.get("COSTAUDIT_HERMES_PYTHON"),
        str(REPO / ".venv-hermes" / "bin" / "python"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    raise SystemExit(
        "no Python with hermes-agent found: pass --hermes-python or set "
        "COSTAUDIT_HERMES_PYTHON"
    )


def write_home(spec: Spec, out: Path, python: str, schema: int) -> None:
    """Run the writer into a fresh directory, then put it in place of out."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".hermes-home-") as tmp:
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        target = Path(tmp) / "home"
        command = [python, str(WRITER), str(spec_path), str(target)]
        subprocess.run([*command, "--schema", str(schema)], check=True)
        if out.exists():
            shutil.rmtree(out)
        target.rename(out)


SUMMARY_SQL = """
SELECT
  (SELECT COUNT(*) FROM sessions),
  (SELECT COUNT(*) FROM session_model_usage),
  (SELECT COUNT(*) FROM session_model_usage WHERE task != ''),
  (SELECT COALESCE(SUM(api_call_count), 0) FROM session_model_usage),
  (SELECT COALESCE(SUM(input_tokens + cache_read_tokens + cache_write_tokens), 0)
     FROM session_model_usage WHERE task = ''),
  (SELECT COALESCE(SUM(input_tokens + cache_read_tokens + cache_write_tokens), 0)
     FROM session_model_usage WHERE task != ''),
  (SELECT COALESCE(SUM(output_tokens), 0) FROM session_model_usage),
  (SELECT COALESCE(SUM(estimated_cost_usd), 0) FROM session_model_usage)
"""
# Before schema 20 only the sessions totals exist (main loop only).
SUMMARY_SQL_SCHEMA_19 = """
SELECT COUNT(*), 0, 0, SUM(api_call_count),
  SUM(input_tokens + cache_read_tokens + cache_write_tokens), 0,
  SUM(output_tokens), SUM(estimated_cost_usd)
FROM sessions
"""
STATUS_SQL = """
SELECT billing_provider, task = '', cost_status, cost_source, COUNT(*)
FROM session_model_usage GROUP BY 1, 2, 3, 4
"""


def open_read_only(db_path: Path) -> sqlite3.Connection:
    """Read without leaving state.db-wal and -shm files beside the database.

    Hermes keeps state.db in WAL mode; a plain read-only connection creates
    those files and cannot remove them. The writer has closed every
    connection, so nothing is pending in a WAL and immutable reads are exact.
    """
    return sqlite3.connect(f"file:{db_path}?mode=ro&immutable=1", uri=True)


def has_usage_table(conn: sqlite3.Connection) -> bool:
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'session_model_usage'"
    ).fetchone()
    return found is not None


def summarize(out: Path) -> None:
    """Print per-profile counts and the cost status of each route."""
    print(
        f"{'profile':<8} {'sessions':>8} {'smu rows':>8} {'side rows':>9} "
        f"{'calls':>6} {'main prompt':>12} {'side prompt':>12} {'side %':>6} "
        f"{'output':>10} {'est. USD':>9}"
    )
    statuses = []
    for db_path in sorted(out.glob("**/state.db")):
        name = db_path.parent.name if db_path.parent != out else "default"
        conn = open_read_only(db_path)
        modern = has_usage_table(conn)
        row = conn.execute(SUMMARY_SQL if modern else SUMMARY_SQL_SCHEMA_19)
        sessions, rows, side_rows, calls, main, side, output, usd = row.fetchone()
        if modern:
            statuses += [(name, *status) for status in conn.execute(STATUS_SQL)]
        conn.close()
        share = 100 * side / (main + side) if main + side else 0.0
        print(
            f"{name:<8} {sessions:>8} {rows:>8} {side_rows:>9} {calls:>6} "
            f"{main:>12,} {side:>12,} {share:>5.0f}% {output:>10,} {usd:>9.2f}"
        )
    print()
    for name, provider, main, status, source, count in statuses:
        kind = "main" if main else "side"
        print(
            f"{name}: {provider} {kind} cost_status={status} "
            f"cost_source={source} rows={count}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--hermes-python")
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--schema", type=int, choices=(22, 19), default=22)
    parser.add_argument("--spec-out", type=Path, help="also save the spec here")
    args = parser.parse_args(argv)
    if args.days < 22:
        parser.error("--days must be at least 22 (the status job starts on day 22)")
    spec = build_spec(args.days, args.seed)
    if args.spec_out is not None:
        args.spec_out.write_text(json.dumps(spec, indent=1), encoding="utf-8")
    write_home(spec, args.out.resolve(), hermes_python(args.hermes_python), args.schema)
    summarize(args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
