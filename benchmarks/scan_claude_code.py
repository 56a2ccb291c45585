"""Scan speed and memory on Claude Code logs, next to ccusage on the same files.

Generates Claude Code style session logs under a temporary directory (by
default 1 GB in many files plus one file of 600 MB, with streamed messages
written several times), then measures, each in its own process:

- a cold scan into a new ledger (time and peak RSS);
- a rescan with nothing new, followed by a daily report query on the ledger;
- ``ccusage claude daily --json --offline`` on the same files.

Usage::

    python benchmarks/scan_claude_code.py [--many-mb 1024] [--big-mb 600]
        [--ccusage /tmp/ccu/node_modules/.bin/ccusage] [--keep DIR] [--workers N]

The generated data is deleted at the end unless ``--keep`` names a folder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MODELS = ("claude-sonnet-4-20250514", "claude-opus-4-1-20250805")
LINE_HEAD = (
    '{"parentUuid":"%s","isSidechain":false,"userType":"external",'
    '"cwd":"/home/dev/%s","sessionId":"%s","version":"1.0.51","gitBranch":"main",'
)
ASSISTANT = (
    '"message":{"id":"msg_%s","type":"message","role":"assistant","model":"%s",'
    '"content":[{"type":"text","text":"%s"}],"stop_reason":null,'
    '"stop_sequence":null,"usage":{"input_tokens":%d,'
    '"cache_creation_input_tokens":%d,"cache_read_input_tokens":%d,'
    '"output_tokens":%d,"service_tier":"standard"}},"requestId":"req_%s",'
    '"type":"assistant","uuid":"%s","timestamp":"%s"}\n'
)
USER = (
    '"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_%s",'
    '"type":"tool_result","content":"%s","is_error":false}]},"uuid":"%s",'
    '"timestamp":"%s"}\n'
)


def _session_lines(
    rng: random.Random, project: str, session: str, day: int
) -> Iterator[str]:
    """Lines of one session: user turns with tool output, streamed replies."""
    parent = "00000000-0000-4000-8000-000000000000"
    second = 0
    while True:
        second += rng.randint(2, 40)
        stamp = (
            f"2025-{7 + day // 28:02d}-{1 + day % 28:02d}T{(second // 3600) % 24:02d}:"
            f"{(second // 60) % 60:02d}:{second % 60:02d}.{rng.randint(0, 999):03d}Z"
        )
        uid = f"{rng.getrandbits(128):032x}"
        head = LINE_HEAD % (parent, project, session)
        output = "x" * rng.randint(200, 12_000)
        yield head + USER % (uid[:20], output, uid, stamp)
        message = f"{rng.getrandbits(96):024x}"
        request = f"{rng.getrandbits(96):024x}"
        model = MODELS[rng.random() < 0.2]
        text = "y" * rng.randint(100, 1500)
        usage = [rng.randint(1, 20), rng.randint(0, 4000), rng.randint(0, 90_000)]
        final = rng.randint(20, 2000)
        parts = rng.randint(1, 3)
        for part in range(parts):
            # Streamed lines carry growing output counts; the last is final.
            out = final if part == parts - 1 else min(final, 1 + part * 10)
            uid = f"{rng.getrandbits(128):032x}"
            yield head + ASSISTANT % (
                message,
                model,
                text,
                *usage,
                out,
                request,
                uid,
                stamp,
            )
        parent = uid


def generate(root: Path, many_mb: int, big_mb: int, seed: int = 7) -> int:
    """Write the logs; return the number of files."""
    rng = random.Random(seed)
    files = 0
    plan = [("big-project", big_mb << 20)] if big_mb else []
    remaining = many_mb << 20
    while remaining > 0:
        size = min(remaining, int(rng.lognormvariate(14.5, 1.0)) + 20_000)
        plan.append((f"project-{files % 40}", size))
        remaining -= size
        files += 1
    for index, (project, size) in enumerate(plan):
        folder = root / "projects" / f"-home-dev-{project}"
        folder.mkdir(parents=True, exist_ok=True)
        session = f"{rng.getrandbits(128):032x}"
        written = 0
        with open(folder / f"{session}.jsonl", "w") as handle:
            for line in _session_lines(rng, project, session, index % 60):
                handle.write(line)
                written += len(line)
                if written >= size:
                    break
    return len(plan)


SCAN = """
import json, os, sys, time

def main():
    t0 = time.perf_counter()
    from costaudit.ledger import Ledger
    from costaudit.ledger.ingest import ingest
    from costaudit.sources.claude_code import ClaudeCodeSource
    ledger = Ledger.open(sys.argv[1])
    source = ClaudeCodeSource([sys.argv[2]], workers=int(sys.argv[3]))
    summary = ingest(ledger, [source])
    t1 = time.perf_counter()
    rows = ledger.fetch(
        "SELECT CAST(started_at AS DATE) AS day, model, sum(input_tokens),"
        " sum(cache_write_tokens), sum(cache_read_tokens), sum(output_tokens)"
        " FROM usage GROUP BY ALL ORDER BY 1, 2"
    )
    t2 = time.perf_counter()
    totals = ledger.fetch(
        "SELECT sum(input_tokens), sum(cache_write_tokens),"
        " sum(cache_read_tokens), sum(output_tokens), count(*) FROM usage"
    )[0]
    print(json.dumps({
        "scan_s": t1 - t0, "report_s": t2 - t1, "days": len(rows),
        "stored": summary.total_records, "issues": len(summary.issues),
        "totals": [int(v) for v in totals],
    }))

if __name__ == "__main__":
    main()
"""

WRAPPER = """
import resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, text=True)
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stdout.write(f"{wall} {peak} {done.returncode}\\n" + done.stdout)
"""


def measured(argv: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall time, peak RSS in bytes and stdout of ``argv``, run under a fresh
    python so that the peak is this program's alone: the largest resident
    size of any one process it started (its workers included)."""
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *argv],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    first, _, rest = done.stdout.partition("\n")
    wall, peak_kib, code = first.split()
    if code != "0":
        raise SystemExit(f"{argv[0]} failed with exit code {code}")
    return float(wall), int(peak_kib) * 1024, rest


def last_json(out: str) -> dict[str, object]:
    """The program's JSON line; anything else it printed goes to stderr."""
    lines = out.strip().splitlines()
    for extra in lines[:-1]:
        print(f"  (output: {extra[:200]})", file=sys.stderr)
    found = json.loads(lines[-1])
    assert isinstance(found, dict)
    return found


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} {five:.1f} {fifteen:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--many-mb", type=int, default=1024)
    parser.add_argument("--big-mb", type=int, default=600)
    parser.add_argument(
        "--ccusage",
        default="/tmp/ccu/node_modules/.bin/ccusage",
        help="ccusage 20.0.24 (npm install --prefix /tmp/ccu ccusage@20.0.24)",
    )
    parser.add_argument("--keep", type=Path, help="generate here and keep the data")
    parser.add_argument(
        "--workers", type=int, default=1, help="parsing processes (default 1)"
    )
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="costaudit-bench-"))
    data = work / "claude"
    try:
        if not (data / "projects").is_dir():
            start = time.perf_counter()
            files = generate(data, args.many_mb, args.big_mb)
            print(f"generated {files} files in {time.perf_counter() - start:.1f} s")
        size = sum(p.stat().st_size for p in data.rglob("*.jsonl"))
        count = sum(1 for _ in data.rglob("*.jsonl"))
        print(f"data: {count} files, {size / 2**20:.0f} MiB; {os.cpu_count()} CPUs")
        report(work, data, args.ccusage, args.workers)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def report(work: Path, data: Path, ccusage: str, workers: int) -> None:
    env = dict(os.environ, TZ="UTC")
    ledger = work / "ledger.duckdb"
    for stale in (ledger, work / "ledger.duckdb.wal"):
        stale.unlink(missing_ok=True)
    scan = [
        sys.executable,
        "-c",
        SCAN,
        str(ledger),
        str(data / "projects"),
        str(workers),
    ]

    print(load())
    wall, rss, out = measured(scan, env)
    cold: dict[str, Any] = last_json(out)
    print(
        f"costaudit cold scan: {wall:.1f} s wall, peak RSS {rss / 2**20:.0f} MiB, "
        f"{cold['stored']} records stored, {cold['issues']} issues; {load()}"
    )
    wall, rss, out = measured(scan, env)
    warm: dict[str, Any] = last_json(out)
    print(
        f"costaudit rescan + report: {wall:.2f} s wall (scan {warm['scan_s']:.2f} s, "
        f"report query {warm['report_s']:.3f} s), peak RSS {rss / 2**20:.0f} MiB, "
        f"{warm['stored']} records stored; {load()}"
    )
    print(
        f"costaudit totals (input, cache write, cache read, output): "
        f"{warm['totals'][:4]}, {warm['totals'][4]} messages"
    )
    if not Path(ccusage).exists():
        print(f"ccusage not found at {ccusage}: not compared")
        return
    argv = [ccusage, "claude", "daily", "--json", "--offline", "--timezone", "UTC"]
    their_wall, rss, out = measured(argv, dict(env, CLAUDE_CONFIG_DIR=str(data)))
    totals = json.loads(out)["totals"]  # ccusage prints one JSON document
    keys = ("inputTokens", "cacheCreationTokens", "cacheReadTokens", "outputTokens")
    print(
        f"ccusage claude daily --json --offline: {their_wall:.1f} s wall, "
        f"peak RSS {rss / 2**20:.0f} MiB; {load()}"
    )
    print(
        f"ccusage totals (input, cache write, cache read, output): "
        f"{[totals[k] for k in keys]}"
    )
    print(
        f"cold scan takes {cold['scan_s'] / their_wall:.2f}x ccusage's time; "
        f"ccusage takes {their_wall / wall:.1f}x the rescan + report"
    )


if __name__ == "__main__":
    main()
