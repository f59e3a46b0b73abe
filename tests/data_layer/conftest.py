"""Fixtures for the data layer tests: record factories, CSV files, the CLI as a subprocess."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from bot.applications import ApplicationRecord

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def make_record():
    """Build an ApplicationRecord with sensible defaults; keyword arguments override."""

    def build(number: str = "SC2026000001", **overrides) -> ApplicationRecord:
        values = {
            "application_number": number,
            "holder_name": "Zhang Xiaoming",
            "holder_id_number": "11010520180607015X",
            "status": "submitted",
            "updated_at": date(2026, 3, 1),
        }
        values.update(overrides)
        return ApplicationRecord(**values)

    return build


@pytest.fixture
def write_csv(tmp_path):
    """Write a CSV file from rows (lists) or raw text; returns its path."""

    def write(rows_or_text, name: str = "input.csv", bom: bool = False) -> Path:
        if isinstance(rows_or_text, str):
            content = rows_or_text
        else:
            buffer = io.StringIO(newline="")
            csv.writer(buffer, lineterminator="\n").writerows(rows_or_text)
            content = buffer.getvalue()
        path = tmp_path / name
        path.write_bytes(("\ufeff" if bom else "").encode() + content.encode("utf-8"))
        return path

    return write


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def run_cli(database_url):
    """Run ``python -m bot ARGS`` against the test database, as staff would."""

    def run(*args: str) -> CliResult:
        env = {**os.environ, "DATABASE_URL": database_url}
        completed = subprocess.run(
            [sys.executable, "-m", "bot", *args],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return CliResult(completed.returncode, completed.stdout, completed.stderr)

    return run
