"""A small deterministic demo hospital, seeded only into an empty database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlmodel import Session

from data.db import make_engine
from data.queries import Queries
from data.security import Argon2Hasher, InviteTokens
from data.settings import Settings
from data.tables import AppointmentRow, DiagnosisRow, EncounterRow, PrescriptionRow
from data.uow import SqlUnitOfWorkFactory
from domain.model import Account, Actor, Role, VisitType, WorkingHours, normalise_email
from domain.schedule import generate_grid
from domain.services import Services, SystemClock, check_password

ADMIN = ("admin@healthsync.example", "admin-demo-2026")
PATIENT = ("patient@healthsync.example", "patient-demo-2026")
DOCTOR_PASSWORD = "doctor-demo-2026"  # noqa: S105 - demo data, printed at start

DEPARTMENTS = [
    ("General Practice", "First point of contact for adults: check-ups, chronic care, referrals."),
    ("Cardiology", "Heart and circulation: hypertension, arrhythmia, heart failure."),
    ("Pediatrics", "Children and adolescents up to 18."),
    ("Dermatology", "Skin, hair and nails."),
]
DOCTORS = [
    # name, email, specialty, department, slot minutes, hours (weekday, start, end)
    (
        "Dr. Amara Okafor",
        "okafor@healthsync.example",
        "General Practice",
        "General Practice",
        15,
        [(d, "08:30", "12:00") for d in range(5)] + [(d, "13:00", "16:30") for d in range(5)],
    ),
    (
        "Dr. Jonas Weber",
        "weber@healthsync.example",
        "Cardiology",
        "Cardiology",
        20,
        [(d, "09:00", "13:00") for d in (0, 1, 3)] + [(2, "13:00", "18:00")],
    ),
    (
        "Dr. Lucía Fernández",
        "fernandez@healthsync.example",
        "Pediatrics",
        "Pediatrics",
        15,
        [(d, "08:00", "12:00") for d in range(5)] + [(5, "09:00", "12:00")],
    ),
    (
        "Dr. Sean O'Brien",
        "obrien@healthsync.example",
        "Dermatology",
        "Dermatology",
        30,
        [(d, "10:00", "16:00") for d in (1, 3, 4)],
    ),
]
PATIENTS = [
    ("Maria Schmidt", PATIENT[0], PATIENT[1], "1984-05-17"),
    ("Tomás Álvarez", "tomas@healthsync.example", "tomas-demo-2026", "1991-11-02"),
    ("Grace O'Neill", "grace@healthsync.example", "grace-demo-2026", "1957-02-28"),
]


def _services(settings: Settings) -> Services:
    engine = make_engine(settings.database_url)
    return Services(
        SqlUnitOfWorkFactory(engine),
        Argon2Hasher(),
        SystemClock(settings.tz),
        settings.tz,
        invite_tokens=InviteTokens.from_settings(settings),
        invite_ttl=timedelta(hours=settings.invite_hours),
    )


def create_admin(settings: Settings, email: str, name: str, password: str) -> None:
    services = _services(settings)
    email = normalise_email(email)
    check_password(password)
    hashed = services.hasher.hash(password)
    with services.uow() as uow:
        uow.accounts.add(Account(email=email, role=Role.ADMIN, display_name=name, password_hash=hashed))
        uow.commit()
    services.uow.engine.dispose()  # type: ignore[attr-defined]


def seed_demo(settings: Settings) -> list[tuple[str, str, str]] | None:
    """Seed the demo hospital; returns the logins, or None when the database already has data."""
    engine = make_engine(settings.database_url)
    if not Queries(engine).is_empty():
        return None
    services = _services(settings)
    tz = settings.tz
    create_admin(settings, ADMIN[0], "Hospital Administrator", ADMIN[1])
    with services.uow() as uow:
        admin_account = uow.accounts.by_email(ADMIN[0])
        assert admin_account is not None and admin_account.id is not None
    admin = Actor(admin_account.id, Role.ADMIN)

    departments = {name: services.save_department(admin, name, text).id for name, text in DEPARTMENTS}
    doctors = []
    for name, email, specialty, dept, minutes, hours in DOCTORS:
        # the same path as a real doctor: invited by the admin, then the invite link sets the password
        doctor, invite = services.onboard_doctor(admin, name, email, specialty, departments[dept])
        services.accept_invite(invite.token, DOCTOR_PASSWORD)
        assert doctor.id is not None
        services.set_availability(
            admin,
            doctor.id,
            [WorkingHours(d, time.fromisoformat(a), time.fromisoformat(b)) for d, a, b in hours],
            minutes,
            visit_types=[
                VisitType("consultation", "Consultation", minutes),
                VisitType("follow-up", "Follow-up", 2 * minutes),
                VisitType("procedure", "Procedure", 60),
            ],
        )
        doctors.append(doctor)
    patients = [services.register_patient(n, e, p, born) for n, e, p, born in PATIENTS]

    # upcoming bookings through the normal booking path: every other free slot of the first day with hours
    today = services.clock.today()
    for i, patient in enumerate(patients):
        assert patient.id is not None and patient.account_id is not None
        actor = Actor(patient.account_id, Role.PATIENT, patient_id=patient.id)
        doctor = doctors[i % len(doctors)]
        assert doctor.id is not None
        free = [s for s, ok in services.slots(doctor.id, today + timedelta(days=1), 7) if ok]
        if free:
            services.book(actor, doctor.id, free[min(2 + i * 3, len(free) - 1)].start, "Follow-up visit")

    # Dr. Okafor's day today, so the doctor's view has something to show: later slots are booked through
    # the booking path; slots already past today are recorded as seen (fulfilled), as a finished morning is
    okafor = doctors[0]
    assert okafor.id is not None
    now = services.clock.now()
    todays_grid = generate_grid(okafor.id, services.templates(okafor.id), today, 1, tz)
    for i, slot in enumerate(todays_grid[1::6][: len(patients)]):
        patient = patients[i]
        assert patient.id is not None and patient.account_id is not None
        if slot.start > now + timedelta(hours=2):  # beyond the minimum notice
            actor = Actor(patient.account_id, Role.PATIENT, patient_id=patient.id)
            services.book(actor, okafor.id, slot.start, "Blood pressure check")
        elif slot.end <= now:
            with Session(engine) as s:
                s.add(
                    AppointmentRow(
                        doctor_id=okafor.id,
                        patient_id=patient.id,
                        start_at=slot.start,
                        end_at=slot.end,
                        status="fulfilled",
                        reason="Blood pressure check",
                        created_at=slot.start - timedelta(days=3),
                    )
                )
                s.commit()

    # some past visits with a medical record, as an import or a finished day would leave them
    history = [
        (
            30,
            "Check-up",
            "185349003",
            "Essential hypertension (disorder)",
            "59621000",
            "lisinopril 10 MG Oral Tablet",
            "314076",
            1.0,
            1,
            1.0,
            "d",
        ),
        (
            120,
            "Encounter for problem",
            "185347001",
            "Acute bronchitis (disorder)",
            "10509002",
            "Amoxicillin 500 MG Oral Capsule",
            "308191",
            1.0,
            3,
            1.0,
            "d",
        ),
    ]
    with Session(engine) as s:
        for i, patient in enumerate(patients):
            for days_ago, kind, kind_code, diagnosis, dx_code, drug, rx_code, dose, freq, period, unit in history:
                doctor = doctors[(i + days_ago) % len(doctors)]
                local = datetime.combine(today - timedelta(days=days_ago + i), time(10, 0), tzinfo=tz)
                start = local.astimezone(UTC)
                end = start + timedelta(minutes=doctor.slot_minutes)
                appt = AppointmentRow(
                    doctor_id=doctor.id,
                    patient_id=patient.id,
                    start_at=start,
                    end_at=end,
                    status="fulfilled",
                    reason=kind,
                    created_at=start - timedelta(days=7),
                )
                s.add(appt)
                s.flush()
                enc = EncounterRow(
                    appointment_id=appt.id,
                    patient_id=patient.id,
                    doctor_id=doctor.id,
                    start_at=start,
                    end_at=end,
                    class_code="AMB",
                    type_code=kind_code,
                    type_display=kind,
                    notes="",
                )
                s.add(enc)
                s.flush()
                s.add(
                    DiagnosisRow(
                        patient_id=patient.id,
                        encounter_id=enc.id,
                        system="http://snomed.info/sct",
                        code=dx_code,
                        display=diagnosis,
                        # hypertension is lasting; an acute bronchitis is over after a few weeks
                        clinical_status="resolved" if diagnosis.startswith("Acute") else "active",
                        onset_at=start,
                        abated_at=start + timedelta(days=21) if diagnosis.startswith("Acute") else None,
                    )
                )
                s.add(
                    PrescriptionRow(
                        patient_id=patient.id,
                        encounter_id=enc.id,
                        doctor_id=doctor.id,
                        drug_system="http://www.nlm.nih.gov/research/umls/rxnorm",
                        drug_code=rx_code,
                        drug_display=drug,
                        dose=dose,
                        dose_unit="tablet",
                        route="oral",
                        frequency=freq,
                        period=period,
                        period_unit=unit,
                        duration_days=14,
                        refills=0,
                        status="active",
                        authored_at=start,
                    )
                )
        s.commit()
    engine.dispose()
    services.uow.engine.dispose()  # type: ignore[attr-defined]
    logins = [("admin", ADMIN[0], ADMIN[1])]
    logins += [("doctor", d[1], DOCTOR_PASSWORD) for d in DOCTORS]
    logins += [("patient", p[1], p[2]) for p in PATIENTS]
    return logins
