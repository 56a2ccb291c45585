"""Naming the task a Hermes session worked on.

In order: the user's rules from config (a pattern to a task name); for a cron
run, its job's name (through the session id, or from the run's title when
the job has since been deleted); the session title without its date suffix;
the first words of the first user message; else ``(untitled)``.

Names are not fixed when a record is first read: a new rule, a renamed cron
job or a title that arrives later renames the records already stored (see
:mod:`costaudit.sources.hermes.settle`).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from pathlib import Path

from costaudit.config import Config
from costaudit.errors import ConfigError

log = logging.getLogger(__name__)

UNTITLED = "(untitled)"
NAMING_VERSION = 1
"""Raised when the naming below changes, so stored tasks are named again."""

_CRON_ID = re.compile(r"^cron_([0-9a-f]{6,32})_\d{8}_\d{6}")
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_DATE_SUFFIX = re.compile(
    rf"\s*(?:[·|@,:–—-]\s*)?(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\w*,?\s+)?"
    rf"(?:(?:{_MONTHS})\w*\.?\s+\d{{1,2}}(?:,?\s+\d{{4}})?"
    rf"|\d{{4}}-\d{{2}}-\d{{2}})"
    rf"(?:[ T]+\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?\s*$",
    re.IGNORECASE,
)
_MONTH = re.compile(_MONTHS, re.IGNORECASE)
_COUNTER_SUFFIX = re.compile(r"\s*(?:#\d+|\(\d+\))\s*$")
_WORD = re.compile(r"[A-Za-z][A-Za-z'+-]*")
PROMPT_WORDS = 6


@dataclass(frozen=True)
class TaskRule:
    pattern: re.Pattern[str]
    task: str
    match: str
    """``title``, ``prompt`` or ``any``."""
    profile: str | None

    def applies(self, profile: str, title: str | None, prompt: str | None) -> bool:
        if self.profile and self.profile != profile:
            return False
        texts = []
        if self.match in ("title", "any") and title:
            texts.append(title)
        if self.match in ("prompt", "any") and prompt:
            texts.append(prompt)
        return any(self.pattern.search(text) for text in texts)


def rules_from_config(config: Config) -> list[TaskRule]:
    """``[[tasks]]`` tables: ``pattern``, ``task``, ``match``, ``profile``."""
    rules = []
    for table in config.root.tables("tasks"):
        pattern = table.string("pattern")
        task = table.string("task")
        if not pattern or not task:
            raise table._fail("pattern", "set, with task", pattern)
        match = table.string("match", "any") or "any"
        if match not in ("title", "prompt", "any"):
            raise table._fail("match", "'title', 'prompt' or 'any'", match)
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{table.path}: {table.where}.pattern: {exc}") from None
        rules.append(TaskRule(compiled, task, match, table.string("profile")))
    return rules


def cron_job_id(session_id: str) -> str | None:
    found = _CRON_ID.match(session_id)
    return found.group(1) if found else None


@lru_cache(maxsize=8192)
def strip_title(title: str) -> str:
    """The title without a trailing date, time or counter."""
    stripped = title.strip()
    if not any(map(str.isdigit, stripped)):
        return stripped  # no date, time or counter to remove
    for _ in range(2):
        before = stripped
        if _may_end_in_date(stripped):
            stripped = _DATE_SUFFIX.sub("", stripped)
        if _may_end_in_counter(stripped):
            stripped = _COUNTER_SUFFIX.sub("", stripped)
        if stripped == before:
            break  # a second pass would find nothing either
    return stripped.strip(" ·|-–—:,") or title.strip()


def _trailing_digits(text: str) -> int:
    """How many decimal digits (what ``\\d`` matches) end ``text``."""
    count = 0
    for ch in reversed(text):
        if not ch.isdecimal():
            break
        count += 1
    return count


def _may_end_in_date(text: str) -> bool:
    """Whether ``_DATE_SUFFIX`` may match ``text``.

    A regular expression anchored at the end is still tried at every
    position of the text, which costs most titles far more than this look
    at their end. Every form of the suffix ends in digits (blanks aside):
    two after ``:`` or ``-`` (a time, an ISO date), four after a blank (a
    year), or one or two after a blank that follow a word holding a
    month's name (``Nov 3``, ``Sept. 12``).
    """
    text = text.rstrip()
    digits = _trailing_digits(text)
    if not digits or digits == len(text):
        return False
    before = text[-digits - 1]
    if before in ":-":
        return digits == 2
    if not before.isspace():
        return False
    if digits == 4:
        return True
    return digits <= 2 and _ends_in_month(text[:-digits].rstrip())


def _ends_in_month(text: str) -> bool:
    """Whether ``text`` ends in a word holding a month's name, maybe with a
    full stop after it."""
    if text.endswith("."):
        text = text[:-1]
    start = len(text)
    while start and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return _MONTH.search(text, start) is not None


def _may_end_in_counter(text: str) -> bool:
    """Whether ``_COUNTER_SUFFIX`` matches: ``#12`` or ``(12)`` at the end."""
    text = text.rstrip()
    closed = text.endswith(")")
    if closed:
        text = text[:-1]
    digits = _trailing_digits(text)
    mark = "(" if closed else "#"
    return digits > 0 and text[:-digits].endswith(mark)


def name_from_prompt(prompt: str) -> str:
    # The first words only: a prompt may be thousands of words long.
    words = [m.group() for m in islice(_WORD.finditer(prompt), PROMPT_WORDS)]
    return " ".join(w.lower() for w in words) if words else UNTITLED


def load_cron_jobs(jobs_file: Path) -> dict[str, str]:
    """Job id to job name from a profile's ``cron/jobs.json``."""
    try:
        data = json.loads(jobs_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s: cannot read cron jobs: %s", jobs_file, exc)
        return {}
    jobs = data.get("jobs", []) if isinstance(data, dict) else data
    names = {}
    for job in jobs if isinstance(jobs, list) else []:
        if isinstance(job, dict) and job.get("id") and job.get("name"):
            names[str(job["id"])] = str(job["name"])
    return names


@dataclass
class TaskNamer:
    rules: list[TaskRule]

    def name(
        self,
        profile: str,
        session_id: str,
        title: str | None,
        prompt: str | None,
        cron_jobs: dict[str, str],
    ) -> str:
        for rule in self.rules:
            if rule.applies(profile, title, prompt):
                return rule.task
        job_id = cron_job_id(session_id)
        if job_id is not None and job_id in cron_jobs:
            return cron_jobs[job_id]
        if title:
            return strip_title(title)
        if prompt:
            return name_from_prompt(prompt)
        return UNTITLED
