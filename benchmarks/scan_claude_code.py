"""Scan speed and memory on Claude Code logs, next to ccusage on the same files.

Generates Claude Code style session logs under a temporary directory (by
default 1 GB in many files plus one file of 600 MB, with streamed messages
written as several lines), then runs, each as its own process, what a user
runs:

- ``costaudit scan`` into a new ledger (cold scan: read, store, price);
- ``costaudit scan`` again (a rescan with nothing new);
- ``costaudit report --format json``: the rescan and report together, as a
  user asks for a report (it scans first, finds nothing new, reports);
- for information, the same as two commands: ``costaudit scan`` then
  ``costaudit report --no-scan --format json`` (whose totals are compared);
- ``ccusage daily --json --offline`` (ccusage 20.0.24, installed with npm
  under the work folder when it is not there) on the same files.

The runs are repeated in rounds (``--rounds``, 3 by default; a round runs
each of them once, in this order, the first from a new ledger), so that one
slow or fast run does not decide a verdict. Each run's median wall time,
median CPU time (user and system, workers included) and largest peak memory
(the resident size of its whole process tree, sampled every 20 ms) are
printed side by side with every round's wall time, then PASS or FAIL
against each aim, on the medians: a cold
scan no slower than ccusage, a rescan and report at least 10 times faster
than ccusage, a peak under 300 MB; and whether the token totals agree. It
is a measurement: it exits 0 whatever the verdicts (1 only when a command
fails). On a machine shared with other work, the CPU times are the figures
to compare: wall times grow with the load, CPU times hardly.

Usage::

    python benchmarks/scan_claude_code.py [--gb 1.0] [--big-mb 600]
        [--workers N] [--rounds 3] [--keep DIR] [--ccusage PATH]

The generated data is deleted at the end unless ``--keep`` names a folder
(a kept folder is used again as it is). Run it on a quiet machine: the
figures are wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from measure import Run, compiled_env, costaudit_command, machine, measured, verdict

CCUSAGE_VERSION = "20.0.24"
PEAK_AIM = 300 << 20
RESCAN_AIM = 10.0
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
KEYS = ("input_tokens", "cache_write_tokens", "cache_read_tokens", "output_tokens")
CCUSAGE_KEYS = ("inputTokens", "cacheCreationTokens", "cacheReadTokens", "outputTokens")


# Generating the logs.


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


def generate(root: Path, many_bytes: int, big_bytes: int, seed: int = 7) -> int:
    """Write the logs under ``root/projects``; return the number of files."""
    rng = random.Random(seed)
    plan = [("big-project", big_bytes)] if big_bytes else []
    remaining = many_bytes
    while remaining > 0:
        size = min(remaining, int(rng.lognormvariate(14.5, 1.0)) + 20_000)
        plan.append((f"project-{len(plan) % 40}", size))
        remaining -= size
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


def ensure_ccusage(given: str | None, work: Path) -> str:
    """The ccusage program to run: ``given``, or 20.0.24 installed with npm."""
    program = given or str(work / "ccusage" / "node_modules" / ".bin" / "ccusage")
    if not Path(program).exists():
        print(f"installing ccusage@{CCUSAGE_VERSION} with npm ...", flush=True)
        subprocess.run(
            ["npm", "install", "--silent", "--prefix", str(Path(program).parents[2]),
             f"ccusage@{CCUSAGE_VERSION}"],
            check=True,
        )  # fmt: skip
    version = subprocess.run(
        [program, "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not version.endswith(CCUSAGE_VERSION):
        raise SystemExit(f"{program} is {version}, not ccusage {CCUSAGE_VERSION}")
    return program


# The comparison.


def write_config(work: Path, data: Path, workers: int | None) -> Path:
    """A config reading only the generated logs; the user's defaults else."""
    config = work / "costaudit.toml"
    config.write_text(
        "[sources.hermes]\nenabled = false\n\n"
        f"[sources.claude_code]\npaths = [{json.dumps(str(data / 'projects'))}]\n"
        + ("" if workers is None else f"workers = {workers}\n")
    )
    return config


def compare(
    work: Path, data: Path, ccusage: str, workers: int | None, rounds: int
) -> None:
    home = work / "home"
    home.mkdir(exist_ok=True)
    # An empty home: neither tool finds any other log than the generated ones.
    env = dict(os.environ, TZ="UTC", HOME=str(home), XDG_CONFIG_HOME=str(home))
    env.pop("CLAUDE_CONFIG_DIR", None)
    ledger = work / "ledger.duckdb"
    config = write_config(work, data, workers)
    ours = compiled_env(env)
    base = ["--config", str(config), "--ledger", str(ledger)]
    theirs_env = dict(env, CLAUDE_CONFIG_DIR=str(data))

    found: dict[str, list[Run]] = {}
    for _ in range(rounds):
        for stale in (ledger, work / "ledger.duckdb.wal"):
            stale.unlink(missing_ok=True)
        commands = {
            "cold scan": ("scan",),
            "rescan, nothing new": ("scan",),
            "rescan + report": ("report", "--format", "json"),
            "  as two: scan": ("scan",),
            "  as two: report --no-scan": ("report", "--no-scan", "--format", "json"),
        }
        for name, argv in commands.items():
            run = measured(costaudit_command(*base, *argv), ours)
            found.setdefault(name, []).append(run)
        run = measured([ccusage, "daily", "--json", "--offline"], theirs_env)
        found.setdefault(CCUSAGE_RUN, []).append(run)
    runs = {name: median_run(taken) for name, taken in found.items()}
    print_runs(found, runs, rounds)
    report = found["  as two: report --no-scan"][-1]
    totals = json.loads(report.out)["totals"]
    their_totals = json.loads(found[CCUSAGE_RUN][-1].out)["totals"]
    mine = [int(totals[k]) for k in KEYS]
    reference = [int(their_totals[k]) for k in CCUSAGE_KEYS]
    print("\ntotals (input, cache write, cache read, output):")
    print(f"  costaudit {mine}, {totals['calls']} messages, ${totals['cost_usd']}")
    print(f"  ccusage   {reference}, ${their_totals.get('totalCost')}")
    verdicts(runs, mine == reference)


CCUSAGE_RUN = "ccusage daily"


def median_run(runs: list[Run]) -> Run:
    """The median wall and CPU time of ``runs``, and their largest peak."""
    return Run(
        statistics.median(r.wall_s for r in runs),
        max(r.peak_bytes for r in runs),
        runs[-1].out,
        statistics.median(r.cpu_s for r in runs),
    )


def print_runs(found: dict[str, list[Run]], runs: dict[str, Run], rounds: int) -> None:
    print(f"\nmedians of {rounds} rounds (each round: every run below, in order)")
    head = f"{'run':<30}{'wall s':>10}{'CPU s':>10}{'peak MiB':>10}"
    print(f"{head}  wall s, each round")
    for name, run in runs.items():
        each = ", ".join(f"{r.wall_s:.2f}" for r in found[name])
        print(f"{_row(name, run)}  {each}")
    two = runs["  as two: scan"].wall_s + runs["  as two: report --no-scan"].wall_s
    print(f"{'  as two, together':<30}{two:>10.2f}")


def _row(name: str, run: Run) -> str:
    peak = run.peak_bytes / 2**20
    return f"{name:<30}{run.wall_s:>10.2f}{run.cpu_s:>10.2f}{peak:>10.0f}"


def verdicts(runs: dict[str, Run], agree: bool) -> None:
    theirs = runs[CCUSAGE_RUN]
    cold = runs["cold scan"].wall_s
    again = runs["rescan + report"].wall_s
    peak = max(run.peak_bytes for name, run in runs.items() if name != CCUSAGE_RUN)
    checks = [
        (f"cold scan {cold:.2f} s <= ccusage {theirs.wall_s:.2f} s",
         cold <= theirs.wall_s),
        (f"rescan + report (one process) {again:.2f} s at least {RESCAN_AIM:.0f}x "
         f"faster than ccusage ({theirs.wall_s / again:.1f}x)",
         theirs.wall_s >= RESCAN_AIM * again),
        (f"peak memory {peak / 2**20:.0f} MiB < {PEAK_AIM >> 20} MiB",
         peak < PEAK_AIM),
        ("token totals agree with ccusage", agree),
    ]  # fmt: skip
    print()
    for text, passed in checks:
        print(f"{verdict(passed)}  {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0, help="logs in many files")
    parser.add_argument(
        "--big-mb", type=float, help="the one large file (default: 0.6 x --gb)"
    )
    parser.add_argument(
        "--workers", type=int, help="[sources.claude_code] workers (default: unset)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds of runs, medians shown"
    )
    parser.add_argument("--keep", type=Path, help="generate here and keep the data")
    parser.add_argument("--ccusage", help=f"a ccusage {CCUSAGE_VERSION} program")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="costaudit-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / "claude"
    big_mb = args.big_mb if args.big_mb is not None else 0.6 * args.gb * 1000
    try:
        ccusage = ensure_ccusage(args.ccusage, work)
        if not (data / "projects").is_dir():
            start = time.perf_counter()
            files = generate(data, int(args.gb * 1e9), int(big_mb * 1e6))
            print(f"generated {files} files in {time.perf_counter() - start:.1f} s")
        size = sum(p.stat().st_size for p in data.rglob("*.jsonl"))
        count = sum(1 for _ in data.rglob("*.jsonl"))
        print(f"data: {count} files, {size / 1e6:,.0f} MB; {machine()}")
        compare(work, data, ccusage, args.workers, args.rounds)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
