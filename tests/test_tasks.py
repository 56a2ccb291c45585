"""Naming tasks from cron jobs, titles, first prompts and user rules."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from costaudit.config import Config
from costaudit.errors import ConfigError
from costaudit.ledger.store import Ledger
from costaudit.sources.hermes import HermesSource
from costaudit.sources.hermes.home import profiles
from costaudit.sources.hermes.settle import (
    FINGERPRINT_KEY,
    rename_tasks,
    task_fingerprint,
)
from costaudit.sources.hermes.tasks import (
    _COUNTER_SUFFIX,
    _DATE_SUFFIX,
    _WORD,
    PROMPT_WORDS,
    UNTITLED,
    TaskNamer,
    load_cron_jobs,
    name_from_prompt,
    rules_from_config,
    strip_title,
)
from tests.conftest import Result


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Morning briefing · Nov 03 07:00", "Morning briefing"),
        ("Status check · Dec 1 13:05", "Status check"),
        ("Weekly report 2026-11-03", "Weekly report"),
        ("Design review #2", "Design review"),
        ("Plain title", "Plain title"),
    ],
)
def test_strip_title(title: str, expected: str) -> None:
    assert strip_title(title) == expected


def strip_by_definition(title: str) -> str:
    """``strip_title`` as its regular expressions define it, tried at every
    position, twice over: what the quicker one must give."""
    stripped = title.strip()
    if not any(ch.isdigit() for ch in stripped):
        return stripped
    for _ in range(2):
        stripped = _DATE_SUFFIX.sub("", stripped)
        stripped = _COUNTER_SUFFIX.sub("", stripped)
    return stripped.strip(" ·|-–—:,") or title.strip()


# Titles near the edges of the suffixes: month names (one hidden in a word,
# one with a long s that matches "s" ignoring case), weekdays, dates, times,
# counters, separators, blanks and non-ASCII digits, put together at random
# and in the order of a dated title.
TITLE_PIECES = [
    "Mar", "sept.", "ſep", "Summarymar", "Monday,", "Tue", "task", "Review of",
    "#", "(", ")", "12", "3", "2024", "2026-11-03", "07:00", "8:05:09", "T",
    "#7", "(12)", "-", "–", "·", "|", "@", ",", ":", ".", " ", "  ", "\t", "\n",
    "٣", "²", "x", "_",
]  # fmt: skip
pieces = st.lists(st.sampled_from(TITLE_PIECES) | st.text(max_size=3), max_size=10)
one_of = st.sampled_from
dated = st.tuples(
    one_of(["Morning briefing", "task 3", "Budget 2024", "x#1", "", "Review"])
    | pieces.map("".join),
    one_of(["", " ", " · ", " - ", " | ", ", ", ": ", " — ", "@", "  -  "]),
    one_of(["", "Mon ", "Tuesday, ", "sat,  ", "Sun"]),
    st.tuples(
        one_of(["Mar", "sept.", "ſep", "Summarymar", "DEC", "jan..", "Nov"]),
        one_of([" ", "  ", "\t", ""]),
        one_of(["3", "03", "12", "123", "٣", "²"]),
        one_of(["", " 2024", ", 2026", ",2026", " 24", " 20245"]),
    ).map("".join)
    | one_of(["2026-11-03", "2026-1-03", "x2026-11-03", "12026-11-03"]),
    one_of(["", " 07:00", "T08:05:09", " 7:5", " T 12:30", " 07:00:1"]),
    one_of(["", " #2", "(3)", " #", "()", " (٣)"]),
    one_of(["", " ", "\n"]),
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(pieces.map("".join) | dated)
@example("Morning briefing · Nov 03 07:00")
@example("Design review #2 (3)")
@example("Budget 2024 · Mon, Sep 7")
def test_strip_title_gives_what_its_expressions_define(title: str) -> None:
    assert strip_title(title) == strip_by_definition(title)


@given(st.text(alphabet="ab Z'-+3.\n", max_size=60))
def test_name_from_prompt_takes_the_first_words(prompt: str) -> None:
    words = _WORD.findall(prompt)[:PROMPT_WORDS]
    expected = " ".join(w.lower() for w in words) if words else UNTITLED
    assert name_from_prompt(prompt) == expected


def test_each_session_is_named_as_the_namer_names_it_alone(
    sample_home: Path,
) -> None:
    """The reader names a session once for all its records: each record's
    task is what the namer gives for its own session, title and prompt."""
    config = Config(raw=tomllib.loads(REVIEW_RULE + PROMPT_RULE))
    namer = TaskNamer(rules_from_config(config))
    jobs = {p.name: load_cron_jobs(p.jobs_file) for p in profiles(sample_home)}
    records = [
        r for batch in HermesSource(sample_home, namer).scan({}) for r in batch.records
    ]
    assert len({r.session_id for r in records}) < len(records)  # side calls too
    for record in records:
        alone = TaskNamer(rules_from_config(config)).name(
            record.profile,
            record.session_id,
            record.title,
            record.first_prompt,
            jobs[record.profile],
        )
        assert record.task == alone, record.record_key
    tasks = {r.task for r in records}
    assert {"code review", "quality check"} <= tasks


def test_cron_job_name_through_the_session_id() -> None:
    namer = TaskNamer([])
    jobs = {"3f9a0c1b2d4e": "Morning briefing"}
    name = namer.name("hermy", "cron_3f9a0c1b2d4e_20261103_070000", "x", None, jobs)
    assert name == "Morning briefing"


def test_deleted_cron_job_falls_back_to_its_title() -> None:
    namer = TaskNamer([])
    name = namer.name(
        "hermy", "cron_aaaaaaaaaaaa_20261103_070000", "Old digest · Nov 03 07:00",
        None, {},
    )  # fmt: skip
    assert name == "Old digest"


def test_first_prompt_when_there_is_no_title() -> None:
    assert name_from_prompt("Review this PR: fix the 3 failing tests!") == (
        "review this pr fix the failing"
    )


def test_user_rules_come_first() -> None:
    config = Config(
        raw=tomllib.loads(
            '[[tasks]]\npattern = "(?i)review"\ntask = "code review"\n'
            'match = "prompt"\nprofile = "codi"\n'
        )
    )
    namer = TaskNamer(rules_from_config(config))
    assert namer.name("codi", "s1", "Anything", "Please review", {}) == "code review"
    assert namer.name("sira", "s1", "Anything", "Please review", {}) == "Anything"


def test_bad_rule_names_the_field() -> None:
    config = Config(raw=tomllib.loads('[[tasks]]\npattern = "("\ntask = "x"\n'))
    with pytest.raises(ConfigError, match=r"tasks\[0\]\.pattern"):
        rules_from_config(config)


# Task names follow the rules, the cron jobs and the titles as they are now,
# for records stored before as well as new ones.


def _scan(
    cli: Callable[..., Result], home: Path, ledger: Path, config: str = ""
) -> dict[str, tuple[str, str]]:
    """Scan ``home`` with ``config``; every Hermes record's task and title."""
    config_file = ledger.with_suffix(".toml")
    config_file.write_text("[sources.hermes_agent_log]\nenabled = false\n" + config)
    result = cli("--config", str(config_file), "--ledger", str(ledger),
                 "--hermes-home", str(home), "scan")  # fmt: skip
    assert result.code == 0, result.err
    with Ledger.open(ledger) as opened:
        rows = opened.fetch(
            "SELECT record_key, task, coalesce(title, '') FROM usage "
            "WHERE source = 'hermes'"
        )
    return {key: (task, title) for key, task, title in rows}


def _fresh(cli: Callable[..., Result], home: Path, config: str = "") -> dict[str, Any]:
    """What a scan into a new ledger names every record."""
    with tempfile.TemporaryDirectory() as tmp:
        return _scan(cli, home, Path(tmp) / "fresh.duckdb", config)


REVIEW_RULE = """
[[tasks]]
pattern = "(?i)^review of"
task = "code review"
match = "title"
profile = "codi"
"""

PROMPT_RULE = """
[[tasks]]
pattern = "(?i)check"
task = "quality check"
match = "prompt"
"""


def test_a_new_rule_renames_records_stored_before(
    sample_home: Path, cli: Callable[..., Result], tmp_path: Path
) -> None:
    ledger = tmp_path / "l.duckdb"
    before = _scan(cli, sample_home, ledger)
    assert not any(task == "code review" for task, _ in before.values())

    after = _scan(cli, sample_home, ledger, REVIEW_RULE)
    assert after == _fresh(cli, sample_home, REVIEW_RULE)
    renamed = {k for k, (task, _) in after.items() if task == "code review"}
    assert renamed and all(k.startswith("codi|") for k in renamed)
    # Side calls follow their session's main task.
    assert any(k.endswith("|title_generation") for k in renamed)

    # Taking the rule out names them as before.
    assert _scan(cli, sample_home, ledger) == before


def test_a_renamed_cron_job_renames_its_runs(
    sample_home: Path, cli: Callable[..., Result], tmp_path: Path
) -> None:
    ledger = tmp_path / "l.duckdb"
    before = _scan(cli, sample_home, ledger)
    assert any(task == "Morning briefing" for task, _ in before.values())
    jobs_file = sample_home / "profiles" / "hermy" / "cron" / "jobs.json"
    jobs = json.loads(jobs_file.read_text())
    for job in jobs["jobs"]:
        if job["name"] == "Morning briefing":
            job["name"] = "Daily digest"
    jobs_file.write_text(json.dumps(jobs))

    after = _scan(cli, sample_home, ledger)
    assert after == _fresh(cli, sample_home)
    assert not any(task == "Morning briefing" for task, _ in after.values())
    digests = {k for k, (task, _) in after.items() if task == "Daily digest"}
    assert digests == {
        k for k, (task, _) in before.items() if task == "Morning briefing"
    }


def test_a_title_that_arrives_later_renames_the_session(
    sample_home: Path, cli: Callable[..., Result], tmp_path: Path
) -> None:
    db = sample_home / "profiles" / "codi" / "state.db"
    session = "20261027_130443_604d27"
    con = sqlite3.connect(db)
    title = con.execute("SELECT title FROM sessions WHERE id = ?", [session])
    title = title.fetchone()[0]
    side_call = con.execute(
        "SELECT * FROM session_model_usage WHERE session_id = ? "
        "AND task = 'title_generation'",
        [session],
    ).fetchone()
    # Before Hermes titles the session: no title, no title_generation row.
    con.execute("UPDATE sessions SET title = NULL WHERE id = ?", [session])
    con.execute(
        "DELETE FROM session_model_usage WHERE session_id = ? "
        "AND task = 'title_generation'",
        [session],
    )
    con.commit()
    ledger = tmp_path / "l.duckdb"
    early = _scan(cli, sample_home, ledger)
    main_key = next(k for k in early if k.startswith(f"codi|{session}|"))
    assert early[main_key][0] != strip_title(title)

    # Hermes titles it after the first turn, with a side call of its own.
    con.execute("UPDATE sessions SET title = ? WHERE id = ?", [title, session])
    marks = ", ".join("?" * len(side_call))
    con.execute(f"INSERT INTO session_model_usage VALUES ({marks})", side_call)
    con.execute(
        "UPDATE session_model_usage SET last_seen = ? WHERE session_id = ? "
        "AND task = 'title_generation'",
        [time.time(), session],
    )
    con.commit()
    con.close()
    later = _scan(cli, sample_home, ledger)
    assert later[main_key] == (strip_title(title), title)
    assert later == _fresh(cli, sample_home)


def test_unchanged_rules_rename_nothing(sample_home: Path, tmp_path: Path) -> None:
    namer = TaskNamer([])
    with Ledger.open(tmp_path / "l.duckdb") as ledger:
        assert rename_tasks(ledger, namer, sample_home) == 0
        fingerprint = ledger.get_meta(FINGERPRINT_KEY)
        assert fingerprint == task_fingerprint(namer, sample_home)
        assert rename_tasks(ledger, namer, sample_home) == 0
        config = Config(raw=tomllib.loads(REVIEW_RULE))
        assert task_fingerprint(TaskNamer(rules_from_config(config)), sample_home) != (
            fingerprint
        )
