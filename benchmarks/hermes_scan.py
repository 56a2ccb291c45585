"""Benchmark: scan and report on a Hermes home with 100,000 sessions.

The home is made from the schema of the bundled sample home (written by
hermes-agent's own code), filled with generated rows: four profiles, main
loop and side-call rows in ``session_model_usage``, and a first user message
and system prompt per session. Prints the figures it measured:

- cold scan: a new ledger, every row read and priced;
- rescan with nothing new;
- a report grouped by profile and model;
- the same after one session grew (the incremental path).

Run: ``python benchmarks/hermes_scan.py [--sessions 100000]``.
Aims: cold scan < 10 s, rescan < 1 s, report < 0.5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import random
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

from costaudit.analysis.report import build_report
from costaudit.workspace import Options, Workspace

SAMPLE_DB = Path(__file__).resolve().parent.parent / "samples/hermes-home/state.db"
PROFILES = [
    ("hermy", "deepseek-chat", "deepseek", "https://api.deepseek.com/v1"),
    ("codi", "qwen2.5-coder-3b", "custom", "http://127.0.0.1:8080/v1"),
    ("ayva", "deepseek-reasoner", "deepseek", "https://api.deepseek.com/v1"),
    ("sira", "gpt-4.1", "openai", "https://api.openai.com/v1"),
]
SIDE_CALLS = ("title_generation", "compression", "web_extract")


def schema_statements() -> list[str]:
    con = sqlite3.connect(f"file:{SAMPLE_DB}?mode=ro", uri=True)
    rows = con.execute(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
        "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%fts%' "
        "AND type IN ('table', 'index')"
    ).fetchall()
    con.close()
    return [row[0] for row in rows]


def make_profile(root: Path, model: str, provider: str, url: str, sessions: int,
                 rng: random.Random) -> None:  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(root / "state.db")
    con.execute("PRAGMA journal_mode = WAL")
    for statement in schema_statements():
        con.execute(statement)
    start = 1_790_000_000.0
    system = "You are a careful assistant. " * 120
    session_rows, usage_rows, message_rows = [], [], []
    for i in range(sessions):
        sid = f"{root.name}_{i:07d}"
        at = start + i * 30.0
        title = f"{root.name} task {i % 40} #{i}"
        session_rows.append((sid, "cli", model, system, at, at + 300, title))
        message_rows.append((sid, "user", f"Question number {i % 500} about work", at))
        usage_rows.append(
            (
                sid,
                model,
                provider,
                url,
                "",
                "",
                rng.randint(1, 20),
                rng.randint(500, 40_000),
                rng.randint(50, 3_000),
                rng.randint(0, 20_000),
                0,
                0,
                at,
                at + 300,
            )
        )
        if i % 2 == 0:
            usage_rows.append(
                (
                    sid,
                    model,
                    provider,
                    url,
                    "",
                    SIDE_CALLS[i % 3],
                    1,
                    rng.randint(200, 5_000),
                    rng.randint(10, 400),
                    0,
                    0,
                    0,
                    at + 5,
                    at + 5,
                )
            )
    con.executemany(
        "INSERT INTO sessions (id, source, model, system_prompt, started_at, "
        "ended_at, title) VALUES (?, ?, ?, ?, ?, ?, ?)",
        session_rows,
    )
    con.executemany(
        "INSERT INTO messages (session_id, role, content, timestamp) "
        "VALUES (?, ?, ?, ?)",
        message_rows,
    )
    con.executemany(
        "INSERT INTO session_model_usage (session_id, model, billing_provider, "
        "billing_base_url, billing_mode, task, api_call_count, input_tokens, "
        "output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, "
        "first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        usage_rows,
    )
    con.commit()
    con.close()


def timed(label: str, action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    seconds = time.perf_counter() - start
    print(f"{label:<34} {seconds:8.3f} s")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "hermes"
        per_profile = args.sessions // len(PROFILES)
        made = time.perf_counter()
        for index, (name, model, provider, url) in enumerate(PROFILES):
            root = home if index == 0 else home / "profiles" / name
            make_profile(root, model, provider, url, per_profile, rng)
        print(f"made {args.sessions:,} sessions in {time.perf_counter() - made:.1f} s")
        options = Options(ledger_path=Path(tmp) / "ledger.duckdb", hermes_home=home,
                          user_home=Path(tmp))  # fmt: skip
        with Workspace(options) as workspace:
            timed("cold scan (read, store, price)", workspace.scan)
            records = workspace.ledger.record_count()
            timed("rescan, nothing new", workspace.scan)
            window = workspace.window()
            infra = workspace.infrastructure()
            timed(
                "report by profile,model",
                lambda: build_report(workspace.ledger, window, ["profile", "model"],
                                     infra),
            )  # fmt: skip
            con = sqlite3.connect(home / "state.db")
            con.execute(
                "UPDATE session_model_usage SET input_tokens = input_tokens + 1, "
                "last_seen = ? WHERE rowid = 1",
                [time.time()],
            )
            con.commit()
            con.close()
            timed("rescan after one session grew", workspace.scan)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"usage records in the ledger        {records:,}")
        print(f"peak memory (RSS)                  {peak:.0f} MB")


if __name__ == "__main__":
    main()
