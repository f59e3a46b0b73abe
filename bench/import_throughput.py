"""Import throughput: generate N valid application rows, import them into a fresh SQLite file.

    .venv/bin/python bench/import_throughput.py [--rows 100000]

Prints rows per second for a first import (all inserts) and a second import of the same
file (all unchanged: the path a nightly re-import takes). Nothing outside a temp directory
is touched.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.csv_import import APPLICATION_COLUMNS, import_applications  # noqa: E402
from bot.db import make_engine, upgrade_schema  # noqa: E402
from bot.identifiers import resident_id_check_character  # noqa: E402
from bot.statuses import STATUS_VALUES  # noqa: E402

AREAS = ("110101", "110102", "110105", "110106", "110108", "310104", "440305")


def write_rows(path: Path, count: int, seed: int = 2026) -> None:
    """Write ``count`` valid, distinct application rows to ``path``."""
    rng = random.Random(seed)
    first_birth = date(2008, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(APPLICATION_COLUMNS)
        for index in range(count):
            born = first_birth + timedelta(days=rng.randrange(18 * 365))
            first17 = f"{rng.choice(AREAS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
            status = rng.choice(STATUS_VALUES)
            writer.writerow(
                (
                    f"SC2026{index:06d}",
                    f"Holder {index}",
                    first17 + resident_id_check_character(first17),
                    status,
                    (date(2026, 1, 1) + timedelta(days=rng.randrange(300))).isoformat(),
                    "Window 3" if status == "ready_for_collection" else "",
                    "New photo needed" if status == "rejected" else "",
                )
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bureau-bench-") as tmp:
        csv_path = Path(tmp) / "applications.csv"
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        write_rows(csv_path, args.rows)
        upgrade_schema(url)
        engine = make_engine(url)
        try:
            for label in ("first import (inserts)", "second import (unchanged)"):
                started = time.perf_counter()
                report = import_applications(engine, csv_path)
                seconds = time.perf_counter() - started
                print(
                    f"{label}: {args.rows} rows in {seconds:.2f} s = "
                    f"{args.rows / seconds:,.0f} rows/s ({report.summary})"
                )
                if report.rejected:
                    print(f"unexpected rejections, first: {report.rejected[0]}", file=sys.stderr)
                    return 1
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
