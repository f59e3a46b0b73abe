"""The trained model on the held-out questions (written apart from the training data).

A regression guard in `make test`; the full figures (cross-validation) come from
`make nlu-eval`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MODEL = PROJECT_ROOT / "models" / "bureau.tar.gz"
HELDOUT = PROJECT_ROOT / "tests" / "nlu" / "heldout.yml"
# Below the cross-validation target on purpose: these are questions nobody trained on.
HELDOUT_ACCURACY_FLOOR = 0.85


def test_heldout_accuracy_stays_above_the_floor(tmp_path):
    assert MODEL.exists(), "no trained model: `make test` trains it first"
    rasa = Path(sys.executable).parent / "rasa"
    subprocess.run(
        [str(rasa), "test", "nlu", "--nlu", str(HELDOUT), "--model", str(MODEL),
         "--out", str(tmp_path)],
        cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=600,
    )
    report = json.loads((tmp_path / "intent_report.json").read_text())
    assert report["macro avg"]["support"] >= 150
    assert report["accuracy"] >= HELDOUT_ACCURACY_FLOOR, {
        k: v["f1-score"] for k, v in report.items() if isinstance(v, dict) and "f1-score" in v
    }
