"""Naming tasks from cron jobs, titles, first prompts and user rules."""

from __future__ import annotations

import tomllib

import pytest

from costaudit.config import Config
from costaudit.errors import ConfigError
from costaudit.sources.hermes.tasks import (
    TaskNamer,
    name_from_prompt,
    rules_from_config,
    strip_title,
)


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
