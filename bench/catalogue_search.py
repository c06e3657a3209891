"""Time code searches: loading ICD-10-CM (74,736 billable codes) and the drug list, then 100 searches over the ICD
list (words in any order, prefixes, codes), 100 more with the hospital's usage counts, and 100 over the drugs.
Prints median, p95 and max per search.

Usage: .venv/bin/python bench/catalogue_search.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data.catalog import Catalogue  # noqa: E402

ICD_QUERIES = [
    "diab type 2",
    "E11.9",
    "e119",
    "J45",
    "asthma mild",
    "fracture femur left",
    "hypertension",
    "essential hypert",
    "pneumonia",
    "otitis media acute",
    "Müdigkeit",  # no match: a German word
    "pain low back",
    "migraine without aura",
    "covid",
    "U07.1",
    "sepsis",
    "anemia iron",
    "depression major",
    "z00.00",
    "pregnancy",
]
DRUG_QUERIES = ["amox", "ibuprofen", "insulin", "308182", "metformin 500", "acetaminophen", "inhaler", "lisinopril"]


def timed(search, queries: list[str], rounds: int) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for i in range(rounds):
        query = queries[i % len(queries)]
        start = time.perf_counter()
        search(query, 20)
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(name: str, times: list[float]) -> None:
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(
        f"{name}: {len(times)} searches, median {statistics.median(times):.2f} ms, p95 {p95:.2f} ms, "
        f"max {max(times):.2f} ms, total {sum(times):.0f} ms"
    )


def main() -> int:
    catalogue = Catalogue()
    start = time.perf_counter()
    icd = catalogue.icd()
    print(f"ICD-10-CM: {len(icd.entries)} billable codes indexed in {time.perf_counter() - start:.2f} s")
    start = time.perf_counter()
    drugs = catalogue.drugs()
    print(f"drugs: {len(drugs.entries)} RxNorm concepts loaded in {(time.perf_counter() - start) * 1000:.1f} ms")
    report("ICD-10-CM", timed(catalogue.search_diagnoses, ICD_QUERIES, 100))
    used = {e.code: n for n, e in enumerate(icd.entries[::50], start=1)}  # a hospital's habits: 1,500 codes used
    report(
        "ICD-10-CM with usage counts",
        timed(lambda q, n: catalogue.search_diagnoses(q, n, used), ICD_QUERIES, 100),
    )
    report("drugs", timed(catalogue.search_drugs, DRUG_QUERIES, 100))
    for query in ("diabetes", "hypertension", "diab type 2", "E11.9", "fracture femur left"):
        found = catalogue.search_diagnoses(query, 3)
        print(f"  {query!r}: " + "; ".join(f"{e.code} {e.name}" for e in found))
    return 0


if __name__ == "__main__":
    sys.exit(main())
