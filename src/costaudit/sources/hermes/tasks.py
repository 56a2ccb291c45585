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
    if not any(ch.isdigit() for ch in stripped):
        return stripped  # no date, time or counter to remove
    for _ in range(2):
        stripped = _DATE_SUFFIX.sub("", stripped)
        stripped = _COUNTER_SUFFIX.sub("", stripped)
    return stripped.strip(" ·|-–—:,") or title.strip()


def name_from_prompt(prompt: str) -> str:
    words = _WORD.findall(prompt)[:PROMPT_WORDS]
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
