"""Import FHIR R4 bundles (Synthea output) into the HealthSync tables.

Entry point: `import_paths(engine, paths, progress)` takes `.json` / `.json.gz` files and folders (recursively) and
returns an `ImportReport` with what *this* run added.

How it works
------------
* Files are classified by content, not by name: a Bundle whose entries are all Organization, Location, Practitioner
  or PractitionerRole is a *reference bundle* (Synthea's hospitalInformation* / practitionerInformation*); a Bundle
  holding a Patient is a *patient bundle*; anything else (bad gzip, bad JSON, not a Bundle, a Bundle with no Patient)
  is named in `errors`. Pass 1 reads every file (a file that mentions no Patient resource is parsed and classified
  right away) and loads the reference bundles; pass 2 parses and imports the patient bundles, whatever the argument
  order. Patient bundles are never all held in memory at once.
* One transaction per patient bundle (and per reference run): any exception rolls the whole file back, is reported
  as "path: reason" in `errors`, and the import goes on with the next file.
* Report: counts are rows added by this call; `files` = files imported without error; `skipped` = of those, the
  files that added nothing because everything in them already existed (a reference file: its run added no doctor).
* Idempotent: every imported row carries the FHIR id in its unique `fhir_id` column (patient, appointment,
  encounter, diagnosis, prescription, doctor); existing ids are preloaded with one query per table per bundle and
  skipped, so importing the same files again adds nothing. Existing rows are never updated.

Practitioners and source runs
-----------------------------
Synthea references practitioners by NPI (`Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|NNN`), and NPIs are
unique only within one Synthea run (the California and New York runs reuse NPIs for different people). So:

* A *run* is the set of reference bundles in one directory that share the timestamp of their file names
  (`practitionerInformation<ts>` + `hospitalInformation<ts>`; reference files without such a timestamp form one run
  per directory). Its `source` label is derived from its content: `run-` + 16 hex digits of a SHA-1 over the sorted
  Practitioner ids, so the same reference files give the same source wherever they are and whatever their names.
* One doctor row per Practitioner (`fhir_id` = Practitioner.id, `npi`, `source`; unique (source, npi)). A
  Practitioner whose id is already in the database is reused, never duplicated.
* A patient bundle resolves NPIs against the run(s) whose reference bundles sit in the same directory as the patient
  file or, failing that, in the nearest ancestor directory. If several runs sit there, the run that knows the most
  of the bundle's NPIs (ties: the most matching practitioner display names) wins.
* Fallback when no reference bundle of this import call applies (patients imported later on their own, or an NPI
  missing from the run): the doctors already in the database with those NPIs. The bundle is assigned to the one
  source that explains the most of its NPIs (then most matching display names); on a tie, the source chosen earlier
  in this call for the same directory wins. An NPI then resolves to that source's doctor, else to the only doctor
  with that NPI, else to the only one whose name matches the reference display; otherwise it stays unresolved.
  (The database has no place to remember directory -> source across calls, so that memory is per call.)
* Legacy bundles (2019) reference practitioners by `urn:uuid` and inline the Practitioner resources with the same
  ids as the reference bundles: they resolve by Practitioner.id; an inline Practitioner unknown to the database is
  matched by NPI within the run of its directory, else created (source = that run, or NULL without a run).
* Unresolved practitioner: the encounter is still imported (doctor NULL) but gets no appointment.

Mapping
-------
* Patient -> account (role patient, status invited, no password, so nobody can log in until invited) + patient.
* Encounter -> fulfilled appointment (only when the practitioner resolves; end defaults to start + 15 min;
  created_at = start) + encounter record. Encounters with no date at all are skipped.
* Condition -> diagnosis (all of them, findings included). MedicationRequest -> prescription (drug from
  medicationCodeableConcept or from the referenced Medication).
* Names lose Synthea's digit suffixes and any prefix/suffix. Doctors get no account and no working hours (so they
  cannot be booked); their specialty is PractitionerRole.specialty without a trailing "Physician" ("General Practice
  Physician" -> "General Practice"; "General Practice" when absent); their department is named after it.
* All datetimes are stored as aware UTC; date-only values mean midnight UTC.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from data.tables import (
    AccountRow,
    AppointmentRow,
    DepartmentRow,
    DiagnosisRow,
    DoctorRow,
    EncounterRow,
    PatientRow,
    PrescriptionRow,
)
from domain.model import AccountStatus, AppointmentStatus, Role

try:  # orjson comes with NiceGUI and parses Synthea bundles about twice as fast
    import orjson

    def _loads(raw: bytes) -> Any:
        return orjson.loads(raw)

except ImportError:  # pragma: no cover

    def _loads(raw: bytes) -> Any:
        return json.loads(raw)


__all__ = ["ImportReport", "import_paths"]

DEFAULT_SPECIALTY = "General Practice"
DEFAULT_VISIT = timedelta(minutes=15)
NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
REFERENCE_TYPES = frozenset({"Organization", "Location", "Practitioner", "PractitionerRole"})
PRIMARY_PARTICIPANT = ("PPRF", "PRF", "ATND")
_CHUNK = 500

_ACCOUNT: sa.Table = AccountRow.__table__  # type: ignore[assignment]
_DEPARTMENT: sa.Table = DepartmentRow.__table__  # type: ignore[assignment]
_DOCTOR: sa.Table = DoctorRow.__table__  # type: ignore[assignment]
_PATIENT: sa.Table = PatientRow.__table__  # type: ignore[assignment]
_APPOINTMENT: sa.Table = AppointmentRow.__table__  # type: ignore[assignment]
_ENCOUNTER: sa.Table = EncounterRow.__table__  # type: ignore[assignment]
_DIAGNOSIS: sa.Table = DiagnosisRow.__table__  # type: ignore[assignment]
_PRESCRIPTION: sa.Table = PrescriptionRow.__table__  # type: ignore[assignment]


# ---------------------------------------------------------------------------------------------------- the report


@dataclass
class ImportReport:
    patients: int = 0
    doctors: int = 0
    encounters: int = 0
    conditions: int = 0
    prescriptions: int = 0
    files: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {
                "patients": self.patients,
                "doctors": self.doctors,
                "encounters": self.encounters,
                "conditions": self.conditions,
                "prescriptions": self.prescriptions,
                "files": self.files,
                "skipped": self.skipped,
                "errors": self.errors,
            }
        )


class NotImportable(Exception):
    """The file is not something we can import (bad gzip/JSON, not a FHIR Bundle, no Patient)."""


# ---------------------------------------------------------------------------------------------------- small helpers


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _s(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _cut(text: str | None, limit: int) -> str:
    return (text or "")[:limit]


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(_s(value))
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    number = _float(value)
    if number is None or number != number or abs(number) >= 2**31 - 1:  # NaN, or too big for an INTEGER
        return None
    return int(number)


_DT_RE = re.compile(
    r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?"
    r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def _parse_dt(value: Any) -> datetime | None:
    """A FHIR date, dateTime or instant as aware UTC; partial dates mean the first day, no time means midnight."""
    match = _DT_RE.match(_s(value))
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        moment = datetime(
            int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0), micro
        )
        if offset and offset not in ("Z", "z"):
            digits = offset[1:].replace(":", "").ljust(4, "0")
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
            moment = moment.replace(tzinfo=timezone(-delta if offset[0] == "-" else delta))
        else:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _parse_date(value: Any) -> date | None:
    match = _DT_RE.match(_s(value))
    if not match:
        return None
    year, month, day = match.groups()[:3]
    try:
        return date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None


_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")
_PREFIX = re.compile(r"^(?:(?:dr|mr|mrs|ms|miss|mx|prof|sir|dame|rev)\.?\s+)+", re.IGNORECASE)


def _clean(text: str) -> str:
    """Drop Synthea's digit suffixes (`Angella518` -> `Angella`) and squeeze spaces; keeps apostrophes, accents."""
    return _SPACES.sub(" ", _DIGITS.sub("", text)).strip()


def _name_key(text: str) -> str:
    """Comparable form of a person's name or a reference display (`Dr. Hector463 Boyer713` -> `hector boyer`)."""
    return _PREFIX.sub("", _clean(text)).casefold()


def _human_name(names: Any) -> str:
    """The official name as `given... family`, no digits, no prefix or suffix."""
    candidates = [_d(n) for n in _l(names) if isinstance(n, dict)]
    if not candidates:
        return ""
    chosen = (
        next((n for n in candidates if n.get("use") == "official"), None)
        or next((n for n in candidates if n.get("use") in ("usual", None)), None)
        or next((n for n in candidates if n.get("use") not in ("maiden", "old", "anonymous", "nickname")), None)
        or candidates[0]
    )
    family = chosen.get("family")
    family_text = " ".join(_s(f) for f in family) if isinstance(family, list) else _s(family)
    parts = [_clean(_s(g)) for g in _l(chosen.get("given"))] + [_clean(family_text)]
    name = " ".join(p for p in parts if p)
    return name or _PREFIX.sub("", _clean(_s(chosen.get("text"))))


def _telecom(resource: dict[str, Any], system: str) -> str | None:
    for item in _l(resource.get("telecom")):
        item = _d(item)
        if item.get("system") == system and _s(item.get("value")):
            return _s(item.get("value"))
    return None


def _coding(concept: Any) -> tuple[str, str, str]:
    """(system, code, display) of the first coding; display falls back to the concept text."""
    concept = _d(concept)
    codings = [_d(c) for c in _l(concept.get("coding"))]
    first = codings[0] if codings else {}
    display = (
        _s(first.get("display"))
        or _s(concept.get("text"))
        or next((_s(c.get("display")) for c in codings if _s(c.get("display"))), "")
    )
    return _s(first.get("system")), _s(first.get("code")), display


def _concept_text(concept: Any) -> str:
    return _coding(concept)[2]


def _fhir_id(rid: str) -> str:
    """Column-sized FHIR id (FHIR ids are at most 64 characters; longer ones are hashed, deterministically)."""
    return rid if len(rid) <= 64 else "sha1-" + hashlib.sha1(rid.encode()).hexdigest()  # noqa: S324 - not security


def _specialty(text: str) -> str:
    cleaned = re.sub(r"\s+physician$", "", _SPACES.sub(" ", text).strip(), flags=re.IGNORECASE)
    return _cut(cleaned or DEFAULT_SPECIALTY, 100)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


# ---------------------------------------------------------------------------------------------------- reading files


@dataclass
class _File:
    path: Path
    display: str

    @property
    def directory(self) -> Path:
        return self.path.parent


def _collect(paths: Sequence[str | Path], errors: list[str]) -> list[_File]:
    files: list[_File] = []
    seen: set[Path] = set()

    def add(path: Path, display: str) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            files.append(_File(key, display))

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith((".json", ".json.gz")))
            if not found:
                errors.append(f"{path}: no .json or .json.gz files in this folder")
            for item in found:
                add(item, item.relative_to(path).as_posix())
        elif path.is_file():
            add(path, str(raw))
        else:
            errors.append(f"{path}: no such file or folder")
    return files


_RESOURCE_TYPE = re.compile(rb'"resourceType"\s*:\s*"([A-Za-z]+)"')


def _read_bytes(path: Path) -> bytes:
    """The file's JSON text (gunzipped), or NotImportable with a short reason."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise NotImportable(f"cannot read file ({error.strerror or error})") from error
    if path.name.lower().endswith(".gz") or raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise NotImportable(f"not a valid gzip file ({error})") from error
    return raw[3:] if raw[:3] == b"\xef\xbb\xbf" else raw


def _mentions_patient(raw: bytes) -> bool:
    """Cheap pre-check (no JSON parsing) used to sort files before the real, content-based classification."""
    return b"Patient" in set(_RESOURCE_TYPE.findall(raw))


def _read_bundle(path: Path, raw: bytes | None = None) -> dict[str, Any]:
    """The parsed Bundle, or NotImportable with a short reason."""
    if raw is None:
        raw = _read_bytes(path)
    try:
        data = _loads(raw)
    except ValueError as error:  # json / orjson decode errors, bad UTF-8
        raise NotImportable(f"not valid JSON ({str(error)[:120]})") from error
    if not isinstance(data, dict):
        raise NotImportable("not a FHIR Bundle (JSON is not an object)")
    if data.get("resourceType") != "Bundle":
        kind = data.get("resourceType")
        raise NotImportable(f"not a FHIR Bundle (resourceType {kind!r})" if kind else "not a FHIR resource")
    return data


def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Entries that hold a resource; every resource gets a string `id` (from fullUrl or a content hash if missing)."""
    out: list[dict[str, Any]] = []
    for entry in _l(bundle.get("entry")):
        entry = _d(entry)
        resource = entry.get("resource")
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            continue
        rid = _s(resource.get("id"))
        if not rid:
            url = _s(entry.get("fullUrl"))
            rid = url.rsplit(":", 1)[-1] if url.startswith("urn:") else url.rstrip("/").rsplit("/", 1)[-1]
            if not rid:
                canonical = json.dumps(resource, sort_keys=True, default=str).encode()
                rid = "sha1-" + hashlib.sha1(canonical).hexdigest()  # noqa: S324 - an id, not security
        resource["id"] = rid
        out.append(entry)
    return out


def _is_reference_bundle(entries: list[dict[str, Any]]) -> bool:
    return bool(entries) and all(e["resource"]["resourceType"] in REFERENCE_TYPES for e in entries)


def _has_patient(entries: list[dict[str, Any]]) -> bool:
    return any(e["resource"]["resourceType"] == "Patient" for e in entries)


class _Index:
    """Resolves references inside one bundle: fullUrl, `Type/id`, `urn:uuid:id`, absolute URLs."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.by_url: dict[str, dict[str, Any]] = {}
        self.by_typed: dict[str, dict[str, Any]] = {}
        self.by_id: dict[str, dict[str, Any]] = {}
        for entry in entries:
            resource = entry["resource"]
            url = _s(entry.get("fullUrl"))
            if url:
                self.by_url.setdefault(url, resource)
            self.by_typed.setdefault(f"{resource['resourceType']}/{resource['id']}", resource)
            self.by_id.setdefault(resource["id"], resource)

    def get(self, ref: str) -> dict[str, Any] | None:
        if not ref or "?" in ref or ref.startswith("#"):
            return None
        found = self.by_url.get(ref)
        if found is not None:
            return found
        if ref.startswith("urn:"):
            return self.by_id.get(ref.rsplit(":", 1)[-1])
        parts = ref.rstrip("/").split("/")
        if "_history" in parts:
            parts = parts[: parts.index("_history")]
        return self.by_typed.get("/".join(parts[-2:])) if len(parts) >= 2 else None

    def target_id(self, reference: Any, rtype: str) -> str | None:
        """Id of the `rtype` resource a Reference points to (in the bundle, or by its literal id)."""
        ref = _s(_d(reference).get("reference"))
        if not ref:
            return None
        found = self.get(ref)
        if found is not None:
            return found["id"] if found["resourceType"] == rtype else None
        if "?" in ref or ref.startswith("#"):
            return None
        if ref.startswith("urn:"):
            return ref.rsplit(":", 1)[-1] or None
        parts = ref.rstrip("/").split("/")
        if "_history" in parts:
            parts = parts[: parts.index("_history")]
        return parts[-1] if len(parts) >= 2 and parts[-2] == rtype else None


# ---------------------------------------------------------------------------------------------------- extraction


@dataclass(frozen=True)
class _PracRef:
    npi: str | None
    prac_id: str | None
    display: str


@dataclass
class _Prac:
    fhir_id: str
    npi: str | None
    name: str
    email: str | None
    specialty: str | None = None


def _conditional_identifier(ref: str) -> tuple[str, str] | None:
    query = ref.split("?", 1)[1]
    for value in parse_qs(query).get("identifier", []):
        system, _, ident = value.rpartition("|")
        if ident:
            return system, ident
    return None


def _prac_ref(reference: Any, index: _Index) -> _PracRef | None:
    """Who a Reference to a practitioner means: an NPI (conditional/logical reference) or a Practitioner id."""
    reference = _d(reference)
    ref = _s(reference.get("reference"))
    display = _s(reference.get("display"))
    if ref.startswith(("Practitioner?", "PractitionerRole?")):
        ident = _conditional_identifier(ref)
        if not ident:
            return None
        system, value = ident
        if ref.startswith("PractitionerRole?"):
            return None
        if not system or "npi" in system.lower():
            return _PracRef(value, None, display)
        return _PracRef(None, value, display)
    if ref:
        target = index.get(ref)
        if target is not None:
            if target["resourceType"] == "Practitioner":
                return _PracRef(None, target["id"], display)
            if target["resourceType"] == "PractitionerRole":
                inner = _prac_ref(target.get("practitioner"), index)
                return _PracRef(inner.npi, inner.prac_id, display or inner.display) if inner else None
            return None
        rid = index.target_id(reference, "Practitioner")
        if rid:
            return _PracRef(None, rid, display)
        return None
    logical = _d(reference.get("identifier"))
    value = _s(logical.get("value"))
    if value:
        system = _s(logical.get("system"))
        return _PracRef(value, None, display) if not system or "npi" in system.lower() else None
    return None


def _npi_of(resource: dict[str, Any]) -> str | None:
    for ident in _l(resource.get("identifier")):
        ident = _d(ident)
        if "us-npi" in _s(ident.get("system")) and _s(ident.get("value")):
            return _cut(_s(ident.get("value")), 20)
    return None


def _practitioner(resource: dict[str, Any]) -> _Prac:
    npi = _npi_of(resource)
    name = _human_name(resource.get("name")) or (f"Practitioner {npi}" if npi else "Unknown practitioner")
    return _Prac(_fhir_id(resource["id"]), npi, _cut(name, 200), _telecom(resource, "email"))


@dataclass
class _ReferenceData:
    practitioners: list[_Prac]
    locations: dict[str, str]
    location_count: int
    organizations: int


def _extract_reference(entries: list[dict[str, Any]]) -> _ReferenceData:
    index = _Index(entries)
    specialties: dict[str, str] = {}  # "npi:<npi>" / "id:<id>" -> specialty text
    practitioners: list[_Prac] = []
    locations: dict[str, str] = {}
    organizations = location_count = 0
    for entry in entries:
        resource = entry["resource"]
        kind = resource["resourceType"]
        if kind == "Practitioner":
            practitioners.append(_practitioner(resource))
        elif kind == "PractitionerRole":
            text = next((t for t in (_concept_text(c) for c in _l(resource.get("specialty"))) if t), "") or next(
                (t for t in (_concept_text(c) for c in _l(resource.get("code"))) if t), ""
            )
            who = _prac_ref(resource.get("practitioner"), index)
            if text and who:
                key = f"npi:{who.npi}" if who.npi else f"id:{who.prac_id}"
                specialties.setdefault(key, text)
        elif kind == "Location":
            location_count += 1
            name = _s(resource.get("name"))
            if name:
                locations[resource["id"]] = name
                for ident in _l(resource.get("identifier")):
                    if _s(_d(ident).get("value")):
                        locations.setdefault(_s(_d(ident).get("value")), name)
        elif kind == "Organization":
            organizations += 1
    for prac in practitioners:
        prac.specialty = specialties.get(f"id:{prac.fhir_id}") or (
            specialties.get(f"npi:{prac.npi}") if prac.npi else None
        )
    return _ReferenceData(practitioners, locations, location_count, organizations)


@dataclass
class _Enc:
    fhir_id: str
    patient: str
    doctor: _PracRef | None
    start: datetime
    end: datetime | None
    class_code: str
    type_code: str
    type_display: str
    reason: str
    location: str
    location_key: str | None


@dataclass
class _PatientData:
    patients: list[dict[str, Any]] = field(default_factory=list)
    practitioners: list[_Prac] = field(default_factory=list)
    encounters: list[_Enc] = field(default_factory=list)
    conditions: list[dict[str, Any]] = field(default_factory=list)
    prescriptions: list[dict[str, Any]] = field(default_factory=list)
    undated_encounters: int = 0

    def practitioner_refs(self) -> list[_PracRef]:
        refs = [e.doctor for e in self.encounters if e.doctor]
        refs += [p["_doctor"] for p in self.prescriptions if p["_doctor"]]
        return refs


def _subject(resource: dict[str, Any], index: _Index, patients: dict[str, str], only: str | None) -> str | None:
    for key in ("subject", "patient"):
        rid = index.target_id(resource.get(key), "Patient")
        if rid and _fhir_id(rid) in patients:
            return _fhir_id(rid)
    return only


def _extract_patient_bundle(entries: list[dict[str, Any]]) -> _PatientData:
    index = _Index(entries)
    out = _PatientData()
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in entries:
        by_type[entry["resource"]["resourceType"]].append(entry["resource"])

    patients: dict[str, str] = {}
    for res in by_type["Patient"]:
        fid = _fhir_id(res["id"])
        if fid in patients:
            continue
        patients[fid] = fid
        deceased = _parse_dt(res.get("deceasedDateTime"))
        email = _telecom(res, "email")
        out.patients.append(
            {
                "fhir_id": fid,
                "name": _cut(_human_name(res.get("name")) or "Unknown patient", 200),
                "birth_date": _parse_date(res.get("birthDate")),
                "gender": _cut(_s(res.get("gender")), 20) or None,
                "phone": _cut(_telecom(res, "phone"), 40) or None,
                "email": _cut(email.lower(), 254) if email else None,
                "deceased_at": deceased,
            }
        )
    only = next(iter(patients)) if len(patients) == 1 else None

    seen: set[str] = set()
    for res in by_type["Practitioner"]:
        prac = _practitioner(res)
        if prac.fhir_id not in seen:
            seen.add(prac.fhir_id)
            out.practitioners.append(prac)

    seen = set()
    for res in by_type["Encounter"]:
        fid = _fhir_id(res["id"])
        patient = _subject(res, index, patients, only)
        if fid in seen or patient is None:
            continue
        seen.add(fid)
        period = _d(res.get("period"))
        participants = [_d(p) for p in _l(res.get("participant"))]
        start = _parse_dt(period.get("start")) or _parse_dt(period.get("end"))
        if start is None:
            start = next((s for s in (_parse_dt(_d(p.get("period")).get("start")) for p in participants) if s), None)
        if start is None:
            out.undated_encounters += 1
            continue
        end = _parse_dt(period.get("end"))
        if end is not None and end < start:
            end = None

        def primary(p: dict[str, Any]) -> bool:
            return any(
                _s(_d(c).get("code")) in PRIMARY_PARTICIPANT for t in _l(p.get("type")) for c in _l(_d(t).get("coding"))
            )

        doctor = None
        for participant in sorted(participants, key=lambda p: not primary(p)):
            doctor = _prac_ref(participant.get("individual") or participant.get("actor"), index)
            if doctor:
                break
        enc_class = res.get("class")
        class_code = _s(_d(enc_class).get("code")) or _coding(next(iter(_l(enc_class)), None))[1]
        _, type_code, type_display = _coding(next(iter(_l(res.get("type"))), None))
        reason = next((t for t in (_concept_text(c) for c in _l(res.get("reasonCode"))) if t), "") or next(
            (_s(_d(r).get("display")) for r in _l(res.get("reasonReference")) if _s(_d(r).get("display"))), ""
        )
        location, location_key = "", None
        for loc in _l(res.get("location")):
            ref = _d(_d(loc).get("location"))
            location = _s(ref.get("display"))
            target = index.get(_s(ref.get("reference")))
            if not location and target is not None:
                location = _s(target.get("name"))
            reference = _s(ref.get("reference"))
            if "?" in reference:
                ident = _conditional_identifier(reference)
                location_key = ident[1] if ident else None
            elif reference:
                location_key = reference.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
            if location or location_key:
                break
        if not location:
            provider = _d(res.get("serviceProvider"))
            target = index.get(_s(provider.get("reference")))
            location = _s(provider.get("display")) or (_s(target.get("name")) if target else "")
        out.encounters.append(
            _Enc(
                fhir_id=fid,
                patient=patient,
                doctor=doctor,
                start=start,
                end=end,
                class_code=_cut(class_code, 20),
                type_code=_cut(type_code, 40),
                type_display=_cut(type_display, 300),
                reason=reason,
                location=location,
                location_key=location_key,
            )
        )

    seen = set()
    for res in by_type["Condition"]:
        fid = _fhir_id(res["id"])
        patient = _subject(res, index, patients, only)
        if fid in seen or patient is None:
            continue
        seen.add(fid)
        system, code, display = _coding(res.get("code"))
        encounter = index.target_id(res.get("encounter") or res.get("context"), "Encounter")
        out.conditions.append(
            {
                "fhir_id": fid,
                "_patient": patient,
                "_encounter": _fhir_id(encounter) if encounter else None,
                "system": _cut(system, 200),
                "code": _cut(code, 40),
                "display": _cut(display, 300),
                "clinical_status": _cut(_coding(res.get("clinicalStatus"))[1] or _s(res.get("clinicalStatus")), 20),
                "onset_at": _parse_dt(res.get("onsetDateTime")) or _parse_dt(_d(res.get("onsetPeriod")).get("start")),
                "abated_at": _parse_dt(res.get("abatementDateTime"))
                or _parse_dt(_d(res.get("abatementPeriod")).get("start")),
            }
        )

    seen = set()
    for res in by_type["MedicationRequest"]:
        fid = _fhir_id(res["id"])
        patient = _subject(res, index, patients, only)
        if fid in seen or patient is None:
            continue
        seen.add(fid)
        out.prescriptions.append(_prescription(res, fid, patient, index))
    return out


_DURATION_DAYS = {"d": 1.0, "day": 1.0, "days": 1.0, "wk": 7.0, "week": 7.0, "mo": 30.0, "month": 30.0, "a": 365.0}


def _medication(res: dict[str, Any], index: _Index) -> tuple[str, str, str]:
    if "medicationCodeableConcept" in res:
        return _coding(res.get("medicationCodeableConcept"))
    reference = _d(res.get("medicationReference"))
    ref = _s(reference.get("reference"))
    target: dict[str, Any] | None = None
    if ref.startswith("#"):
        target = next((_d(c) for c in _l(res.get("contained")) if _s(_d(c).get("id")) == ref[1:]), None)
    elif ref:
        target = index.get(ref)
    if target is not None and target.get("resourceType", "Medication") == "Medication":
        system, code, display = _coding(target.get("code"))
        return system, code, display or _s(reference.get("display"))
    return "", "", _s(reference.get("display"))


def _prescription(res: dict[str, Any], fid: str, patient: str, index: _Index) -> dict[str, Any]:
    system, code, display = _medication(res, index)
    dosages = [_d(d) for d in _l(res.get("dosageInstruction"))]
    dose: float | None = None
    unit = route = period_unit = ""
    frequency: int | None = None
    period: float | None = None
    duration: int | None = None
    as_needed = False
    notes: list[str] = []
    for dosage in dosages:
        if dose is None:
            for rate in _l(dosage.get("doseAndRate")):
                quantity = _d(_d(rate).get("doseQuantity"))
                if _float(quantity.get("value")) is not None:
                    dose = _float(quantity.get("value"))
                    unit = _s(quantity.get("unit")) or _s(quantity.get("code"))
                    break
        repeat = _d(_d(dosage.get("timing")).get("repeat"))
        if frequency is None and period is None and repeat:
            frequency = _int(repeat.get("frequency"))
            period = _float(repeat.get("period"))
            period_unit = _s(repeat.get("periodUnit"))
            bounds = _d(repeat.get("boundsDuration"))
            factor = _DURATION_DAYS.get(_s(bounds.get("code")) or _s(bounds.get("unit")))
            if factor and _float(bounds.get("value")) is not None:
                duration = _int((_float(bounds.get("value")) or 0) * factor)
        route = route or _concept_text(dosage.get("route"))
        if dosage.get("asNeededBoolean") is True or isinstance(dosage.get("asNeededCodeableConcept"), dict):
            as_needed = True
        notes.append(_s(dosage.get("text")))
        notes.append(_s(dosage.get("patientInstruction")))
        notes.extend(_concept_text(c) for c in _l(dosage.get("additionalInstruction")))
    dispense = _d(res.get("dispenseRequest"))
    supply = _d(dispense.get("expectedSupplyDuration"))
    factor = _DURATION_DAYS.get(_s(supply.get("code")) or _s(supply.get("unit")))
    if duration is None and factor and _float(supply.get("value")) is not None:
        duration = _int((_float(supply.get("value")) or 0) * factor)
    instructions = "; ".join(dict.fromkeys(n for n in notes if n))
    encounter = index.target_id(res.get("encounter") or res.get("context"), "Encounter")
    return {
        "fhir_id": fid,
        "_patient": patient,
        "_encounter": _fhir_id(encounter) if encounter else None,
        "_doctor": _prac_ref(res.get("requester"), index),
        "drug_system": _cut(system, 200),
        "drug_code": _cut(code, 40),
        "drug_display": _cut(display, 300),
        "dose": dose,
        "dose_unit": _cut(unit, 40),
        "route": _cut(route, 80),
        "frequency": frequency,
        "period": period,
        "period_unit": _cut(period_unit, 10),
        "duration_days": duration,
        "refills": _int(dispense.get("numberOfRepeatsAllowed")),
        "as_needed": as_needed,
        "instructions": _cut(instructions, 1000),
        "status": _cut(_s(res.get("status")), 20),
        "authored_at": _parse_dt(res.get("authoredOn")),
    }


# ---------------------------------------------------------------------------------------------------- runs & doctors


@dataclass(frozen=True)
class _Doc:
    id: int
    source: str | None
    npi: str | None
    name: str


@dataclass
class _Run:
    directory: Path
    tag: str
    files: list[tuple[_File, _ReferenceData]] = field(default_factory=list)
    source: str = ""
    docs: list[_Doc] = field(default_factory=list)
    locations: dict[str, str] = field(default_factory=dict)

    def practitioners(self) -> list[_Prac]:
        unique: dict[str, _Prac] = {}
        for _, data in self.files:
            for prac in data.practitioners:
                unique.setdefault(prac.fhir_id, prac)
        return list(unique.values())


_RUN_TAG = re.compile(r"(?:hospital|practitioner|payer)Information(\d+)", re.IGNORECASE)


def _pick(
    npis: dict[str, str], docs: Iterable[_Doc], remembered: str | None = None
) -> tuple[dict[str, int], str | None]:
    """Map NPIs (with their reference display) to doctor ids, choosing one source for the whole bundle."""
    by_npi: dict[str, list[_Doc]] = defaultdict(list)
    for doc in docs:
        if doc.npi in npis:
            by_npi[doc.npi].append(doc)
    found: Counter[str | None] = Counter()
    named: Counter[str | None] = Counter()
    for npi, display in npis.items():
        for doc in by_npi.get(npi, []):
            found[doc.source] += 1
            if display and _name_key(display) == _name_key(doc.name):
                named[doc.source] += 1
    chosen: str | None = None
    if found:
        best = max((found[s], named[s]) for s in found)
        leaders = [s for s in found if (found[s], named[s]) == best]
        if len(leaders) == 1:
            chosen = leaders[0]
        elif remembered in leaders:
            chosen = remembered
    result: dict[str, int] = {}
    for npi, display in npis.items():
        candidates = by_npi.get(npi, [])
        if found and chosen in found:
            mine = [d for d in candidates if d.source == chosen]
            if mine:
                result[npi] = mine[0].id
                continue
        if len(candidates) == 1:
            result[npi] = candidates[0].id
            continue
        matching = [d for d in candidates if display and _name_key(display) == _name_key(d.name)]
        if len(matching) == 1:
            result[npi] = matching[0].id
    return result, chosen if found else None


def _department(conn: Connection, name: str, cache: dict[str, int]) -> int:
    if name in cache:
        return cache[name]
    found = conn.execute(sa.select(_DEPARTMENT.c.id).where(_DEPARTMENT.c.name == name)).scalar()
    if found is None:
        found = conn.execute(
            sa.insert(_DEPARTMENT).values(name=name, description="").returning(_DEPARTMENT.c.id)
        ).scalar_one()
    cache[name] = int(found)
    return int(found)


def _existing(conn: Connection, table: sa.Table, fhir_ids: Iterable[str]) -> dict[str, int]:
    ids = sorted(set(fhir_ids))
    out: dict[str, int] = {}
    for chunk in _chunks(ids):
        query = sa.select(table.c.fhir_id, table.c.id).where(table.c.fhir_id.in_(chunk))
        out.update((fhir_id, row_id) for fhir_id, row_id in conn.execute(query))
    return out


def _insert(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Bulk insert; returns fhir_id -> new id."""
    if not rows:
        return {}
    out: dict[str, int] = {}
    for chunk in _chunks(rows):
        result = conn.execute(sa.insert(table).returning(table.c.fhir_id, table.c.id), list(chunk))
        out.update((fhir_id, row_id) for fhir_id, row_id in result)
    return out


def _insert_doctors(conn: Connection, pracs: list[_Prac], source: str | None, taken: set[str]) -> dict[str, int]:
    departments: dict[str, int] = {}
    rows = []
    for prac in pracs:
        specialty = _specialty(prac.specialty or "")
        npi = prac.npi if prac.npi and (source is None or prac.npi not in taken) else None
        if npi and source is not None:
            taken.add(npi)
        rows.append(
            {
                "account_id": None,
                "name": prac.name,
                "specialty": specialty,
                "department_id": _department(conn, specialty, departments),
                "email": _cut(prac.email, 254) or None,
                "slot_minutes": 15,
                "fhir_id": prac.fhir_id,
                "npi": npi,
                "source": source,
            }
        )
    return _insert(conn, _DOCTOR, rows)


def _source_npis(conn: Connection, source: str | None, npis: Iterable[str]) -> set[str]:
    wanted = sorted({n for n in npis if n})
    if source is None or not wanted:
        return set()
    taken: set[str] = set()
    for chunk in _chunks(wanted):
        taken.update(
            conn.execute(sa.select(_DOCTOR.c.npi).where(_DOCTOR.c.source == source, _DOCTOR.c.npi.in_(chunk))).scalars()
        )
    return taken


# ---------------------------------------------------------------------------------------------------- the importer


@dataclass
class _Added:
    patients: int = 0
    doctors: int = 0
    encounters: int = 0
    conditions: int = 0
    prescriptions: int = 0
    appointments: int = 0
    unresolved: int = 0

    def anything(self) -> bool:
        return bool(self.patients or self.doctors or self.encounters or self.conditions or self.prescriptions)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class _Importer:
    def __init__(self, engine: Engine, progress: Callable[[str], None] | None) -> None:
        self.engine = engine
        self.progress = progress
        self.report = ImportReport()
        self.runs_by_dir: dict[Path, list[_Run]] = defaultdict(list)
        self.dir_memory: dict[Path, str | None] = {}
        self.done = 0
        self.total = 0

    def say(self, file: _File, message: str) -> None:
        self.done += 1
        if self.progress:
            self.progress(f"[{self.done}/{self.total}] {file.display}: {message}")

    def fail(self, file: _File, reason: str) -> None:
        self.report.errors.append(f"{file.path}: {reason}")
        self.say(file, f"ERROR {reason}")

    # --- main flow

    def run(self, paths: Sequence[str | Path]) -> ImportReport:
        files = _collect(paths, self.report.errors)
        for error in self.report.errors:
            if self.progress:
                self.progress(f"ERROR {error}")
        self.total = len(files)
        runs: dict[tuple[Path, str], _Run] = {}
        patient_files: list[_File] = []
        for file in files:  # pass 1: find the reference bundles; keep only their (small) extract
            try:
                raw = _read_bytes(file.path)
                if _mentions_patient(raw):  # parsed and checked for real in pass 2
                    patient_files.append(file)
                    continue
                entries = _entries(_read_bundle(file.path, raw))
                del raw
                reference = _extract_reference(entries) if _is_reference_bundle(entries) else None
                if reference is None and not _has_patient(entries):
                    raise NotImportable("FHIR Bundle without a Patient and not a practitioner/organization bundle")
            except NotImportable as error:
                self.fail(file, str(error))
                continue
            except Exception as error:
                self.fail(file, f"{type(error).__name__}: {str(error)[:300]}")
                continue
            del entries
            if reference is None:
                patient_files.append(file)
                continue
            match = _RUN_TAG.search(file.path.name)
            key = (file.directory, match.group(1) if match else "")
            runs.setdefault(key, _Run(file.directory, key[1])).files.append((file, reference))
        for key in sorted(runs, key=lambda k: (str(k[0]), k[1])):
            self.import_run(runs[key])
        for file in patient_files:  # pass 2: one transaction per patient bundle
            self.import_patient_file(file)
        return self.report

    def import_run(self, run: _Run) -> None:
        pracs = run.practitioners()
        ids = sorted(p.fhir_id for p in pracs) or sorted(
            f"{f.path.name}:{len(d.locations)}:{d.organizations}" for f, d in run.files
        )
        run.source = "run-" + hashlib.sha1("\n".join(ids).encode()).hexdigest()[:16]  # noqa: S324 - a label
        for _, data in run.files:
            run.locations.update(data.locations)
        try:
            with self.engine.begin() as conn:
                existing = _existing(conn, _DOCTOR, (p.fhir_id for p in pracs))
                taken = _source_npis(conn, run.source, (p.npi for p in pracs if p.npi))
                fresh = [p for p in pracs if p.fhir_id not in existing]
                created = _insert_doctors(conn, fresh, run.source, taken)
        except Exception as error:
            for file, _ in run.files:
                self.fail(file, f"{type(error).__name__}: {str(error)[:300]}")
            return
        ids_by_fhir = existing | created
        run.docs = [_Doc(ids_by_fhir[p.fhir_id], run.source, p.npi, p.name) for p in pracs]
        self.runs_by_dir[run.directory].append(run)
        self.report.doctors += len(created)
        for file, data in run.files:
            self.report.files += 1
            if not created:
                self.report.skipped += 1
            parts = []
            if data.practitioners:
                parts.append(_plural(len(data.practitioners), "practitioner"))
            if data.organizations:
                parts.append(_plural(data.organizations, "organization"))
            if data.location_count:
                parts.append(_plural(data.location_count, "location"))
            new = f"{_plural(len(created), 'new doctor')} in run {run.source}" if data.practitioners else ""
            self.say(file, "reference bundle, " + ", ".join(parts + ([new] if new else [])))

    def runs_for(self, directory: Path) -> list[_Run]:
        for folder in (directory, *directory.parents):
            if self.runs_by_dir.get(folder):
                return self.runs_by_dir[folder]
        return []

    def import_patient_file(self, file: _File) -> None:
        try:
            entries = _entries(_read_bundle(file.path))
            if _is_reference_bundle(entries):  # "Patient" only appeared inside some text: load it as a run now
                self.import_run(_Run(file.directory, "", [(file, _extract_reference(entries))]))
                return
            if not _has_patient(entries):
                raise NotImportable("FHIR Bundle without a Patient and not a practitioner/organization bundle")
            data = _extract_patient_bundle(entries)
            del entries
            with self.engine.begin() as conn:
                added = self.write_patient_bundle(conn, data, file.directory)
        except NotImportable as error:
            self.fail(file, str(error))
            return
        except Exception as error:  # anything else: this file is rolled back, the next one goes on
            self.fail(file, f"{type(error).__name__}: {str(error)[:300]}")
            return
        report = self.report
        report.files += 1
        report.patients += added.patients
        report.doctors += added.doctors
        report.encounters += added.encounters
        report.conditions += added.conditions
        report.prescriptions += added.prescriptions
        if not added.anything():
            report.skipped += 1
            self.say(file, "already imported, nothing added")
            return
        message = ", ".join(
            [
                _plural(added.patients, "patient"),
                _plural(added.encounters, "encounter"),
                _plural(added.conditions, "condition"),
                _plural(added.prescriptions, "prescription"),
            ]
        )
        if added.doctors:
            message += f", {_plural(added.doctors, 'new doctor')}"
        if added.unresolved:
            message += f" ({_plural(added.unresolved, 'unresolved practitioner reference')})"
        if data.undated_encounters:
            message += f" ({_plural(data.undated_encounters, 'encounter')} without a date skipped)"
        self.say(file, message)

    # --- one patient bundle, inside its transaction

    def resolve_doctors(
        self, conn: Connection, data: _PatientData, directory: Path, added: _Added
    ) -> Callable[[_PracRef | None], int | None]:
        refs = data.practitioner_refs()
        runs = self.runs_for(directory)
        npis = {r.npi: r.display for r in refs if r.npi}
        by_npi: dict[str, int] = {}
        run: _Run | None = None
        if runs:
            wanted = dict(npis)
            for prac in data.practitioners:  # inline practitioners (legacy) also tell which run this bundle is from
                if prac.npi:
                    wanted.setdefault(prac.npi, prac.name)
            found, chosen = _pick(wanted, [d for r in runs for d in r.docs])
            by_npi = {n: i for n, i in found.items() if n in npis}
            run = next((r for r in runs if r.source == chosen), runs[0] if len(runs) == 1 else None)
        missing = {n: d for n, d in npis.items() if n not in by_npi}
        if missing:
            rows: list[_Doc] = []
            for chunk in _chunks(sorted(missing)):
                query = sa.select(_DOCTOR.c.id, _DOCTOR.c.source, _DOCTOR.c.npi, _DOCTOR.c.name).where(
                    _DOCTOR.c.npi.in_(chunk)
                )
                rows.extend(_Doc(*row) for row in conn.execute(query))
            found, chosen = _pick(missing, rows, self.dir_memory.get(directory))
            by_npi.update(found)
            if chosen is not None and not runs:
                self.dir_memory.setdefault(directory, chosen)

        # Practitioners by id: inline ones (legacy bundles) and urn:uuid / Practitioner/<id> references.
        by_id = _existing(
            conn, _DOCTOR, [r.prac_id for r in refs if r.prac_id] + [p.fhir_id for p in data.practitioners]
        )
        run_npis = {d.npi: d.id for d in run.docs if d.npi} if run else {}
        fresh: list[_Prac] = []
        for prac in data.practitioners:
            if prac.fhir_id in by_id:
                continue
            if prac.npi and prac.npi in run_npis:  # an inline copy of the run's practitioner: dedupe by identifier
                by_id[prac.fhir_id] = run_npis[prac.npi]
            else:
                fresh.append(prac)
        if fresh:
            source = run.source if run else None
            taken = _source_npis(conn, source, (p.npi for p in fresh if p.npi))
            created = _insert_doctors(conn, fresh, source, taken)
            by_id.update(created)
            added.doctors += len(created)

        def doctor(ref: _PracRef | None) -> int | None:
            if ref is None:
                return None
            if ref.prac_id and ref.prac_id in by_id:
                return by_id[ref.prac_id]
            if ref.npi and ref.npi in by_npi:
                return by_npi[ref.npi]
            added.unresolved += 1
            return None

        return doctor

    def location_name(self, directory: Path, key: str | None) -> str:
        if not key:
            return ""
        for run in self.runs_for(directory):
            if key in run.locations:
                return run.locations[key]
        return ""

    def write_patient_bundle(self, conn: Connection, data: _PatientData, directory: Path) -> _Added:
        added = _Added()
        now = datetime.now(UTC)

        # Patients (+ their invited, password-less accounts)
        patient_ids = _existing(conn, _PATIENT, (p["fhir_id"] for p in data.patients))
        new_patients = [p for p in data.patients if p["fhir_id"] not in patient_ids]
        if new_patients:
            emails = sorted({p["email"] for p in new_patients if p["email"]})
            taken = set(conn.execute(sa.select(_ACCOUNT.c.email).where(_ACCOUNT.c.email.in_(emails))).scalars())
            accounts = []
            for p in new_patients:
                email = p["email"] if p["email"] and p["email"] not in taken else None
                if email:
                    taken.add(email)
                accounts.append(
                    {
                        "email": email,
                        "role": Role.PATIENT.value,
                        "display_name": p["name"],
                        "password_hash": None,
                        "status": AccountStatus.INVITED.value,
                        "created_at": now,
                    }
                )
            account_ids = conn.execute(
                sa.insert(_ACCOUNT).returning(_ACCOUNT.c.id, sort_by_parameter_order=True), accounts
            ).scalars()
            rows = [p | {"account_id": account_id} for p, account_id in zip(new_patients, account_ids, strict=True)]
            created = _insert(conn, _PATIENT, rows)
            patient_ids.update(created)
            added.patients = len(created)

        doctor = self.resolve_doctors(conn, data, directory, added)

        # Encounters -> fulfilled appointments (when the practitioner is known) + medical records
        encounter_ids = _existing(conn, _ENCOUNTER, (e.fhir_id for e in data.encounters))
        appointment_ids = _existing(conn, _APPOINTMENT, (e.fhir_id for e in data.encounters))
        new_encounters = [e for e in data.encounters if e.fhir_id not in encounter_ids and e.patient in patient_ids]
        doctors = {e.fhir_id: doctor(e.doctor) for e in new_encounters}
        appointments = []
        for enc in new_encounters:
            if doctors[enc.fhir_id] is None or enc.fhir_id in appointment_ids:
                continue
            appointments.append(
                {
                    "doctor_id": doctors[enc.fhir_id],
                    "patient_id": patient_ids[enc.patient],
                    "start_at": enc.start,
                    "end_at": enc.end or enc.start + DEFAULT_VISIT,
                    "status": AppointmentStatus.FULFILLED.value,
                    "reason": _cut(enc.reason or enc.type_display, 500),
                    "created_at": enc.start,
                    "cancelled_at": None,
                    "cancel_reason": "",
                    "fhir_id": enc.fhir_id,
                }
            )
        appointment_ids.update(_insert(conn, _APPOINTMENT, appointments))
        rows = [
            {
                "appointment_id": appointment_ids.get(enc.fhir_id),
                "patient_id": patient_ids[enc.patient],
                "doctor_id": doctors[enc.fhir_id],
                "start_at": enc.start,
                "end_at": enc.end,
                "class_code": enc.class_code,
                "type_code": enc.type_code,
                "type_display": enc.type_display,
                "reason": _cut(enc.reason, 300),
                "location": _cut(enc.location or self.location_name(directory, enc.location_key), 300),
                "notes": "",
                "fhir_id": enc.fhir_id,
            }
            for enc in new_encounters
        ]
        created = _insert(conn, _ENCOUNTER, rows)
        encounter_ids.update(created)
        added.encounters = len(created)

        # Conditions -> diagnoses (all of them, findings included)
        existing = _existing(conn, _DIAGNOSIS, (c["fhir_id"] for c in data.conditions))
        rows = [
            {k: v for k, v in c.items() if not k.startswith("_")}
            | {
                "patient_id": patient_ids[c["_patient"]],
                "encounter_id": encounter_ids.get(c["_encounter"]) if c["_encounter"] else None,
            }
            for c in data.conditions
            if c["fhir_id"] not in existing and c["_patient"] in patient_ids
        ]
        added.conditions = len(_insert(conn, _DIAGNOSIS, rows))

        # MedicationRequests -> prescriptions
        existing = _existing(conn, _PRESCRIPTION, (p["fhir_id"] for p in data.prescriptions))
        rows = [
            {k: v for k, v in p.items() if not k.startswith("_")}
            | {
                "patient_id": patient_ids[p["_patient"]],
                "encounter_id": encounter_ids.get(p["_encounter"]) if p["_encounter"] else None,
                "doctor_id": doctor(p["_doctor"]),
            }
            for p in data.prescriptions
            if p["fhir_id"] not in existing and p["_patient"] in patient_ids
        ]
        added.prescriptions = len(_insert(conn, _PRESCRIPTION, rows))
        return added


def import_paths(
    engine: Engine, paths: Sequence[str | Path], progress: Callable[[str], None] | None = None
) -> ImportReport:
    """Import FHIR R4 bundles (files and folders, recursively); see the module docstring for the rules."""
    return _Importer(engine, progress).run(paths)
