"""Code catalogues for visit records: billable ICD-10-CM diagnoses (package simple_icd_10_cm) and RxNorm drugs
(data/catalog/rxnorm_drugs.tsv, see data/catalog/README.md). Search by words in any order (case- and
accent-insensitive, each word a prefix of a word of the entry) or by code; results are capped.

Loaded once per process on first use (about a second for ICD-10-CM); thread-safe."""

from __future__ import annotations

import bisect
import heapq
import re
import threading
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from domain.model import fold_text

DRUG_FILE = Path(__file__).resolve().parent / "catalog" / "rxnorm_drugs.tsv"
_WORD = re.compile(r"[a-z0-9]+")
_CODE_LIKE = re.compile(r"^[a-z]\d[0-9a-z.]*$|^\d+$")
MAX_QUERY = 200


@dataclass(frozen=True)
class CodeEntry:
    code: str
    name: str


class CodeIndex:
    """Word-prefix index over (code, name) entries."""

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        self.entries = [CodeEntry(code, name) for code, name in entries]
        self.by_code = {e.code: e for e in self.entries}
        postings: dict[str, list[int]] = {}
        for i, entry in enumerate(self.entries):
            words = set(_WORD.findall(fold_text(f"{entry.code} {entry.name}")))
            words.add(self._bare(entry.code))
            for word in words:
                postings.setdefault(word, []).append(i)
        self._postings = postings
        self._words = sorted(postings)
        self._codes = sorted((self._bare(e.code), i) for i, e in enumerate(self.entries))

    @staticmethod
    def _bare(code: str) -> str:
        return fold_text(code).replace(".", "")

    def _prefixed(self, token: str) -> set[int]:
        found: set[int] = set()
        start = bisect.bisect_left(self._words, token)
        for word in self._words[start:]:
            if not word.startswith(token):
                break
            found.update(self._postings[word])
        return found

    def search(self, query: str, limit: int = 20) -> list[CodeEntry]:
        folded = fold_text((query or "")[:MAX_QUERY]).strip()
        tokens = _WORD.findall(folded)
        if not tokens:
            return []
        by_code: list[int] = []
        if _CODE_LIKE.match(folded.replace(" ", "")):
            bare = folded.replace(" ", "").replace(".", "")
            start = bisect.bisect_left(self._codes, (bare, -1))
            for code, i in self._codes[start:]:
                if not code.startswith(bare) or len(by_code) >= limit:
                    break
                by_code.append(i)
        hits: set[int] | None = None
        for token in sorted(set(tokens), key=len, reverse=True):  # longest first: the smallest sets
            matched = self._prefixed(token)
            hits = matched if hits is None else hits & matched
            if not hits:
                break
        words = set(hits or ()) - set(by_code)
        best = heapq.nsmallest(
            max(0, limit - len(by_code)),
            words,
            key=lambda i: (len(self.entries[i].name), self.entries[i].code),
        )
        return [self.entries[i] for i in by_code + best]


def _icd_entries() -> list[tuple[str, str]]:
    with warnings.catch_warnings():  # the package reads its data with importlib.resources' legacy API
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10_cm as icd

        return [(code, icd.get_description(code)) for code in icd.get_all_codes(True) if icd.is_leaf(code)]


def _drug_entries(path: Path = DRUG_FILE) -> list[tuple[str, str]]:
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line == "code\tname":
            continue
        code, _, name = line.partition("\t")
        entries.append((code.strip(), name.strip()))
    return entries


class Catalogue:
    """The code systems of the record (implements domain.ports.CodeCatalogue)."""

    def __init__(self, drug_file: Path = DRUG_FILE) -> None:
        self._drug_file = drug_file
        self._lock = threading.Lock()
        self._icd: CodeIndex | None = None
        self._drugs: CodeIndex | None = None

    def icd(self) -> CodeIndex:
        with self._lock:
            if self._icd is None:
                self._icd = CodeIndex(_icd_entries())
            return self._icd

    def drugs(self) -> CodeIndex:
        with self._lock:
            if self._drugs is None:
                self._drugs = CodeIndex(_drug_entries(self._drug_file))
            return self._drugs

    def search_diagnoses(self, query: str, limit: int = 20) -> list[CodeEntry]:
        return self.icd().search(query, limit)

    def search_drugs(self, query: str, limit: int = 20) -> list[CodeEntry]:
        return self.drugs().search(query, limit)

    def diagnosis_names(self, codes: Iterable[str]) -> dict[str, str]:
        index = self.icd().by_code
        return {c: index[c].name for c in codes if c in index}

    def drug_names(self, codes: Iterable[str]) -> dict[str, str]:
        index = self.drugs().by_code
        return {c: index[c].name for c in codes if c in index}


#: the process's catalogue (ICD-10-CM takes a second to index: do it once)
CATALOGUE = Catalogue()
