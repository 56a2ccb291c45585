"""Worker processes for large scans: small, in order, and replaced by the
scan's own process when they fail."""

from __future__ import annotations

import json
import os
import time
import tomllib
from pathlib import Path
from typing import Any, ClassVar

import pytest

from costaudit.config import Config
from costaudit.ledger import Ledger
from costaudit.ledger.ingest import ingest
from costaudit.sources import pieces, workers
from costaudit.sources.claude_code import ClaudeCodeSource
from costaudit.sources.pieces import default_workers
from costaudit.sources.registry import file_sources
from costaudit.sources.workers import WorkerError, WorkerPool


def test_jobs_run_in_other_processes_and_errors_come_back() -> None:
    with WorkerPool(2) as pool:
        pids = {pool.submit(os.getpid).result() for _ in range(6)}
        missing = pool.submit(open, "/no/such/file")

        assert os.getpid() not in pids and 1 <= len(pids) <= 2
        with pytest.raises(FileNotFoundError):
            missing.result()
        assert pool.submit(sum, [1, 2, 3]).result() == 6


def test_a_worker_that_dies_is_an_error_not_a_hang() -> None:
    with WorkerPool(1) as pool:
        job = pool.submit(time.sleep, 30)
        time.sleep(0.5)
        pool.workers[0].process.kill()

        with pytest.raises(WorkerError):
            job.result(timeout=20)


def _line(n: int) -> str:
    entry = {
        "type": "assistant",
        "sessionId": "s",
        "requestId": f"req_{n // 2}",
        "timestamp": f"2025-08-14T09:{n // 60 % 60:02d}:{n % 60:02d}.000Z",
        "message": {
            "id": f"msg_{n // 2}",
            "model": "claude-sonnet-4-20250514",
            "usage": {"input_tokens": 1, "output_tokens": n},
        },
    }
    return json.dumps(entry, separators=(",", ":")) + "\n"


def test_the_scan_reads_on_in_its_own_process_when_workers_die(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pieces, "PIECE_BYTES", 2_000)
    monkeypatch.setattr(pieces, "PARALLEL_MIN_BYTES", 0)
    folder = tmp_path / "projects" / "-home-dev-app"
    folder.mkdir(parents=True)
    for name in ("a", "b", "c"):
        (folder / f"{name}.jsonl").write_text("".join(_line(n) for n in range(80)))

    class DyingPool(WorkerPool):
        """Its workers die once it has been given two jobs."""

        def submit(self, function: Any, *args: Any) -> Any:
            job = super().submit(function, *args)
            if len(self.given) == 1:
                job.result()
                for worker in self.workers:
                    worker.process.kill()
            self.given.append(job)
            return job

        given: ClassVar[list[Any]] = []

    monkeypatch.setattr(workers, "WorkerPool", DyingPool)

    def scan(name: str, count: int) -> list[tuple[Any, ...]]:
        ledger = Ledger.open(tmp_path / f"{name}.duckdb")
        ingest(ledger, [ClaudeCodeSource([str(folder.parent)], workers=count)])
        return ledger.fetch(
            "SELECT source_path, record_key, output_tokens FROM usage ORDER BY 1, 2"
        ) + ledger.fetch(
            'SELECT path, "offset", watermark FROM path_state ORDER BY path'
        )

    assert scan("dying", 2) == scan("alone", 1)
    assert DyingPool.given


def test_claude_code_uses_a_worker_per_cpu_unless_told(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".claude" / "projects").mkdir(parents=True)

    def claude(text: str) -> Any:
        made = file_sources(Config(raw=tomllib.loads(text)), home=home, env={})
        return next(s for s in made if isinstance(s, ClaudeCodeSource))

    assert claude("").workers == default_workers() >= 1
    assert claude("[sources.claude_code]\nworkers = 1\n").workers == 1
    assert default_workers() <= pieces.MAX_WORKERS
