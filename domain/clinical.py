"""The medical record of a visit (FHIR Encounter with its Conditions and MedicationRequests): entities and the
rules for writing, signing and amending it. Standard library only."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Container
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from domain.errors import NotAllowed, ValidationError
from domain.model import BIDI_CONTROLS, AppointmentStatus, free_text

ICD10CM_SYSTEM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"

NOTE_MAX = 10_000
INSTRUCTIONS_MAX = 1000
REASON_MAX = 300
DRUG_NAME_MAX = 300
MAX_DIAGNOSES = 30
MAX_PRESCRIPTIONS = 30
MAX_DURATION_DAYS = 365
MAX_REFILLS = 12
MAX_QUANTITY = 10_000
#: the smallest dose a prescription may give, in any unit (1 mcg of mg, 1 µL of mL, ...); doses have at most
#: three decimals, so what is printed is what was typed
MIN_DOSE = Decimal("0.001")
DOSE_DECIMALS = 3


#: appointments that give their doctor a care relationship with the patient (and so read access to the
#: record): every visit that was or is meant to take place. A cancelled booking (even one cancelled at once),
#: one entered in error, or a waiting-list wish gives none; an encounter of the doctor with the patient does.
CARE_RELATIONSHIP_STATUSES: frozenset[AppointmentStatus] = frozenset(
    {
        AppointmentStatus.PENDING,
        AppointmentStatus.BOOKED,
        AppointmentStatus.ARRIVED,
        AppointmentStatus.CHECKED_IN,
        AppointmentStatus.FULFILLED,
        AppointmentStatus.NOSHOW,
    }
)


class NoteStatus(StrEnum):
    """`NONE`: a record without a note written here (imported from FHIR)."""

    NONE = ""
    DRAFT = "draft"
    SIGNED = "signed"
    AMENDED = "amended"


#: dose units a prescription can use (FHIR doseQuantity units, in the words a pharmacist reads)
DOSE_UNITS: tuple[str, ...] = (
    "mg",
    "g",
    "mcg",
    "mL",
    "IU",
    "unit(s)",
    "tablet(s)",
    "capsule(s)",
    "drop(s)",
    "puff(s)",
    "patch(es)",
    "sachet(s)",
    "application(s)",
    "suppository(ies)",
)
#: the largest single dose per unit: far above any usual dose (a typo of a few zeros is caught, real
#: high-dose regimens such as 24 million IU of penicillin G a day or 100 g of immunoglobulin still pass)
MAX_DOSE_BY_UNIT: dict[str, Decimal] = {
    "mg": Decimal(100_000),
    "g": Decimal(1000),
    "mcg": Decimal(1_000_000),
    "mL": Decimal(5000),
    "IU": Decimal(30_000_000),
    "unit(s)": Decimal(30_000_000),
    "tablet(s)": Decimal(100),
    "capsule(s)": Decimal(100),
    "drop(s)": Decimal(100),
    "puff(s)": Decimal(50),
    "patch(es)": Decimal(10),
    "sachet(s)": Decimal(20),
    "application(s)": Decimal(20),
    "suppository(ies)": Decimal(5),
}
QUANTITY_UNITS: tuple[str, ...] = (
    "tablet(s)",
    "capsule(s)",
    "mL",
    "g",
    "pack(s)",
    "bottle(s)",
    "tube(s)",
    "inhaler(s)",
    "patch(es)",
    "vial(s)",
    "ampoule(s)",
    "sachet(s)",
    "suppository(ies)",
    "unit(s)",
)
ROUTES: tuple[str, ...] = (
    "oral",
    "sublingual",
    "topical (on the skin)",
    "transdermal",
    "inhaled",
    "nasal",
    "eye (ophthalmic)",
    "ear (otic)",
    "rectal",
    "vaginal",
    "subcutaneous injection",
    "intramuscular injection",
    "intravenous",
)


@dataclass(frozen=True)
class Frequency:
    code: str
    words: str  # how it reads on the prescription
    times: int  # FHIR Timing.repeat: `times` per `period` `unit`
    period: float
    unit: str  # h, d, wk


FREQUENCIES: tuple[Frequency, ...] = (
    Frequency("1/d", "once a day", 1, 1, "d"),
    Frequency("1/d-morning", "once a day, in the morning", 1, 1, "d"),
    Frequency("1/d-night", "once a day, at bedtime", 1, 1, "d"),
    Frequency("2/d", "twice a day", 2, 1, "d"),
    Frequency("3/d", "three times a day", 3, 1, "d"),
    Frequency("4/d", "four times a day", 4, 1, "d"),
    Frequency("1/4h", "every 4 hours", 1, 4, "h"),
    Frequency("1/6h", "every 6 hours", 1, 6, "h"),
    Frequency("1/8h", "every 8 hours", 1, 8, "h"),
    Frequency("1/12h", "every 12 hours", 1, 12, "h"),
    Frequency("1/2d", "every other day", 1, 2, "d"),
    Frequency("1/wk", "once a week", 1, 1, "wk"),
    Frequency("2/wk", "twice a week", 2, 1, "wk"),
    Frequency("once", "once only", 1, 1, "d"),
)
FREQUENCY_BY_CODE: dict[str, Frequency] = {f.code: f for f in FREQUENCIES}


def frequency_words(code: str) -> str:
    found = FREQUENCY_BY_CODE.get(code)
    return found.words if found else code


def dose_text(value: float | None) -> str:
    """A dose as a pharmacist reads it: plain decimals, never an exponent ("2400000", "0.125", "1.5")."""
    if value is None or not math.isfinite(value):
        return ""
    text = f"{value:.{DOSE_DECIMALS}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


@dataclass(frozen=True)
class VisitNote:
    chief_complaint: str = ""
    findings: str = ""
    plan: str = ""

    def is_empty(self) -> bool:
        return not (self.chief_complaint or self.findings or self.plan)


@dataclass(frozen=True)
class Diagnosis:
    """An ICD-10-CM billable code with its description."""

    code: str
    display: str
    system: str = ICD10CM_SYSTEM


@dataclass(frozen=True)
class PrescriptionItem:
    """One structured prescription. `drug_code` empty: a drug outside the catalogue, typed as free text
    ("uncoded")."""

    drug_name: str
    drug_code: str
    dose: float
    dose_unit: str
    route: str
    frequency: str  # a FREQUENCIES code
    duration_days: int
    quantity: int
    quantity_unit: str
    refills: int = 0
    as_needed: bool = False
    as_needed_reason: str = ""
    instructions: str = ""

    @property
    def uncoded(self) -> bool:
        return not self.drug_code

    @property
    def drug_system(self) -> str:
        return RXNORM_SYSTEM if self.drug_code else ""

    def lines(self) -> list[tuple[str, str]]:
        """The item in full words, label by label (screen and print)."""
        dose = f"{dose_text(self.dose)} {self.dose_unit}"
        rows = [
            ("Drug", self.drug_name + (f" (RxNorm {self.drug_code})" if self.drug_code else " (uncoded)")),
            ("Dose", dose),
            ("Route", self.route),
            ("Frequency", frequency_words(self.frequency)),
            ("Duration", f"{self.duration_days} day" + ("" if self.duration_days == 1 else "s")),
            ("Quantity", f"{self.quantity} {self.quantity_unit}"),
            ("Refills", "none" if self.refills == 0 else str(self.refills)),
        ]
        if self.as_needed:
            rows.append(("As needed", f"only when needed: {self.as_needed_reason}"))
        if self.instructions:
            rows.append(("Instructions", self.instructions))
        return rows

    def summary(self) -> str:
        words = f"{dose_text(self.dose)} {self.dose_unit}, {self.route}, {frequency_words(self.frequency)}"
        words += f", for {self.duration_days} day" + ("" if self.duration_days == 1 else "s")
        if self.as_needed:
            words += f", as needed for {self.as_needed_reason}"
        return words


@dataclass(frozen=True)
class VisitContent:
    """What a doctor writes for a visit, validated as a whole: note, diagnoses, prescriptions."""

    note: VisitNote = field(default_factory=VisitNote)
    diagnoses: tuple[Diagnosis, ...] = ()
    prescriptions: tuple[PrescriptionItem, ...] = ()


@dataclass(frozen=True)
class VisitRevision:
    """A signed version of the visit (version 1: the signature; later ones: amendments). Never changed."""

    version: int
    kind: str  # "signed" or "amendment"
    content: VisitContent
    at: datetime
    by_account_id: int
    by_name: str
    reason: str = ""


@dataclass
class Visit:
    """The medical record of one appointment (an Encounter). `content` is the current version; once signed,
    every version stays in `revisions`."""

    appointment_id: int | None
    patient_id: int
    doctor_id: int
    start: datetime
    content: VisitContent = field(default_factory=VisitContent)
    status: NoteStatus = NoteStatus.DRAFT
    revisions: list[VisitRevision] = field(default_factory=list)
    updated_at: datetime | None = None
    version: int = 0  # bumped by every save: a save based on an older version is refused
    id: int | None = None

    @property
    def signed(self) -> bool:
        return self.status in (NoteStatus.SIGNED, NoteStatus.AMENDED)

    @property
    def original(self) -> VisitRevision | None:
        return self.revisions[0] if self.revisions else None

    def _check_writer(self, doctor_id: int | None) -> None:
        if doctor_id != self.doctor_id:
            raise NotAllowed("Only the visit's own doctor may write its record.")

    def save_draft(self, doctor_id: int | None, content: VisitContent, now: datetime) -> None:
        self._check_writer(doctor_id)
        if self.signed:
            raise ValidationError("This visit is signed; changes are made as an amendment with a reason.")
        self.content, self.updated_at = content, now
        self.version += 1

    def sign(self, doctor_id: int | None, content: VisitContent, now: datetime, account_id: int, name: str) -> None:
        self._check_writer(doctor_id)
        if self.signed:
            raise ValidationError("This visit is signed already; changes are made as an amendment with a reason.")
        if content.note.is_empty() and not content.diagnoses and not content.prescriptions:
            raise ValidationError("There is nothing to sign yet: write the note, a diagnosis or a prescription.")
        self.content, self.updated_at, self.status = content, now, NoteStatus.SIGNED
        self.revisions.append(VisitRevision(1, "signed", content, now, account_id, name))
        self.version += 1

    def amend(
        self, doctor_id: int | None, content: VisitContent, reason: str, now: datetime, account_id: int, name: str
    ) -> VisitRevision:
        self._check_writer(doctor_id)
        if not self.signed:
            raise ValidationError("This visit is not signed yet: save or sign it instead of amending it.")
        why = _limited(reason, "Amendment reason", REASON_MAX)
        if not any(ch.isalnum() for ch in why):
            raise ValidationError("Amendment reason is required: say why the signed record changes.")
        if content == self.content:
            raise ValidationError("The amendment changes nothing: edit the record before amending it.")
        revision = VisitRevision(len(self.revisions) + 1, "amendment", content, now, account_id, name, why)
        self.revisions.append(revision)
        self.content, self.updated_at, self.status = content, now, NoteStatus.AMENDED
        self.version += 1
        return revision


# ---- validating what was typed -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrescriptionInput:
    """A prescription as the form holds it: strings and numbers that may be missing or wrong."""

    drug_name: str = ""
    drug_code: str = ""
    dose: float | str | None = None
    dose_unit: str = ""
    route: str = ""
    frequency: str = ""
    duration_days: int | float | str | None = None
    quantity: int | float | str | None = None
    quantity_unit: str = ""
    refills: int | float | str | None = 0
    as_needed: bool = False
    as_needed_reason: str = ""
    instructions: str = ""


#: a number as typed: ASCII digits with at most one decimal point or comma ("2.5", "2,5", "500"); no
#: exponents, digit group separators ("1_000", "1 000", "1,000.5") or other scripts' digits
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")
_NUMBER_HINT = "digits with at most one decimal point or comma, for example 2.5 or 2,5"
_NUMBER_TEXT_MAX = 30


def _text(raw: object, what: str) -> str:
    """A text field as the form sent it: text or nothing, never a number, list or the like."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValidationError(f"{what} must be text.")
    return raw


def _limited(raw: object, what: str, max_len: int) -> str:
    """Free text with its line breaks, refused (not cut) when longer than `max_len`."""
    text = free_text(_text(raw, what), max_len * 2 + 1)
    if len(text) > max_len:
        raise ValidationError(f"{what} is too long ({len(text)} characters; at most {max_len}).")
    return text


def _one_line(raw: object, what: str, max_len: int) -> str:
    text = " ".join(free_text(_text(raw, what), max_len * 2 + 1).split())
    if any(ch in BIDI_CONTROLS for ch in text):
        raise ValidationError(f"{what} contains control characters; please type it again.")
    if len(text) > max_len:
        raise ValidationError(f"{what} is too long (at most {max_len} characters).")
    return text


def _choice(raw: object, what: str, choices: Container[str]) -> str:
    """One of a fixed list (a select's value): anything else, of whatever type, is not chosen."""
    if not isinstance(raw, str) or raw not in choices:
        raise ValidationError(f"{what}.")
    return raw


def _number(raw: object, what: str) -> Decimal:
    """A number from the form: an int, a finite float, or text in plain decimal notation. Exact (a Decimal),
    so that a huge value is compared with its limits instead of overflowing."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ValidationError(f"{what} is required.")
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise ValidationError(f"{what} must be a number.")
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise ValidationError(f"{what} must be a number.")
        return Decimal(repr(raw))  # 2.5 stays 2.5, not its binary expansion
    text = raw.strip()
    if len(text) > _NUMBER_TEXT_MAX or not _PLAIN_NUMBER.fullmatch(text):
        shown = text if len(text) <= 20 else text[:20] + "…"
        raise ValidationError(f"{what} must be a plain number ({_NUMBER_HINT}), not “{shown}”.")
    return Decimal(text.replace(",", "."))


def _whole(raw: object, what: str, low: int, high: int) -> int:
    value = _number(raw, what)
    if value != value.to_integral_value():
        raise ValidationError(f"{what} must be a whole number.")
    if not low <= value <= high:
        raise ValidationError(f"{what} must be between {low} and {high}.")
    return int(value)


def _dose(raw: object, label: str, unit: str | None) -> float:
    """`unit` None: not chosen (or not valid); the dose is still checked, except against the unit's maximum."""
    value = _number(raw, f"{label}: dose")
    if value <= 0:
        raise ValidationError(f"{label}: dose must be greater than 0.")
    if value < MIN_DOSE:
        raise ValidationError(f"{label}: dose is too small (at least {MIN_DOSE} {unit or 'of its unit'}).")
    highest = MAX_DOSE_BY_UNIT.get(unit or "")
    if highest is not None and value > highest:
        raise ValidationError(f"{label}: dose is implausibly large (at most {highest} {unit}).")
    if value * 10**DOSE_DECIMALS % 1:  # "0.5000" is fine, "0.0015" is not
        raise ValidationError(f"{label}: dose can have at most {DOSE_DECIMALS} decimals.")
    return float(value)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the form: `item` names where (“Prescription 2”, “Diagnosis 1”, “Note”), `field`
    which input (a PrescriptionInput field name, “chief_complaint”, “code”, ...; “”: the item as a whole),
    `message` the full sentence shown to the doctor."""

    item: str
    field: str
    message: str
    position: int = 0  # the prescription's or diagnosis's place in the form, from 1; 0: not a listed item
    hint: str = ""  # the message without the item's name, for beside the input itself

    @property
    def short(self) -> str:
        return self.hint or self.message


class FormProblems(ValidationError):
    """Everything wrong with a visit form, found in one pass; nothing was stored."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if len(problems) == 1:
            message = problems[0].message
        else:
            message = f"{len(problems)} problems, nothing was saved: " + " ".join(p.message for p in problems)
        super().__init__(message)


T = TypeVar("T")


class _Collector:
    """Runs each field's check, keeping every refusal instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def check(self, item: str, field_name: str, position: int, run: Callable[[], T]) -> T | None:
        try:
            return run()
        except ValidationError as error:
            self.problems.append(Problem(item, field_name, error.message, position))
            return None


def _with_hint(problem: Problem, prefixes: tuple[str, ...]) -> Problem:
    """The problem with its message, less the item's name, as a hint (“Dose must be greater than 0.”)."""
    for prefix in prefixes:
        if problem.message.startswith(prefix) and len(problem.message) > len(prefix):
            rest = problem.message[len(prefix) :]
            return replace(problem, hint=rest[0].upper() + rest[1:])
    return problem


def validate_prescription(
    raw: PrescriptionInput, position: int, drug_name_of: dict[str, str] | None = None
) -> PrescriptionItem:
    """One prescription; every problem of it is raised at once (FormProblems)."""
    found = _Collector()
    item = _prescription(raw, position, drug_name_of, found)
    if found.problems or item is None:
        raise FormProblems(found.problems)
    return item


def _prescription(
    raw: PrescriptionInput, position: int, drug_name_of: dict[str, str] | None, found: _Collector
) -> PrescriptionItem | None:
    """`position` counts from 1 (the messages name it); `drug_name_of`: the catalogue's names of the codes in
    use (a coded drug is printed under its catalogue name). Problems go to `found`; None when there are any."""
    where = f"Prescription {position}"
    before = len(found.problems)
    if not isinstance(raw, PrescriptionInput):
        found.problems.append(Problem(where, "", f"{where} is not a prescription.", position))
        return None

    def check(field_name: str, run: Callable[[], T]) -> T | None:
        return found.check(where, field_name, position, run)

    code = check("drug", lambda: _text(raw.drug_code, f"{where}: the drug code").strip()) or ""
    name = check("drug", lambda: _one_line(raw.drug_name, f"{where}: drug", DRUG_NAME_MAX)) or ""
    if code and drug_name_of is not None:
        if code in drug_name_of:
            name = drug_name_of[code]
        else:
            found.problems.append(
                Problem(where, "drug", f"{where}: “{code[:20]}” is not a drug of the catalogue.", position)
            )
    label = where + (f" ({name[:40]})" if name else "")
    if not any(ch.isalnum() for ch in name) and len(found.problems) == before:
        found.problems.append(
            Problem(
                where, "drug", f"{label}: the drug is required (pick one from the list or type its name).", position
            )
        )
    unit = check("dose_unit", lambda: _choice(raw.dose_unit, f"{label}: please choose the dose unit", DOSE_UNITS))
    dose = check("dose", lambda: _dose(raw.dose, label, unit))
    route = check("route", lambda: _choice(raw.route, f"{label}: please choose the route", ROUTES))
    frequency = check(
        "frequency",
        lambda: _choice(raw.frequency, f"{label}: please choose how often it is taken (frequency)", FREQUENCY_BY_CODE),
    )
    duration = check(
        "duration_days", lambda: _whole(raw.duration_days, f"{label}: duration (days)", 1, MAX_DURATION_DAYS)
    )
    quantity = check("quantity", lambda: _whole(raw.quantity, f"{label}: quantity", 1, MAX_QUANTITY))
    quantity_unit = check(
        "quantity_unit",
        lambda: _choice(raw.quantity_unit, f"{label}: please choose the unit of the quantity", QUANTITY_UNITS),
    )
    refills = check(
        "refills",
        lambda: _whole(
            0 if raw.refills is None or raw.refills == "" else raw.refills, f"{label}: refills", 0, MAX_REFILLS
        ),
    )
    as_needed = False
    if raw.as_needed is not None and not isinstance(raw.as_needed, bool):
        found.problems.append(
            Problem(where, "as_needed", f"{label}: “only as needed” must be ticked or not.", position)
        )
    else:
        as_needed = bool(raw.as_needed)
    reason = ""
    if as_needed:
        reason = (
            check("as_needed_reason", lambda: _one_line(raw.as_needed_reason, f"{label}: as-needed reason", REASON_MAX))
            or ""
        )
        if not any(ch.isalnum() for ch in reason) and not (
            found.problems and found.problems[-1].field == "as_needed_reason"
        ):
            found.problems.append(
                Problem(
                    where,
                    "as_needed_reason",
                    f"{label}: as needed — please give the reason (for example “pain” or “nausea”).",
                    position,
                )
            )
    instructions = check("instructions", lambda: _limited(raw.instructions, f"{label}: instructions", INSTRUCTIONS_MAX))
    if len(found.problems) > before:
        for n in range(before, len(found.problems)):
            found.problems[n] = _with_hint(found.problems[n], (f"{label}: ", f"{where}: "))
        return None
    assert unit is not None and dose is not None and route is not None and frequency is not None
    assert duration is not None and quantity is not None and quantity_unit is not None and refills is not None
    return PrescriptionItem(
        drug_name=name,
        drug_code=code,
        dose=dose,
        dose_unit=unit,
        route=route,
        frequency=frequency,
        duration_days=duration,
        quantity=quantity,
        quantity_unit=quantity_unit,
        refills=refills,
        as_needed=as_needed,
        as_needed_reason=reason,
        instructions=instructions or "",
    )


def diagnosis_code(raw: object, position: int) -> str:
    """A diagnosis code as the form sent it, in the catalogue's spelling (upper case, no spaces around)."""
    return _text(raw, f"Diagnosis {position}: the code").strip().upper()


def validate_content(
    chief_complaint: str,
    findings: str,
    plan: str,
    diagnosis_codes: list[str],
    prescriptions: list[PrescriptionInput],
    diagnosis_name_of: dict[str, str],
    drug_name_of: dict[str, str],
) -> VisitContent:
    """The whole record or nothing: every problem of the form is collected in one pass and raised together
    (FormProblems, each naming its item and field). `diagnosis_name_of`: the catalogue's description of each
    billable ICD-10-CM code asked for (codes missing from it are not billable codes)."""
    found = _Collector()
    # free text: line breaks are kept
    complaint = found.check(
        "Note", "chief_complaint", 0, lambda: _limited(chief_complaint, "Chief complaint", NOTE_MAX)
    )
    findings_text = found.check("Note", "findings", 0, lambda: _limited(findings, "Findings", NOTE_MAX))
    plan_text = found.check("Note", "plan", 0, lambda: _limited(plan, "Plan", NOTE_MAX))
    if not isinstance(diagnosis_codes, (list, tuple)) or not isinstance(prescriptions, (list, tuple)):
        found.problems.append(Problem("Form", "", "The diagnoses and prescriptions must be lists."))
        raise FormProblems(found.problems)
    diagnoses: list[Diagnosis] = []
    if len(diagnosis_codes) > MAX_DIAGNOSES:
        found.problems.append(Problem("Diagnoses", "", f"At most {MAX_DIAGNOSES} diagnoses per visit."))
    for position, raw_code in enumerate(diagnosis_codes[: MAX_DIAGNOSES + 1], start=1):
        where = f"Diagnosis {position}"
        try:
            code = diagnosis_code(raw_code, position)
        except ValidationError as error:
            found.problems.append(Problem(where, "code", error.message, position))
            continue
        if code not in diagnosis_name_of:
            found.problems.append(
                Problem(
                    where,
                    "code",
                    f"{where}: “{code[:20]}” is not a billable ICD-10-CM code; pick one from the list.",
                    position,
                )
            )
        elif any(d.code == code for d in diagnoses):
            found.problems.append(Problem(where, "code", f"{where}: {code} is listed twice.", position))
        else:
            diagnoses.append(Diagnosis(code, diagnosis_name_of[code]))
    if len(prescriptions) > MAX_PRESCRIPTIONS:
        found.problems.append(Problem("Prescriptions", "", f"At most {MAX_PRESCRIPTIONS} prescriptions per visit."))
    items = [
        _prescription(p, i, drug_name_of, found) for i, p in enumerate(prescriptions[: MAX_PRESCRIPTIONS + 1], start=1)
    ]
    if found.problems:
        raise FormProblems(found.problems)
    note = VisitNote(complaint or "", findings_text or "", plan_text or "")
    return VisitContent(note, tuple(diagnoses), tuple(i for i in items if i is not None))


# ---- the printed prescription ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrescriptionSheet:
    """What a printed prescription shows; the renderer lays it out."""

    visit_id: int
    doctor: str
    doctor_specialty: str
    patient: str
    patient_birth_date: date | None
    issued: date
    items: tuple[PrescriptionItem, ...]
    version: int  # 1: as signed; more: after amendments
    signed_at: datetime
    appointment_id: int | None = None  # None: an imported visit without a booking

    @property
    def visit_words(self) -> str:
        """The visit under the number users see (the appointment's, as in /doctor/visit/<n>)."""
        return visit_words(self.appointment_id, self.visit_id)

    @property
    def visit_slug(self) -> str:
        """The same number for a file name: "visit-4", or "imported-visit-7"."""
        if self.appointment_id is not None:
            return f"visit-{self.appointment_id}"
        return f"imported-visit-{self.visit_id}"


def visit_words(appointment_id: int | None, encounter_id: int | None) -> str:
    """How a visit is named to people (audit details, printouts): by its appointment's number, the one in the
    visit page's address; an imported visit without a booking by its record's number."""
    if appointment_id is not None:
        return f"visit of appointment {appointment_id}"
    return f"imported visit {encounter_id}"


def counted(n: int, one: str, many: str | None = None) -> str:
    """“1 diagnosis”, “2 diagnoses”."""
    return f"{n} {one if n == 1 else (many or one + 's')}"
