"""Configuration read from environment variables, with defaults that work on a developer machine.

DATABASE_URL
    SQLAlchemy URL of the database. Default: ``sqlite:///<project root>/var/bureau.db``.
    For PostgreSQL: ``postgresql+psycopg2://user:password@host:5432/name``.

BUREAU_CONTACT_PHONE, BUREAU_CONTACT_HOURS, BUREAU_CONTACT_IN_PERSON
    How staff can be reached, given when someone asks for a person. Defaults point to the
    service halls the office locator lists, since the bureau has no single public number
    of its own besides the national 12333 hotline.
BUREAU_TIMEZONE
    IANA zone in which times are shown to people (lockout end). Default: Asia/Shanghai.

To add a setting, add a field declared with :func:`_env` (variable name, default, parser);
:meth:`Settings.from_env` picks it up without further changes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = PROJECT_ROOT / "var" / "bureau.db"


def default_database_url() -> str:
    """The SQLite file under var/ (created on first use by :func:`bot.db.make_engine`)."""
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def positive_number(
    variable: str, default: float, environ: Mapping[str, str] | None = None
) -> float:
    """A positive number from the environment (the servers' tuning knobs: timeouts,
    lifetimes). Blank means ``default``; anything else that is not a positive number is
    logged and means ``default`` too, so a typo never stops a server."""
    environ = os.environ if environ is None else environ
    raw = environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = 0.0
    if value > 0:
        return value
    logger.warning("%s=%r is not a positive number; using %s", variable, raw, default)
    return default


def _env(variable: str, default: Callable[[], Any], parse: Callable[[str], Any] = str) -> Any:
    # Keeps the variable name, the default and the parser next to the field they configure.
    return field(default_factory=default, metadata={"env": variable, "parse": parse})


@dataclass(frozen=True)
class Settings:
    """Everything the library reads from the environment, resolved once per call site."""

    database_url: str = _env("DATABASE_URL", default_database_url)
    contact_phone: str = _env(
        "BUREAU_CONTACT_PHONE",
        lambda: 'the phone number of your service hall (ask me "find an office")',
    )
    contact_hours: str = _env(
        "BUREAU_CONTACT_HOURS", lambda: "Monday to Friday, 9:00-17:00, except public holidays"
    )
    contact_in_person: str = _env(
        "BUREAU_CONTACT_IN_PERSON",
        lambda: 'the counter of any of our service halls (ask me "find an office")',
    )
    timezone: str = _env("BUREAU_TIMEZONE", lambda: "Asia/Shanghai")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default: ``os.environ``); blank values mean default."""
        environ = os.environ if environ is None else environ
        values = {}
        for setting in fields(cls):
            raw = environ.get(setting.metadata["env"], "").strip()
            if raw:
                values[setting.name] = setting.metadata["parse"](raw)
        return cls(**values)


def get_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Return the current settings. Not cached: tests and the CLI change the environment."""
    return Settings.from_env(environ)
