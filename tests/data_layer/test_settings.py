"""Settings come from the environment, with a working default."""

from __future__ import annotations

import dataclasses

import pytest

from bot.settings import PROJECT_ROOT, Settings, get_settings


def test_default_database_is_a_sqlite_file_under_var():
    settings = get_settings({})
    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'bureau.db'}"


def test_database_url_from_environment():
    url = "postgresql+psycopg2://bureau:secret@db.internal:5432/bureau"
    assert get_settings({"DATABASE_URL": url}).database_url == url


def test_blank_variable_means_default():
    assert get_settings({"DATABASE_URL": "  "}) == get_settings({})


def test_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    assert get_settings().database_url == "sqlite:////tmp/elsewhere.db"


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings.from_env({}).database_url = "sqlite://"  # type: ignore[misc]
