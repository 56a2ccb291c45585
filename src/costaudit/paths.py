"""Default locations of the config file and the ledger."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "costaudit"


def default_config_path() -> Path:
    """``config.toml`` in the platform's user config dir."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


def default_ledger_path() -> Path:
    """``ledger.duckdb`` in the platform's user data dir."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "ledger.duckdb"
