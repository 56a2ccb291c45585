"""Benchmark: scan and report on a Hermes home with 100,000 sessions.

The home is made from the schema of the bundled sample home (written by
hermes-agent's own code), filled with generated rows: four profiles, main
loop and side-call rows in ``session_model_usage``, and a first user message
and system prompt per session. It then measures, and prints PASS or FAIL
against the aims (cold scan < 10 s, rescan < 1 s, report < 0.5 s on 2
cores):

- the ``costaudit`` command as a user runs it, each in a new process (wall
  time, and the peak memory of its process tree): ``costaudit scan`` into a
  new ledger, ``costaudit scan`` again with nothing new, and ``costaudit
  report --no-scan --format json``; for information, ``costaudit report
  --format json``, which scans first;
- the same work in this process (no interpreter start or imports), and a
  rescan after one session grew (the incremental path).

It is a measurement: it exits 0 whatever the verdicts.

Run: ``python benchmarks/hermes_scan.py [--sessions 100000]``.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from measure import compiled_env, costaudit_command, machine, measured, verdict

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
    # Immutable: reading the sample must leave no -wal or -shm beside it.
    con = sqlite3.connect(f"file:{SAMPLE_DB}?mode=ro&immutable=1", uri=True)
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


AIMS = {"cold scan": 10.0, "rescan": 1.0, "report": 0.5}


def line(label: str, seconds: float, aim: str | None, peak: int | None = None) -> None:
    """One line: the figure, its memory when measured, and against its aim
    when it has one."""
    memory = f"{peak / 2**20:6.0f} MiB" if peak is not None else " " * 10
    text = f"{label:<46} {seconds:8.3f} s {memory}"
    if aim is not None:
        limit = AIMS[aim]
        text += f"   aim < {limit:g} s   {verdict(seconds < limit)}"
    print(text)


def timed(label: str, action: Callable[[], object], aim: str | None = None) -> float:
    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    line(label, seconds, aim)
    return seconds


def command_line(tmp: Path, home: Path, ledger: Path) -> Callable[..., None]:
    """Run the installed ``costaudit`` in a new process, as a user would,
    with a home of its own (no real agent logs are read)."""
    env = compiled_env(
        {
            **os.environ,
            "HOME": str(tmp),
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "XDG_DATA_HOME": str(tmp / "data"),
        }
    )
    base = ["--ledger", str(ledger), "--hermes-home", str(home)]

    def run(label: str, aim: str | None, *argv: str) -> None:
        found = measured(costaudit_command(*base, *argv), env)
        line(label, found.wall_s, aim, found.peak_bytes)

    return run


def make_home(home: Path, sessions: int) -> None:
    rng = random.Random(7)
    per_profile = sessions // len(PROFILES)
    made = time.perf_counter()
    for index, (name, model, provider, url) in enumerate(PROFILES):
        root = home if index == 0 else home / "profiles" / name
        make_profile(root, model, provider, url, per_profile, rng)
    print(f"made {sessions:,} sessions in {time.perf_counter() - made:.1f} s")


def grow_one_session(home: Path) -> None:
    con = sqlite3.connect(home / "state.db")
    con.execute(
        "UPDATE session_model_usage SET input_tokens = input_tokens + 1, "
        "last_seen = ? WHERE rowid = 1",
        [time.time()],
    )
    con.commit()
    con.close()


def measure_commands(tmp: Path, home: Path) -> None:
    print("the costaudit command, each run in a new process (wall, peak memory):")
    run = command_line(tmp, home, tmp / "cli-ledger.duckdb")
    run("  costaudit scan (cold: read, store, price)", "cold scan", "scan")
    run("  costaudit scan (rescan, nothing new)", "rescan", "scan")
    run(
        "  costaudit report --no-scan --format json",
        "report",
        "report",
        "--no-scan",
        "--format",
        "json",
    )
    run("  costaudit report --format json (scans first)", None, "report",
        "--format", "json")  # fmt: skip


def measure_in_process(tmp: Path, home: Path) -> int:
    print("the same work in this process:")
    options = Options(ledger_path=tmp / "ledger.duckdb", hermes_home=home,
                      user_home=tmp)  # fmt: skip
    with Workspace(options) as workspace:
        timed("  cold scan (read, store, price)", workspace.scan, "cold scan")
        records = workspace.ledger.record_count()
        timed("  rescan, nothing new", workspace.scan, "rescan")
        window = workspace.window()
        infra = workspace.infrastructure()
        timed(
            "  report by profile,model",
            lambda: build_report(workspace.ledger, window, ["profile", "model"],
                                 infra),
            "report",
        )  # fmt: skip
        grow_one_session(home)
        timed("  rescan after one session grew", workspace.scan, "rescan")
    return records


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100_000)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        home = tmp / "hermes"
        make_home(home, args.sessions)
        measure_commands(tmp, home)
        records = measure_in_process(tmp, home)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"usage records in the ledger {records:,}; peak memory "
              f"(RSS) of this process {peak:.0f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
