"""Worker processes that parse pieces of log files, for a scan to use.

Each worker is a fresh interpreter running this module (``python -P -m
costaudit.sources.workers``, ``-P`` so that a folder of the user's named
like a module cannot stand in for it): it imports the parser it is sent and
nothing else, so it stays small (a worker started by :mod:`multiprocessing`
would import the ``costaudit`` command itself, with the ledger's database
and the command line, three times the memory). A worker reads jobs on its
stdin and writes answers on its stdout, each a pickle after its length; it
ends when its stdin closes, and leaves Ctrl-C to the scan, which stops it.

The pool hands each job to an idle worker from a thread, which waits on the
worker's pipe without holding Python's lock, and gives back a future.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any

log = logging.getLogger(__name__)

_LENGTH = struct.Struct("<Q")


class WorkerError(RuntimeError):
    """A worker process ended or answered with nonsense."""


def _send(stream: IO[bytes], value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    """The next value on ``stream``; EOFError when it has ended."""
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError
    (length,) = _LENGTH.unpack(head)
    data = stream.read(length)
    if len(data) < length:
        raise EOFError
    return pickle.loads(data)


class _Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-P", "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def call(self, job: tuple[Callable[..., Any], tuple[Any, ...]]) -> Any:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            _send(stdin, job)
            ok, value = _receive(stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            code = self.process.poll()
            raise WorkerError(f"worker process ended (exit code {code})") from exc
        if not ok:
            raise value
        return value

    def close(self) -> None:
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


class WorkerPool:
    """``size`` worker processes, each running one job at a time."""

    def __init__(self, size: int) -> None:
        self.idle: queue.Queue[_Worker] = queue.Queue()
        self.workers = [_Worker() for _ in range(size)]
        for worker in self.workers:
            self.idle.put(worker)
        self.threads = ThreadPoolExecutor(size, thread_name_prefix="scan-worker")

    def submit(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        """Run ``function(*args)`` in a worker (both must pickle)."""
        return self.threads.submit(self._run, (function, args))

    def _run(self, job: tuple[Callable[..., Any], tuple[Any, ...]]) -> Any:
        worker = self.idle.get()
        try:
            return worker.call(job)
        finally:
            self.idle.put(worker)

    def close(self) -> None:
        self.threads.shutdown(wait=True, cancel_futures=True)
        for worker in self.workers:
            worker.close()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(jobs: IO[bytes], answers: IO[bytes]) -> None:
    """Run the jobs read from ``jobs`` until it ends, answering each with
    ``(True, result)`` or ``(False, exception)``."""
    while True:
        try:
            function, args = _receive(jobs)
        except EOFError:
            return
        try:
            answer: tuple[bool, Any] = (True, function(*args))
        except Exception as exc:  # handed back to the scan, which decides
            answer = (False, exc)
        _send(answers, answer)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(sys.stdin.buffer, sys.stdout.buffer)
    # Nothing is left to clean up: skip the interpreter's slow teardown.
    sys.stdout.flush()
    os._exit(0)
