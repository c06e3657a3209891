"""Build data/catalog/rxnorm_drugs.tsv: every RxNorm code (with its display) that the Synthea bundles in
../shared/data/synthea use, from MedicationRequest.medicationCodeableConcept and Medication.code.

    .venv/bin/python bench/extract_rxnorm.py [SYNTHEA_FOLDER] [OUT_FILE]

No RxNorm package is reachable from this workplace, so the catalogue is the set of real RxNorm concepts the
reference data prescribes; a drug outside it is prescribed as free text (marked "uncoded").
"""

from __future__ import annotations

import gzip
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "synthea"
DEFAULT_OUT = ROOT / "data" / "catalog" / "rxnorm_drugs.tsv"


def codings(concept: Any) -> list[tuple[str, str]]:
    if not isinstance(concept, dict):
        return []
    found = []
    for coding in concept.get("coding") or []:
        if isinstance(coding, dict) and coding.get("system") == RXNORM and coding.get("code"):
            found.append((str(coding["code"]).strip(), " ".join(str(coding.get("display") or "").split())))
    return found


def extract(source: Path) -> tuple[dict[str, str], Counter[str], int]:
    names: dict[str, str] = {}
    uses: Counter[str] = Counter()
    files = 0
    for path in sorted(source.rglob("*.json.gz")):
        files += 1
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            bundle = json.load(handle)
        for entry in bundle.get("entry") or []:
            res = entry.get("resource") or {}
            kind = res.get("resourceType")
            if kind == "MedicationRequest":
                pairs = codings(res.get("medicationCodeableConcept"))
            elif kind == "Medication":
                pairs = codings(res.get("code"))
            else:
                continue
            for code, display in pairs:
                uses[code] += 1
                if display and (code not in names or len(display) > len(names[code])):
                    names[code] = display
    return names, uses, files


def main(argv: list[str]) -> int:
    source = Path(argv[0]) if argv else DEFAULT_SOURCE
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    names, uses, files = extract(source)
    lines = [
        "# RxNorm drug concepts (code, name) used by the Synthea FHIR R4 reference bundles (shared/data/synthea).",
        f"# Extracted by bench/extract_rxnorm.py from {files} bundles: MedicationRequest.medicationCodeableConcept",
        f"# and Medication.code codings with system {RXNORM}. Codes and names are the NLM's RxNorm.",
        "code\tname",
    ]
    for code in sorted(names, key=lambda c: (names[c].casefold(), c)):
        lines.append(f"{code}\t{names[code]}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(names)} RxNorm concepts from {files} bundles ({sum(uses.values())} uses) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
