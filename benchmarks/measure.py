"""Measuring commands as a user runs them: wall time and the peak memory of
the whole process tree, each in a new process.

Shared by the benchmarks in this folder. The ``costaudit`` measured is the
one installed next to the Python that runs the benchmark. Its bytecode is
compiled first, next to its sources (as ``pip install`` compiles an
installed package's), and the runs may write bytecode: with
``PYTHONDONTWRITEBYTECODE`` set, as some sandboxes have, every run of an
editable install would compile the package's sources again at its start.
"""

from __future__ import annotations

import compileall
import os
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import costaudit


@dataclass
class Run:
    wall_s: float
    peak_bytes: int
    out: str
    cpu_s: float = 0.0
    """User and system time of the process and the children it waited for:
    unlike wall time, it hardly changes when other work shares the CPUs."""


def costaudit_command(*argv: str) -> list[str]:
    """The ``costaudit`` command installed next to this Python."""
    script = Path(sys.executable).with_name("costaudit")
    if script.exists():
        return [str(script), *argv]
    code = "from costaudit.interfaces.cli.app import main; main()"
    return [sys.executable, "-c", code, *argv]


def compiled_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` for the runs, once the package's bytecode is compiled."""
    package = Path(costaudit.__file__).parent
    if compileall.compile_dir(package, quiet=1, force=False):
        print(f"bytecode of {package} is compiled")
    else:
        print(f"note: could not compile {package}; runs compile what they import")
    found = dict(env)
    found.pop("PYTHONDONTWRITEBYTECODE", None)
    return found


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and every process under it, from /proc."""
    parents: dict[int, int] = {}
    sizes: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        parents[pid] = int(fields[1])
        sizes[pid] = int(fields[21]) * page
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += sizes.get(pid, 0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total


def measured(argv: list[str], env: dict[str, str]) -> Run:
    """Run ``argv``; its wall time, CPU time, the peak resident size of its
    process tree (sampled every 20 ms, and never less than the largest single
    process's own peak), and its stdout. A failure stops the benchmark with
    its stderr."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    before = used.ru_maxrss
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            peak[0] = max(peak[0], tree_rss(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} ... failed:\n{err[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    single = after.ru_maxrss * 1024 if after.ru_maxrss > before else 0
    cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    return Run(wall, max(peak[0], single), out, cpu)


def machine() -> str:
    """CPUs and load, to read the figures by: they are wall times."""
    return (
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} "
        "(wall times: on a shared machine they vary from run to run)"
    )


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"
