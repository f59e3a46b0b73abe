"""Whole conversations (tests/test_stories.yml) through the trained model.

`rasa test core --fail-on-prediction-errors` fails on the first wrong intent or action;
this wrapper makes that part of the pytest run and shows Rasa's report when it fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODEL = PROJECT_ROOT / "models" / "bureau.tar.gz"
STORIES = PROJECT_ROOT / "tests" / "test_stories.yml"


def test_every_conversation_in_test_stories_is_predicted_exactly(tmp_path):
    assert MODEL.exists(), "no trained model: `make test` trains it first (make train)"
    rasa = Path(sys.executable).parent / "rasa"
    result = subprocess.run(
        [
            str(rasa), "test", "core",
            "--model", str(MODEL),
            "--stories", str(STORIES),
            "--fail-on-prediction-errors",
            "--out", str(tmp_path / "results"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    results = tmp_path / "results"
    failed = results / "failed_test_stories.yml"
    report = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, (
        f"conversation tests failed (exit {result.returncode}):\n{report}\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    # Guard against a run that tested nothing: every story evaluated, every one correct.
    accuracy = json.loads((results / "story_report.json").read_text())["conversation_accuracy"]
    stories = STORIES.read_text().count("- story:")
    assert accuracy["total"] == stories
    assert accuracy["correct"] == stories, report
