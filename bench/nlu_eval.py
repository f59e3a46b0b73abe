"""NLU quality: 5-fold cross-validation on the training data, and the held-out set.

    make nlu-eval            (python -m bench.nlu_eval [--folds 5])

Targets (issue 2): intent macro F1 >= 0.95 and out_of_scope F1 >= 0.90 in cross-validation.
The held-out set (tests/nlu/heldout.yml) was written apart from the training data; its
accuracy is the better guess at how the assistant does on questions nobody wrote for it.
Exits 1 when a target is missed. Reports land in results/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT_ROOT / "results"
MODEL = PROJECT_ROOT / "models" / "bureau.tar.gz"
HELDOUT = PROJECT_ROOT / "tests" / "nlu" / "heldout.yml"
MACRO_F1_TARGET = 0.95
OUT_OF_SCOPE_F1_TARGET = 0.90


def _rasa(*args: str) -> None:
    rasa = Path(sys.executable).parent / "rasa"
    subprocess.run([str(rasa), *args], cwd=PROJECT_ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _intent_report(directory: Path) -> dict:
    return json.loads((directory / "intent_report.json").read_text())


def cross_validate(folds: int) -> dict:
    out = RESULTS / "nlu-cv"
    _rasa("test", "nlu", "--nlu", "data/nlu", "--config", "config.yml",
          "--cross-validation", "--folds", str(folds), "--out", str(out))
    return _intent_report(out)


def heldout() -> dict:
    out = RESULTS / "nlu-heldout"
    _rasa("test", "nlu", "--nlu", str(HELDOUT), "--model", str(MODEL), "--out", str(out))
    return _intent_report(out)


def weakest(report: dict, n: int = 5) -> list[tuple[str, float]]:
    intents = {k: v["f1-score"] for k, v in report.items()
               if isinstance(v, dict) and "f1-score" in v and not k.endswith("avg")}
    return sorted(intents.items(), key=lambda item: item[1])[:n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)

    started = time.monotonic()
    cv = cross_validate(args.folds)
    cv_seconds = time.monotonic() - started
    macro = cv["macro avg"]["f1-score"]
    oos = cv["out_of_scope"]["f1-score"]
    print(f"{args.folds}-fold cross-validation ({cv_seconds:.0f} s): "
          f"intent macro F1 {macro:.3f} (target {MACRO_F1_TARGET}), "
          f"out_of_scope F1 {oos:.3f} (target {OUT_OF_SCOPE_F1_TARGET}), "
          f"accuracy {cv['accuracy']:.3f}")
    print("  weakest intents:", ", ".join(f"{k} {v:.3f}" for k, v in weakest(cv)))

    if MODEL.exists():
        held = heldout()
        print(f"held-out set ({held['macro avg']['support']} examples): "
              f"accuracy {held['accuracy']:.3f}, macro F1 {held['macro avg']['f1-score']:.3f}")
        print("  weakest intents:", ", ".join(f"{k} {v:.3f}" for k, v in weakest(held)))
    else:
        print("held-out set: skipped, no trained model (make train)")

    ok = macro >= MACRO_F1_TARGET and oos >= OUT_OF_SCOPE_F1_TARGET
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
