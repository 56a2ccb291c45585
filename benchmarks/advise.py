"""Time the whole advice over a ledger of 100,000 calls with prompts.

Builds (once, into benchmarks/out/, ignored by git) a synthetic ledger
shaped like a Hermes home over 30 days:

- sessions, not loose calls: each has a main-loop record of one or more
  calls and a title-generation side call, as Hermes logs them;
- each profile's system prompt ends with "Conversation started: <day>", as
  Hermes writes it, so the raw text changes every day;
- a chat profile on DeepSeek whose first prompts are popular questions
  asked again word for word (about a quarter), paraphrases of them (about a
  tenth) and distinct requests (the rest); a coding profile on
  gpt-4.1-mini with a long system prompt, cache reads and mostly distinct
  prompts; a research profile on deepseek-reasoner; hourly cron jobs (never
  cacheable); a profile on a local model;
- a few runaway sessions and loops of identical requests.

Then runs the advice twice and prints, to stdout: the time of each step and
strategy, the distinct prompts embedded and skipped, embeddings per second,
and PASS or FAIL against the aim of the whole advice in under 30 s on two
cores, for each run:

- cold: no prompt vectors stored yet, every prompt that can matter embedded;
- warm: the vectors kept by the cold run, as on a second ``costaudit advise``.

Usage (the lead runs the full size on a quiet machine; a small size checks
that it works):

    .venv/bin/python benchmarks/advise.py [--calls 100000] [--rebuild]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from costaudit.analysis.advisor import Advice, AdviceOptions, advise
from costaudit.analysis.advisor.vectors import StoredEmbedder
from costaudit.config import Config
from costaudit.ledger.store import Ledger
from costaudit.pricing.apply import price_ledger
from costaudit.pricing.pricer import Pricer
from costaudit.record import UsageRecord
from costaudit.sources.base import PathState, ScanBatch
from costaudit.strategies.embeddings import Embedder, MiniLMEmbedder
from costaudit.workspace import Options, Workspace

OUT = Path(__file__).resolve().parent / "out"
START = datetime(2025, 3, 1, tzinfo=UTC)
DAYS = 30
AIM_SECONDS = 30.0

TOPICS = [
    "pancakes", "sourdough bread", "a birthday card", "python decorators",
    "rust lifetimes", "the french revolution", "photosynthesis", "tax brackets",
    "a cover letter", "kubernetes pods", "sql joins", "a wedding toast",
    "marathon training", "git rebase", "docker volumes", "css grid",
    "the roman empire", "black holes", "vegetable soup", "a job interview",
    "compound interest", "sleep hygiene", "tcp handshakes", "bash loops",
    "climbing knots", "glaze recipes", "invoice wording", "portuguese verbs",
]  # fmt: skip
TEMPLATES = [
    "Give me a recipe for {t}",
    "Explain {t} in simple terms",
    "Write a short poem about {t}",
    "What are three facts about {t}?",
    "Summarise the key ideas of {t} for a beginner",
    "List common mistakes people make with {t}",
    "How would you teach {t} to a ten year old?",
]
PARAPHRASES = [
    "Could you share a recipe for {t}?",
    "Please explain {t} simply",
    "Write me a little poem on {t}",
    "Tell me three facts about {t}",
    "Give a beginner's summary of the key ideas of {t}",
]
DETAILS = [
    "for a group of {n}", "in under {n} words", "with {n} examples",
    "assuming I have {n} minutes", "for someone aged {n}",
]  # fmt: skip
CODING = (
    "Review this function and suggest a safer version:\n```python\n"
    "def handle_{n}(rows, limit={k}):\n    out = []\n    for row in rows[:limit]:\n"
    "        out.append(row['{t}'] * {k})\n    return out\n```"
)
RESEARCH = "Summarise recent work on {t}, angle {n}: key papers and open questions"
SYSTEM = {
    "chat": "You are Hermes, a helpful assistant. Be brief and concrete. " * 30,
    "coder": "You are a senior engineer. Follow the repository's conventions. " * 400,
    "research": "You are a careful research assistant. Cite your sources. " * 60,
}


def _system(profile: str, at: datetime) -> str:
    """The profile's system prompt as Hermes builds it on that day."""
    day = at.strftime("%A, %B %d, %Y")
    return f"{SYSTEM[profile]}\n\nConversation started: {day}\nModel: m"


def _chat_prompt(rng: random.Random) -> str:
    topic = rng.choice(TOPICS)
    roll = rng.random()
    if roll < 0.25:
        # A popular question, asked again word for word.
        return rng.choice(TEMPLATES).format(t=topic)
    if roll < 0.35:
        return rng.choice(PARAPHRASES).format(t=topic)
    detail = rng.choice(DETAILS).format(n=rng.randint(2, 400))
    return f"{rng.choice(TEMPLATES).format(t=topic)}, {detail}"


@dataclass
class _Builder:
    rng: random.Random
    records: list[UsageRecord]
    n: int = 0
    calls: int = 0

    def add(self, at: datetime, **fields: object) -> None:
        self.n += 1
        values: dict[str, object] = {
            "source": "hermes",
            "record_key": f"r{self.n}",
            "source_path": "state.db",
            "session_id": f"s{self.n}",
            "started_at": at,
            "ended_at": at,
            "platform": "cli",
        }
        values.update(fields)
        record = UsageRecord(**values)  # type: ignore[arg-type]
        self.records.append(record)
        self.calls += record.calls

    def session(self, at: datetime, profile: str, calls: int, **fields: object) -> None:
        """A main-loop record and the title Hermes asks for at its start."""
        session = f"{profile}-{self.n}"
        end = at + timedelta(seconds=20 * calls)
        self.add(at, profile=profile, session_id=session, calls=calls,
                 ended_at=end, **fields)  # fmt: skip
        self.add(
            at + timedelta(seconds=5), profile=profile, session_id=session,
            call_kind="title_generation", model="deepseek-chat",
            provider="deepseek", task=str(fields.get("task", "chat")),
            first_prompt=fields.get("first_prompt"), input_tokens=300,
            output_tokens=12,
        )  # fmt: skip


def _one(b: _Builder) -> None:
    rng = b.rng
    at = START + timedelta(seconds=rng.uniform(0, DAYS * 86_400))
    kind = rng.random()
    if kind < 0.45:
        calls = rng.choice((1, 1, 2, 3, 4))
        b.session(
            at, "chat", calls, model="deepseek-chat", provider="deepseek",
            task="chat", first_prompt=_chat_prompt(rng),
            system_prompt=_system("chat", at), input_tokens=calls * 1_200,
            cache_read_tokens=calls * 800, output_tokens=calls * rng.randint(50, 600),
        )  # fmt: skip
    elif kind < 0.65:
        calls = 200 if rng.random() < 0.002 else rng.randint(2, 12)
        prompt = CODING.format(t=rng.choice(TOPICS), n=b.n, k=rng.randint(1, 99))
        b.session(
            at, "coder", calls, model="gpt-4.1-mini", provider="openai",
            task="coding", first_prompt=prompt, system_prompt=_system("coder", at),
            input_tokens=calls * 1_500, cache_read_tokens=calls * 6_000,
            output_tokens=calls * rng.randint(100, 800),
        )  # fmt: skip
    elif kind < 0.75:
        calls = rng.randint(3, 9)
        prompt = RESEARCH.format(t=rng.choice(TOPICS), n=rng.randint(1, 40))
        b.session(
            at, "research", calls, model="deepseek-reasoner", provider="deepseek",
            task="research", first_prompt=prompt,
            system_prompt=_system("research", at), input_tokens=calls * 3_000,
            cache_read_tokens=calls * 2_000, output_tokens=calls * 900,
        )  # fmt: skip
    elif kind < 0.90:
        job = rng.randint(1, 5)
        hour = START + timedelta(hours=rng.randint(0, DAYS * 24 - 1))
        b.add(
            hour, profile="ops", model="deepseek-chat", provider="deepseek",
            task=f"cron job {job}", platform="cron", cron_job_id=f"job{job}",
            first_prompt=f"Check the servers and summarise job {job}'s new alerts",
            input_tokens=3_000, output_tokens=400,
        )  # fmt: skip
    else:
        b.session(
            at, "local", 1, model="qwen2.5-3b-instruct", provider="local",
            endpoint="http://127.0.0.1:8080/v1", task="notes",
            first_prompt=_chat_prompt(rng), input_tokens=300, output_tokens=80,
        )  # fmt: skip


def build(path: Path, calls: int, seed: int = 7) -> None:
    b = _Builder(random.Random(seed), [])
    while b.calls < calls:
        _one(b)
    # Loops: the same request again and again, seconds apart.
    for loop in range(5):
        at = START + timedelta(days=loop * 5 + 1)
        for i in range(8):
            b.add(
                at + timedelta(seconds=20 * i), profile="chat", model="deepseek-chat",
                provider="deepseek", task="chat",
                first_prompt=f"retry uploading report {loop}",
                system_prompt=_system("chat", at), input_tokens=800,
                output_tokens=100,
            )  # fmt: skip
    with Ledger.open(path) as ledger:
        for start in range(0, len(b.records), 20_000):
            chunk = b.records[start : start + 20_000]
            state = PathState("hermes", f"state{start}.db")
            ledger.store_batch(ScanBatch("hermes", state.path, state, chunk))
        price_ledger(ledger, Pricer(Config()))
    print(f"built {path}: {len(b.records):,} records, {b.calls:,} calls")


def run_advice(label: str, path: Path, config: Path, vectors: Path) -> float:
    """Run the whole advice once; print its figures; return its seconds."""

    def embedder() -> Embedder:
        return StoredEmbedder(MiniLMEmbedder(), vectors)

    started = time.perf_counter()
    with Workspace(Options(config, path)) as workspace:
        advice = advise(workspace, workspace.window(), AdviceOptions(embedder))
    elapsed = time.perf_counter() - started
    _print_run(label, advice, elapsed)
    return elapsed


def _print_run(label: str, advice: Advice, elapsed: float) -> None:
    timings = advice.timings
    print(f"\n{label}: {len(advice.history.rows):,} records, "
          f"{advice.history.calls:,} calls")  # fmt: skip
    print(f"  {'step':<44} {'seconds / count':>16}")
    for name, value in timings.items():
        print(f"  {name:<44} {value:16.2f}")
    embedded = timings.get("semantic_cache.embedded", 0.0)
    computed = timings.get("semantic_cache.computed", 0.0)
    skipped = timings.get("semantic_cache.not_embedded", 0.0)
    embed_s = timings.get("semantic_cache.embed_s", 0.0)
    rate = f"{computed / embed_s:,.0f} a second" if embed_s and computed else "n/a"
    print(
        f"  prompts needing a vector: {embedded:,.0f}, of which computed now "
        f"{computed:,.0f} ({rate}) and read from the store "
        f"{embedded - computed:,.0f}; alone in their namespace, not embedded: "
        f"{skipped:,.0f}"
    )
    for strategy in advice.strategies:
        print(
            f"  {strategy.id:<16} ${strategy.monthly_savings_usd:>12,.2f}/month "
            f"({strategy.draft.confidence})"
        )
    print(f"  combined         ${advice.combined.monthly_savings_usd:>12,.2f}/month")
    verdict = "PASS" if elapsed < AIM_SECONDS else "FAIL"
    load = os.getloadavg()[0]
    print(
        f"  whole advice: {elapsed:.1f} s: {verdict} against {AIM_SECONDS:.0f} s "
        f"({os.cpu_count()} cores, load average {load:.1f})"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--warm-only", action="store_true", help="Keep vectors from an earlier run."
    )
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    path = OUT / f"advise-{args.calls}.duckdb"
    if args.rebuild or not path.exists():
        path.unlink(missing_ok=True)
        started = time.perf_counter()
        build(path, args.calls)
        print(f"build: {time.perf_counter() - started:.1f} s")
    config = OUT / "advise-empty.toml"
    config.write_text("")
    vectors = OUT / f"advise-vectors-{args.calls}"
    if not args.warm_only:
        shutil.rmtree(vectors, ignore_errors=True)
        run_advice("cold run (no stored vectors)", path, config, vectors)
    run_advice("warm run (vectors stored by the run before)", path, config, vectors)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
