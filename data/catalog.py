"""Code catalogues for visit records: billable ICD-10-CM diagnoses (package simple_icd_10_cm) and RxNorm drugs
(data/catalog/rxnorm_drugs.tsv, see data/catalog/README.md). Search by words in any order (case- and
accent-insensitive, each word a prefix of a word of the entry) or by code; results are capped.

Loaded once per process on first use (about a second for ICD-10-CM); thread-safe."""

from __future__ import annotations

import bisect
import heapq
import math
import re
import threading
import warnings
from collections.abc import Iterable, Mapping
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


#: ranking weights (lower scores first); see CodeIndex.search
_DEPTH = 1.0  # per character of the code beyond its 3-character category
_LENGTH = 1 / 30  # per character of the description
_FAMILY = 0.2  # times log2 of the leaves of the code's category (capped): a large family is a common condition
_FAMILY_CAP = 7.0
_WHOLE_CATEGORY = 4.0  # a 3-character code is a whole category without subdivisions: counted as 2**4 leaves
_GENERAL = 0.7  # the "unspecified" / "without complications" child: the usual choice when nothing more is known
_RESIDUAL = 0.7  # "Other ..." codes: what remains once the named forms are excluded
_LATER_ENCOUNTER = 1.5  # an injury's "subsequent encounter" or "sequela" code: after the first visit for it
_PARTIAL = 0.5  # per query word that only starts a word of the entry (not a whole word)
_LEADS = 0.3  # the description starts with the first query word
_USED = 0.4  # times log2(1 + uses of the code in this hospital), capped
_USED_CAP = 2.0
_GENERAL_WORDS = re.compile(r"\bunspecified\b|\bwithout complications\b|\buncomplicated\b|\bnot specified\b")


_SUFFIXES = ("ies", "ing", "ed", "es", "s")


def _stem(token: str) -> str:
    """A typed word without its English ending, for words the code titles use in another form (a prefix
    search already finds longer forms); short words are left alone ("gas" is not "ga")."""
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            return token[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return token


class CodeIndex:
    """Word-prefix index over (code, name) entries."""

    def __init__(self, entries: Iterable[tuple[str, str]]) -> None:
        self.entries = [CodeEntry(code, name) for code, name in entries]
        self.by_code = {e.code: e for e in self.entries}
        postings: dict[str, list[int]] = {}
        family: dict[str, int] = {}
        first_words: list[str] = []
        names: list[str] = []
        for i, entry in enumerate(self.entries):
            folded = fold_text(entry.name)
            names.append(folded)
            name_words = _WORD.findall(folded)
            first_words.append(name_words[0] if name_words else "")
            words = set(_WORD.findall(entry.code.lower())) | set(name_words)
            words.add(self._bare(entry.code))
            for word in words:
                postings.setdefault(word, []).append(i)
            category = self._bare(entry.code)[:3]
            family[category] = family.get(category, 0) + 1
        self._postings = postings
        self._words = sorted(postings)
        self._codes = sorted((self._bare(e.code), i) for i, e in enumerate(self.entries))
        self._first_words = first_words
        self._base = [self._base_score(e, names[i], family) for i, e in enumerate(self.entries)]

    @staticmethod
    def _bare(code: str) -> str:
        return fold_text(code).replace(".", "")

    def _base_score(self, entry: CodeEntry, folded: str, family: dict[str, int]) -> float:
        """What ranks an entry whatever the query: general codes (short codes, the unspecified child of a large
        family, short descriptions) before very specific ones."""
        bare = self._bare(entry.code)
        score = _DEPTH * max(0, len(bare) - 3) + _LENGTH * len(entry.name)
        if len(bare) > 3:
            score -= _FAMILY * min(_FAMILY_CAP, math.log2(family.get(bare[:3], 1)))
        else:  # a 3-character code is its whole category: as general as a code gets
            score -= _FAMILY * _WHOLE_CATEGORY
        if _GENERAL_WORDS.search(folded):
            score -= _GENERAL
        if folded.startswith("other "):
            score += _RESIDUAL
        if folded.endswith((", sequela", ", subsequent encounter")) or "subsequent encounter for" in folded:
            score += _LATER_ENCOUNTER  # ("initial encounter" is a longer title: it would rank last otherwise)
        return score

    def _prefixed(self, token: str) -> set[int]:
        found: set[int] = set()
        start = bisect.bisect_left(self._words, token)
        for word in self._words[start:]:
            if not word.startswith(token):
                break
            found.update(self._postings[word])
        return found

    def search(self, query: str, limit: int = 20, used: Mapping[str, int] | None = None) -> list[CodeEntry]:
        """Codes starting with what was typed first (when it looks like a code), then entries with every word
        typed (each a prefix of a word of the entry), best first: whole words before prefixes, descriptions
        starting with the first word, general codes before specific ones (see `_base_score`), and codes this
        hospital already uses (`used`: code -> number of uses) before others."""
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
            stem = _stem(token)
            if stem != token:  # "sprained" finds "sprain", "injuries" "injury"
                matched |= self._prefixed(stem)
            hits = matched if hits is None else hits & matched
            if not hits:
                break
        words = set(hits or ()) - set(by_code)
        if not words or len(by_code) >= limit:
            return [self.entries[i] for i in by_code[:limit]]
        whole = [set(self._postings.get(token, ())) for token in dict.fromkeys(tokens)]
        lead = tokens[0]
        base, first_words = self._base, self._first_words
        entries = self.entries

        def score(i: int) -> tuple[float, str]:
            value = base[i] + _PARTIAL * sum(1 for w in whole if i not in w)
            if first_words[i] == lead:
                value -= _LEADS
            if used:
                uses = used.get(entries[i].code, 0)
                if uses:
                    value -= min(_USED_CAP, _USED * math.log2(1 + uses))
            return value, entries[i].code

        best = heapq.nsmallest(limit - len(by_code), words, key=score)
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

    def search_diagnoses(self, query: str, limit: int = 20, used: Mapping[str, int] | None = None) -> list[CodeEntry]:
        """`used`: how often this hospital has recorded each ICD-10-CM code (those rank higher)."""
        return self.icd().search(query, limit, used)

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
