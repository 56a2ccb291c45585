"""Time the whole advice over a ledger of 100,000 calls with prompts.

Builds (once, into benchmarks/out/, ignored by git) a synthetic ledger:
four profiles over 30 days, chat on DeepSeek, coding sessions on
gpt-4.1-mini with a long system prompt, cron jobs, a local model; prompts
drawn from templates so that some repeat word for word, some are
paraphrases and most are distinct; a few runaway sessions and loops. Then
runs every strategy and prints, to stdout, the time of each step, the
number of distinct prompts embedded and embeddings per second.

    .venv/bin/python benchmarks/advise.py [--calls 100000] [--rebuild]

Runs the advice twice: cold (no prompt vectors stored yet, every distinct
prompt embedded) and warm (vectors kept by the first run, as on a second
``costaudit advise``). The target is the whole advice under 30 s on two
cores. ``--warm-only`` keeps the vectors of an earlier run.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from costaudit.analysis.advisor import AdviceOptions, advise
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

TOPICS = [
    "pancakes", "sourdough bread", "a birthday card", "python decorators",
    "rust lifetimes", "the french revolution", "photosynthesis", "tax brackets",
    "a cover letter", "kubernetes pods", "sql joins", "a wedding toast",
    "marathon training", "git rebase", "docker volumes", "css grid",
    "the roman empire", "black holes", "vegetable soup", "a job interview",
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
]
CODING = (
    "Refactor this function to handle {t} errors and add unit tests:\n"
    "```python\ndef handle_{n}(x):\n    return x * {n}\n```"
)
SYSTEM_CODER = "You are a senior engineer. Follow the repository's conventions. " * 400
SYSTEM_CHAT = "You are Hermes, a helpful assistant. Be brief. " * 30


def _prompt(rng: random.Random, n: int) -> str:
    topic = rng.choice(TOPICS)
    roll = rng.random()
    if roll < 0.3:
        # A popular question, asked again word for word.
        return rng.choice(TEMPLATES).format(t=topic)
    if roll < 0.4:
        return rng.choice(PARAPHRASES).format(t=topic)
    detail = f" (case {n % 9973}, variant {rng.randint(1, 50)})"
    return rng.choice(TEMPLATES).format(t=topic) + detail


def _record(n: int, at: datetime, **fields: object) -> UsageRecord:
    values: dict[str, object] = {
        "source": "hermes",
        "record_key": f"r{n}",
        "source_path": "state.db",
        "session_id": f"s{n}",
        "started_at": at,
        "ended_at": at,
        "platform": "cli",
    }
    values.update(fields)
    return UsageRecord(**values)  # type: ignore[arg-type]


def _one(rng: random.Random, n: int) -> UsageRecord:
    at = START + timedelta(seconds=rng.uniform(0, DAYS * 86_400))
    kind = rng.random()
    if kind < 0.55:
        return _record(
            n, at, profile="default", model="deepseek-chat", provider="deepseek",
            task="chat", first_prompt=_prompt(rng, n), system_prompt=SYSTEM_CHAT,
            input_tokens=rng.randint(400, 1_500), output_tokens=rng.randint(50, 600),
        )  # fmt: skip
    if kind < 0.80:
        calls = 200 if rng.random() < 0.002 else rng.randint(2, 12)
        return _record(
            n, at, profile="coder", model="gpt-4.1-mini", provider="openai",
            task="coding", first_prompt=CODING.format(t=rng.choice(TOPICS), n=n),
            system_prompt=SYSTEM_CODER, calls=calls,
            input_tokens=calls * 5_000, cache_read_tokens=0,
            output_tokens=calls * rng.randint(100, 800),
        )  # fmt: skip
    if kind < 0.90:
        job = rng.randint(1, 5)
        return _record(
            n, at, profile="ops", model="deepseek-chat", provider="deepseek",
            task=f"cron job {job}", platform="cron", cron_job_id=f"job{job}",
            first_prompt=f"Daily briefing {job}: check the servers and today's news",
            input_tokens=3_000, output_tokens=400,
        )  # fmt: skip
    return _record(
        n, at, profile="local", model="qwen2.5-3b-instruct", provider="local",
        endpoint="http://127.0.0.1:8080/v1", task="titles",
        first_prompt=_prompt(rng, n), input_tokens=300, output_tokens=20,
    )  # fmt: skip


def build(path: Path, calls: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    records: list[UsageRecord] = []
    total = n = 0
    while total < calls:
        record = _one(rng, n)
        records.append(record)
        total += record.calls
        n += 1
    # Loops: the same request again and again, seconds apart.
    for loop in range(5):
        at = START + timedelta(days=loop * 5 + 1)
        for i in range(8):
            records.append(
                _record(n, at + timedelta(seconds=20 * i), profile="default",
                        model="deepseek-chat", provider="deepseek", task="chat",
                        first_prompt=f"retry uploading report {loop}",
                        input_tokens=800, output_tokens=100)
            )  # fmt: skip
            n += 1
    with Ledger.open(path) as ledger:
        for start in range(0, len(records), 20_000):
            chunk = records[start : start + 20_000]
            state = PathState("hermes", f"state{start}.db")
            ledger.store_batch(ScanBatch("hermes", state.path, state, chunk))
        price_ledger(ledger, Pricer(Config()))
    print(f"built {path}: {len(records):,} records, {total:,} calls")


def run_advice(path: Path, config: Path, vectors: Path) -> float:
    """Run the whole advice once; print its figures; return its seconds."""

    def embedder() -> Embedder:
        return StoredEmbedder(MiniLMEmbedder(), vectors)

    started = time.perf_counter()
    with Workspace(Options(config, path)) as workspace:
        advice = advise(workspace, workspace.window(), AdviceOptions(embedder))
    elapsed = time.perf_counter() - started
    for name, seconds in advice.timings.items():
        print(f"  {name:<40} {seconds:10.2f}")
    embedded = advice.timings.get("semantic_cache.embedded", 0.0)
    embed_s = advice.timings.get("semantic_cache.embed_s", 0.0)
    print(f"records: {len(advice.history.rows):,}, calls: {advice.history.calls:,}")
    if embed_s:
        print(f"distinct prompts: {embedded:,.0f}, {embedded / embed_s:,.0f} a second")
    for strategy in advice.strategies:
        print(
            f"  {strategy.id:<16} ${strategy.monthly_savings_usd:>12,.2f}/month "
            f"({strategy.draft.confidence})"
        )
    print(f"  combined         ${advice.combined.monthly_savings_usd:>12,.2f}/month")
    print(f"whole advice: {elapsed:.1f} s")
    return elapsed


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
    vectors = OUT / "advise-vectors"
    if not args.warm_only:
        shutil.rmtree(vectors, ignore_errors=True)
        print(f"cold run (no stored vectors, {os.cpu_count()} cores):")
        run_advice(path, config, vectors)
    print("warm run (vectors stored by the run before):")
    run_advice(path, config, vectors)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
