"""Finding a Hermes home and its profiles."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PROFILE = "default"
_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Profile:
    name: str
    root: Path

    @property
    def state_db(self) -> Path:
        return self.root / "state.db"

    @property
    def jobs_file(self) -> Path:
        return self.root / "cron" / "jobs.json"


def hermes_home(explicit: Path | None = None) -> Path:
    """``--hermes-home``, else ``$HERMES_HOME``, else ``~/.hermes``."""
    if explicit is not None:
        return explicit.expanduser()
    env = os.environ.get("HERMES_HOME")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".hermes"


def profiles(home: Path) -> list[Profile]:
    """The default profile at the root and every ``profiles/<name>/``."""
    found = []
    if (home / "state.db").exists():
        found.append(Profile(DEFAULT_PROFILE, home))
    profiles_dir = home / "profiles"
    if profiles_dir.is_dir():
        for child in sorted(profiles_dir.iterdir()):
            if (
                child.is_dir()
                and _PROFILE_NAME.match(child.name)
                and (child / "state.db").exists()
            ):
                found.append(Profile(child.name, child))
    return found
