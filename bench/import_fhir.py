"""Import ../shared/data/synthea into a fresh temporary SQLite database and print wall time, bundles/s and counts.

Usage: .venv/bin/python bench/import_fhir.py [PATH ...] [--verbose]
(default PATH: the main Synthea set next to the repository; --verbose prints the per-file progress to stderr).
A second import of the same files is timed as well: it must add nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from data.db import make_engine  # noqa: E402
from data.fhir_import import import_paths  # noqa: E402
from data.migrate import upgrade  # noqa: E402

DEFAULT = ROOT.parent / "shared" / "data" / "synthea"
TABLES = ["account", "patient", "doctor", "department", "appointment", "encounter", "diagnosis", "prescription"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=[str(DEFAULT)])
    parser.add_argument("--verbose", action="store_true", help="print per-file progress to stderr")
    args = parser.parse_args(argv)
    if not all(Path(p).exists() for p in args.paths):
        print(f"missing input: {args.paths}", file=sys.stderr)
        return 2

    def progress(line: str) -> None:
        if args.verbose:
            print(line, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        try:
            started = time.perf_counter()
            report = import_paths(engine, args.paths, progress=progress)
            first = time.perf_counter() - started
            started = time.perf_counter()
            again = import_paths(engine, args.paths)
            second = time.perf_counter() - started
            with engine.connect() as conn:
                counts = {t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in TABLES}
        finally:
            engine.dispose()

    files = report.files + len(report.errors)
    print(f"first import : {first:6.2f} s wall, {files} files, {files / first:6.1f} bundles/s")
    print(f"second import: {second:6.2f} s wall, {again.files / second:6.1f} bundles/s (must add nothing)")
    print("rows: " + ", ".join(f"{t} {n}" for t, n in counts.items()))
    print(report.to_json())
    print(again.to_json())
    return 1 if report.errors or again.errors else 0


if __name__ == "__main__":
    sys.exit(main())
