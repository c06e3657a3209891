"""Use cases. Each command runs in one unit of work, checks who acts, and records events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain import events
from domain.errors import Conflict, NotAllowed, NotFound, SlotTaken, ValidationError
from domain.model import (
    MIN_PASSWORD_LENGTH,
    Account,
    AccountStatus,
    Actor,
    Appointment,
    AppointmentStatus,
    Department,
    Doctor,
    Patient,
    Role,
    Slot,
    WorkingHours,
    ensure_aware,
    normalise_email,
    parse_birth_date,
    require_text,
)
from domain.ports import Clock, PasswordHasher, UnitOfWork, UnitOfWorkFactory
from domain.schedule import check_no_overlap, check_slot_minutes, generate_slots
from domain.throttle import LoginThrottle

BOOKING_HORIZON_DAYS = 28


class SystemClock:
    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return datetime.now(self.tz).date()


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > 256:
        raise ValidationError("The password is too long (at most 256 characters).")
    return password


@dataclass
class Services:
    uow: UnitOfWorkFactory
    hasher: PasswordHasher
    clock: Clock
    tz: ZoneInfo
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    cancel_cutoff: timedelta = timedelta(hours=2)  # patients cancel or move online until then

    # ---- accounts -------------------------------------------------------------------------
    def actor_for(self, account_id: int) -> Actor:
        """The actor behind a session; raises NotAllowed when the account may no longer act."""
        with self.uow(readonly=True) as uow:
            account = uow.accounts.get(account_id)
            if account is None or not account.can_log_in():
                raise NotAllowed("Your account is not active. Please sign in again.")
            assert account.id is not None
            patient = uow.patients.by_account(account.id) if account.role == Role.PATIENT else None
            doctor = uow.doctors.by_account(account.id) if account.role == Role.DOCTOR else None
            return Actor(
                account_id=account.id,
                role=account.role,
                patient_id=patient.id if patient else None,
                doctor_id=doctor.id if doctor else None,
                name=account.display_name,
            )

    @staticmethod
    def _still_active(uow: UnitOfWork, actor: Actor) -> None:
        """Every command re-checks the account: a page opened before a deactivation cannot act after it."""
        account = uow.accounts.get(actor.account_id)
        if account is None or not account.can_log_in() or account.role != actor.role:
            raise NotAllowed("Your account is not active any more. Please sign in again.")

    def authenticate(self, email: str, password: str) -> Account:
        wrong = ValidationError("Email or password is wrong.")
        try:
            email = normalise_email(email)
        except ValidationError:
            raise wrong from None
        self.throttle.check(email, self.clock.now())
        with self.uow(readonly=True) as uow:
            account = uow.accounts.by_email(email)
        if account is None or not account.password_hash:
            # spend the same time as a real check, and say the same: which emails exist stays private
            self.hasher.verify(password or "", _DUMMY_HASH.get(self.hasher))
            self.throttle.failed(email, self.clock.now())
            raise wrong
        if not self.hasher.verify(password or "", account.password_hash):
            self.throttle.failed(email, self.clock.now())
            raise wrong
        if account.status == AccountStatus.DEACTIVATED:
            raise NotAllowed("This account has been deactivated. Please contact the hospital.")
        self.throttle.succeeded(email)
        return account

    def register_patient(self, name: str, email: str, password: str, birth_date: str) -> Patient:
        name = require_text(name, "Name")
        email = normalise_email(email)
        check_password(password)
        born = parse_birth_date(birth_date, self.clock.today())
        with self.uow() as uow:
            if uow.accounts.by_email(email) is not None:
                raise Conflict("An account with this email already exists. Try signing in instead.")
        hashed = self.hasher.hash(password)
        with self.uow() as uow:
            if uow.accounts.by_email(email) is not None:
                raise Conflict("An account with this email already exists. Try signing in instead.")
            account = uow.accounts.add(Account(email=email, role=Role.PATIENT, display_name=name, password_hash=hashed))
            patient = uow.patients.add(Patient(account_id=account.id, name=name, birth_date=born, email=email))
            uow.commit()
            return patient

    # ---- admin: departments and doctors ---------------------------------------------------
    def save_department(
        self, actor: Actor, name: str, description: str = "", department_id: int | None = None
    ) -> Department:
        actor.require(Role.ADMIN)
        name = require_text(name, "Department name", 100)
        description = (description or "").strip()
        if len(description) > 1000:
            raise ValidationError("The description is too long (at most 1000 characters).")
        with self.uow() as uow:
            self._still_active(uow, actor)
            same = uow.departments.by_name(name)
            if same is not None and same.id != department_id:
                raise Conflict(f"A department called “{name}” already exists.")
            if department_id is None:
                department = uow.departments.add(Department(name=name, description=description))
            else:
                found = uow.departments.get(department_id)
                if found is None:
                    raise NotFound("This department no longer exists.")
                found.name, found.description = name, description
                uow.departments.save(found)
                department = found
            uow.record(events.DirectoryChanged("department"))
            uow.commit()
            return department

    def onboard_doctor(
        self, actor: Actor, name: str, email: str, specialty: str, department_id: int | None, password: str
    ) -> Doctor:
        actor.require(Role.ADMIN)
        name = require_text(name, "Name")
        email = normalise_email(email)
        specialty = require_text(specialty, "Specialty", 100)
        if department_id is None:
            raise ValidationError("Please choose a department.")
        check_password(password)
        hashed = self.hasher.hash(password)
        with self.uow() as uow:
            self._still_active(uow, actor)
            if uow.departments.get(department_id) is None:
                raise NotFound("This department no longer exists.")
            if uow.accounts.by_email(email) is not None:
                raise Conflict("An account with this email already exists.")
            account = uow.accounts.add(Account(email=email, role=Role.DOCTOR, display_name=name, password_hash=hashed))
            doctor = uow.doctors.add(
                Doctor(
                    account_id=account.id,
                    name=name,
                    specialty=specialty,
                    department_id=department_id,
                    email=email,
                )
            )
            uow.record(events.DirectoryChanged("doctor"))
            uow.commit()
            return doctor

    def update_doctor(
        self, actor: Actor, doctor_id: int, name: str, specialty: str, department_id: int | None
    ) -> Doctor:
        actor.require(Role.ADMIN)
        name = require_text(name, "Name")
        specialty = require_text(specialty, "Specialty", 100)
        if department_id is None:
            raise ValidationError("Please choose a department.")
        with self.uow() as uow:
            self._still_active(uow, actor)
            doctor = uow.doctors.get(doctor_id)
            if doctor is None:
                raise NotFound("This doctor no longer exists.")
            if uow.departments.get(department_id) is None:
                raise NotFound("This department no longer exists.")
            doctor.name, doctor.specialty, doctor.department_id = name, specialty, department_id
            uow.doctors.save(doctor)
            uow.record(events.DirectoryChanged("doctor"))
            uow.commit()
            return doctor

    # ---- doctor: availability -------------------------------------------------------------
    def set_availability(self, actor: Actor, doctor_id: int, hours: list[WorkingHours], slot_minutes: int) -> None:
        if not (actor.role == Role.ADMIN or (actor.role == Role.DOCTOR and actor.doctor_id == doctor_id)):
            raise NotAllowed("You can only change your own availability.")
        check_slot_minutes(slot_minutes)
        ordered = check_no_overlap(hours)
        with self.uow() as uow:
            self._still_active(uow, actor)
            doctor = uow.doctors.get(doctor_id)
            if doctor is None:
                raise NotFound("This doctor no longer exists.")
            doctor.slot_minutes = slot_minutes
            uow.doctors.save(doctor)
            uow.doctors.set_hours(doctor_id, ordered)
            uow.record(events.AvailabilityChanged(doctor_id))
            uow.commit()

    # ---- booking --------------------------------------------------------------------------
    def slots(self, doctor_id: int, first_day: date, days: int) -> list[tuple[Slot, bool]]:
        """The doctor's grid for the given local days, each slot with `free`.
        Past slots and slots beyond the booking horizon are not offered."""
        now = self.clock.now()
        with self.uow(readonly=True) as uow:
            doctor = uow.doctors.get(doctor_id)
            if doctor is None or doctor.id is None:
                raise NotFound("This doctor does not exist.")
            grid = generate_slots(
                doctor.id, uow.doctors.hours(doctor.id), doctor.slot_minutes, first_day, days, self.tz
            )
            if not grid:
                return []
            taken = uow.appointments.active_for_doctor(doctor.id, grid[0].start, grid[-1].end)
        horizon = now + timedelta(days=BOOKING_HORIZON_DAYS)
        out = []
        for slot in grid:
            if slot.start <= now or slot.start > horizon:
                continue
            busy = any(a.overlaps(slot.start, slot.end) for a in taken)
            out.append((slot, not busy))
        return out

    def _check_window(self, start: datetime) -> datetime:
        start = ensure_aware(start).astimezone(UTC)
        now = self.clock.now()
        if start <= now:
            raise ValidationError("This time has already passed. Please pick a later slot.")
        if start > now + timedelta(days=BOOKING_HORIZON_DAYS):
            raise ValidationError(f"Appointments can be booked at most {BOOKING_HORIZON_DAYS} days ahead.")
        return start

    def _claim_slot(self, uow: UnitOfWork, patient_id: int, doctor: Doctor, start: datetime) -> Slot:
        """The slot at `start` if it is on the doctor's grid, free, and the patient is free then."""
        assert doctor.id is not None
        local_day = start.astimezone(self.tz).date()
        grid = generate_slots(doctor.id, uow.doctors.hours(doctor.id), doctor.slot_minutes, local_day, 1, self.tz)
        slot = next((s for s in grid if s.start == start), None)
        if slot is None:
            raise ValidationError("The doctor does not see patients at this time. Please pick a slot from the list.")
        uow.lock_for_booking(doctor.id, patient_id)
        if uow.appointments.active_for_doctor(doctor.id, slot.start, slot.end):
            raise SlotTaken()
        if uow.appointments.active_for_patient(patient_id, slot.start, slot.end):
            raise Conflict("You already have an appointment at this time.")
        return slot

    def _book_slot(
        self,
        uow: UnitOfWork,
        patient_id: int,
        doctor: Doctor,
        start: datetime,
        reason: str,
        rescheduled_from: int | None = None,
    ) -> Appointment:
        """Claim the slot, store the booked appointment and record SlotBooked (the caller commits)."""
        slot = self._claim_slot(uow, patient_id, doctor, start)
        appointment = uow.appointments.add(
            Appointment(
                doctor_id=slot.doctor_id,
                patient_id=patient_id,
                start=slot.start,
                end=slot.end,
                status=AppointmentStatus.BOOKED,
                reason=reason,
                created_at=self.clock.now(),
                rescheduled_from=rescheduled_from,
            )
        )
        assert appointment.id is not None
        uow.record(events.SlotBooked(appointment.id, slot.doctor_id, patient_id, slot.start, slot.end))
        return appointment

    def book(self, actor: Actor, doctor_id: int, start: datetime, reason: str = "") -> Appointment:
        actor.require(Role.PATIENT)
        if actor.patient_id is None:
            raise NotAllowed("Only patients can book appointments.")
        start = self._check_window(start)
        with self.uow() as uow:
            self._still_active(uow, actor)
            doctor = uow.doctors.get(doctor_id)
            if doctor is None or doctor.id is None:
                raise NotFound("This doctor does not exist.")
            appointment = self._book_slot(uow, actor.patient_id, doctor, start, (reason or "").strip()[:500])
            uow.commit()
            return appointment

    def reschedule(self, actor: Actor, appointment_id: int, new_start: datetime) -> Appointment:
        """Move an own appointment to another time of the same doctor, in one transaction: the old one is
        cancelled (linked from the new one) only if the new slot can be had; a repeated or stale request
        finds the old one no longer booked and is refused."""
        actor.require(Role.PATIENT)
        new_start = self._check_window(new_start)
        now = self.clock.now()
        with self.uow() as uow:
            self._still_active(uow, actor)
            old = uow.appointments.get(appointment_id, for_update=True)
            if old is None or old.patient_id != actor.patient_id or actor.patient_id is None:
                raise NotFound("This appointment does not exist.")
            if old.status not in (AppointmentStatus.PENDING, AppointmentStatus.BOOKED):
                raise ValidationError(f"This appointment is {old.status.value} and can no longer be moved.")
            if old.start == new_start:
                raise ValidationError("That is the time you already have.")
            doctor = uow.doctors.get(old.doctor_id)
            if doctor is None or doctor.id is None:
                raise NotFound("This doctor does not exist.")
            old.cancel(actor, now, "pat", "Moved to another time by the patient", self.cancel_cutoff)
            uow.appointments.save(old)  # frees the old slot inside this transaction only
            assert old.id is not None
            uow.record(
                events.AppointmentCancelled(
                    old.id, old.doctor_id, old.patient_id, old.start, old.end, "patient", old.cancellation_text
                )
            )
            new = self._book_slot(uow, actor.patient_id, doctor, new_start, old.reason, rescheduled_from=old.id)
            uow.commit()
            return new

    def cancel(self, actor: Actor, appointment_id: int, code: str = "", note: str = "") -> Appointment:
        actor.require(Role.PATIENT, Role.DOCTOR, Role.ADMIN)
        with self.uow() as uow:
            self._still_active(uow, actor)
            appointment = uow.appointments.get(appointment_id, for_update=True)
            if appointment is None or (actor.role == Role.PATIENT and appointment.patient_id != actor.patient_id):
                raise NotFound("This appointment does not exist.")
            appointment.cancel(actor, self.clock.now(), code, note, self.cancel_cutoff)
            uow.appointments.save(appointment)
            assert appointment.id is not None
            uow.record(
                events.AppointmentCancelled(
                    appointment.id,
                    appointment.doctor_id,
                    appointment.patient_id,
                    appointment.start,
                    appointment.end,
                    by_role=actor.role.value,
                    reason=appointment.cancellation_text,
                )
            )
            uow.commit()
            return appointment


class _DummyHash:
    """One real hash per hasher, made lazily, for constant-time failed logins."""

    def __init__(self) -> None:
        self._cache: dict[int, str] = {}

    def get(self, hasher: PasswordHasher) -> str:
        key = id(hasher)
        if key not in self._cache:
            self._cache[key] = hasher.hash("not-a-real-password")
        return self._cache[key]


_DUMMY_HASH = _DummyHash()
