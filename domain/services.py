"""Use cases. Each command runs in one unit of work, checks who acts, and records events."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain import events
from domain.errors import Conflict, NotAllowed, NotFound, SlotTaken, ValidationError
from domain.model import (
    DEFAULT_HORIZON_DAYS,
    DEFAULT_INVITE_HOURS,
    MAX_HORIZON_DAYS,
    MIN_PASSWORD_LENGTH,
    WEEKDAY_NAMES,
    Account,
    AccountStatus,
    Actor,
    Appointment,
    AppointmentStatus,
    AuditEvent,
    Department,
    Doctor,
    Invite,
    Leave,
    OfferStatus,
    Patient,
    Role,
    Slot,
    VisitType,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistStatus,
    WeeklyTemplate,
    WorkingHours,
    ensure_aware,
    free_text,
    normalise_email,
    parse_birth_date,
    require_text,
    template_on,
)
from domain.ports import Clock, InviteTokens, PasswordHasher, UnitOfWork, UnitOfWorkFactory
from domain.schedule import (
    check_no_overlap,
    check_slot_minutes,
    generate_grid,
    leave_range,
    on_leave,
    within_hours,
)
from domain.throttle import LoginThrottle

BOOKING_HORIZON_DAYS = DEFAULT_HORIZON_DAYS


@dataclass(frozen=True)
class IssuedInvite:
    """An invite link's token, for the admin to hand to the person (there is no email yet)."""

    account_id: int
    name: str
    email: str
    role: Role
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class InviteInfo:
    """What the /invite page shows before the password is set."""

    name: str
    email: str
    role: Role
    expires_at: datetime


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
    if len(set(password)) < 3:
        raise ValidationError("Please choose a password that is not just one or two characters repeated.")
    if len(password) > 256:
        raise ValidationError("The password is too long (at most 256 characters).")
    return password


@dataclass
class Services:
    uow: UnitOfWorkFactory
    hasher: PasswordHasher
    clock: Clock
    tz: ZoneInfo
    throttle: LoginThrottle = field(default_factory=LoginThrottle)  # per email and source
    source_throttle: LoginThrottle = field(default_factory=lambda: LoginThrottle(max_failures=30))
    cancel_cutoff: timedelta = timedelta(hours=2)  # patients cancel or move online until then
    offer_hold: timedelta = timedelta(minutes=5)  # how long a freed time is held for a waiting patient
    invite_tokens: InviteTokens | None = None  # signs invite links (data/security.py InviteTokens)
    invite_ttl: timedelta = timedelta(hours=DEFAULT_INVITE_HOURS)

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

    def authenticate(self, email: str, password: str, source: str = "") -> Account:
        """`source`: where the attempt comes from (the client address). Failures are counted per email *and*
        source, so somebody guessing elsewhere cannot lock the real user out, and per source for any email,
        so one client cannot keep the (deliberately slow) password hashing busy with made-up emails."""
        wrong = ValidationError("Email or password is wrong.")
        now = self.clock.now()
        self.source_throttle.check(f"source|{source}", now, "from this device")
        try:
            email = normalise_email(email)
        except ValidationError:
            raise wrong from None
        key = f"{email}|{source}"
        self.throttle.check(key, now)
        with self.uow(readonly=True) as uow:
            account = uow.accounts.by_email(email)
        if account is None or not account.password_hash:
            # spend the same time as a real check, and say the same: which emails exist stays private
            self.hasher.verify(password or "", _DUMMY_HASH.get(self.hasher))
            self._failed_sign_in(key, source, now)
            raise wrong
        if not self.hasher.verify(password or "", account.password_hash):
            self._failed_sign_in(key, source, now)
            raise wrong
        if account.status == AccountStatus.DEACTIVATED:
            raise NotAllowed("This account has been deactivated. Please contact the hospital.")
        self.throttle.succeeded(key)
        return account

    def _failed_sign_in(self, key: str, source: str, now: datetime) -> None:
        self.throttle.failed(key, now)
        self.source_throttle.failed(f"source|{source}", now)

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
                action, detail = "department.create", name
            else:
                found = uow.departments.get(department_id)
                if found is None:
                    raise NotFound("This department no longer exists.")
                detail = name if found.name == name else f"{found.name} -> {name}"
                found.name, found.description = name, description
                uow.departments.save(found)
                department, action = found, "department.update"
            self._audit(uow, actor, action, "department", department.id, detail=detail)
            uow.record(events.DirectoryChanged("department"))
            uow.commit()
            return department

    def onboard_doctor(
        self, actor: Actor, name: str, email: str, specialty: str, department_id: int | None
    ) -> tuple[Doctor, IssuedInvite]:
        """A doctor's record and an invited account (no password: it cannot sign in), plus the invite link with
        which the doctor sets their own password. Bookable once the account is active and has working hours."""
        actor.require(Role.ADMIN)
        name = require_text(name, "Name")
        email = normalise_email(email)
        specialty = require_text(specialty, "Specialty", 100)
        if department_id is None:
            raise ValidationError("Please choose a department.")
        with self.uow() as uow:
            uow.lock_hospital()  # the department cannot be deleted meanwhile
            self._still_active(uow, actor)
            if uow.departments.get(department_id) is None:
                raise NotFound("This department no longer exists.")
            if uow.accounts.by_email(email) is not None:
                raise Conflict("An account with this email already exists.")
            account = uow.accounts.add(
                Account(email=email, role=Role.DOCTOR, display_name=name, status=AccountStatus.INVITED)
            )
            doctor = uow.doctors.add(
                Doctor(
                    account_id=account.id,
                    name=name,
                    specialty=specialty,
                    department_id=department_id,
                    email=email,
                )
            )
            self._audit(uow, actor, "doctor.onboard", "doctor", doctor.id, detail=f"{name} <{email}>, {specialty}")
            invite = self._issue_invite(uow, actor, account)
            uow.record(events.DirectoryChanged("doctor"))
            uow.commit()
            return doctor, invite

    def update_doctor(
        self, actor: Actor, doctor_id: int, name: str, specialty: str, department_id: int | None
    ) -> Doctor:
        actor.require(Role.ADMIN)
        name = require_text(name, "Name")
        specialty = require_text(specialty, "Specialty", 100)
        if department_id is None:
            raise ValidationError("Please choose a department.")
        with self.uow() as uow:
            uow.lock_hospital()  # the new department cannot be deleted meanwhile
            self._still_active(uow, actor)
            doctor = uow.doctors.get(doctor_id)
            if doctor is None:
                raise NotFound("This doctor no longer exists.")
            if uow.departments.get(department_id) is None:
                raise NotFound("This department no longer exists.")
            before = f"{doctor.name}, {doctor.specialty}, department {doctor.department_id}"
            doctor.name, doctor.specialty, doctor.department_id = name, specialty, department_id
            uow.doctors.save(doctor)
            account = uow.accounts.get(doctor.account_id) if doctor.account_id is not None else None
            if account is not None and account.display_name != name:  # the name they are greeted with, too
                account.display_name = name
                uow.accounts.save(account)
            self._audit(
                uow,
                actor,
                "doctor.update",
                "doctor",
                doctor_id,
                detail=f"{before} -> {name}, {specialty}, department {department_id}",
            )
            uow.record(events.DirectoryChanged("doctor"))
            uow.commit()
            return doctor

    # ---- admin: accounts, invites, departments going away ------------------------------------
    def _tokens(self) -> InviteTokens:
        if self.invite_tokens is None:
            raise RuntimeError("Services.invite_tokens is not configured")  # a wiring mistake, not user input
        return self.invite_tokens

    def _issue_invite(self, uow: UnitOfWork, actor: Actor, account: Account) -> IssuedInvite:
        """A new single-use invite for the account; older open ones are revoked (only the newest link works)."""
        assert account.id is not None and account.email is not None
        now = self.clock.now()
        for older in uow.invites.open_for(account.id, now):
            older.revoked_at = now
            uow.invites.save(older)
        invite = uow.invites.add(
            Invite(account.id, secrets.token_urlsafe(24), now, now + self.invite_ttl, created_by=actor.account_id)
        )
        self._audit(
            uow,
            actor,
            "invite.create",
            "account",
            account.id,
            patient_id=self._patient_of(uow, account),
            detail=f"{account.role.value} {account.email}, valid until {self._local(invite.expires_at)}",
        )
        token = self._tokens().issue(invite.nonce)
        return IssuedInvite(account.id, account.display_name, account.email, account.role, token, invite.expires_at)

    @staticmethod
    def _patient_of(uow: UnitOfWork, account: Account) -> int | None:
        if account.role != Role.PATIENT or account.id is None:
            return None
        patient = uow.patients.by_account(account.id)
        return patient.id if patient else None

    def create_invite(self, actor: Actor, account_id: int) -> IssuedInvite:
        """A fresh invite link for an account that has not been set up yet (the old link is lost or expired)."""
        actor.require(Role.ADMIN)
        with self.uow() as uow:
            self._still_active(uow, actor)
            account = uow.accounts.get(account_id)
            if account is None or account.role == Role.ADMIN:
                raise NotFound("This account does not exist.")
            if account.status == AccountStatus.DEACTIVATED:
                raise ValidationError("This account is deactivated. Reactivate it first.")
            if account.status == AccountStatus.ACTIVE:
                raise ValidationError("This account is already set up; its owner signs in with their password.")
            if not account.email:
                raise ValidationError("Please enter the email address first.")
            invite = self._issue_invite(uow, actor, account)
            uow.commit()
            return invite

    def invite_patient(self, actor: Actor, patient_id: int, email: str) -> IssuedInvite:
        """An imported patient (a record without a usable account) gets an invited account with this email,
        linked to their record, and an invite link to set a password."""
        actor.require(Role.ADMIN)
        email = normalise_email(email)
        with self.uow() as uow:
            self._still_active(uow, actor)
            patient = uow.patients.get(patient_id)
            if patient is None:
                raise NotFound("This patient does not exist.")
            taken = uow.accounts.by_email(email)
            account = uow.accounts.get(patient.account_id) if patient.account_id is not None else None
            if taken is not None and (account is None or taken.id != account.id):
                raise Conflict("Another account already uses this email address.")
            if account is None:
                account = uow.accounts.add(
                    Account(email=email, role=Role.PATIENT, display_name=patient.name, status=AccountStatus.INVITED)
                )
                patient.account_id = account.id
            elif account.status == AccountStatus.DEACTIVATED:
                raise ValidationError("This patient's account is deactivated. Reactivate it first.")
            elif account.status == AccountStatus.ACTIVE:
                raise ValidationError("This patient can already sign in with their own password.")
            else:
                account.email = email
                uow.accounts.save(account)
            patient.email = email
            uow.patients.save(patient)
            invite = self._issue_invite(uow, actor, account)
            uow.commit()
            return invite

    def _usable_invite(self, uow: UnitOfWork, nonce: str, for_update: bool = False) -> tuple[Invite, Account]:
        invite = uow.invites.by_nonce(nonce, for_update=for_update)
        if invite is None:
            raise ValidationError("This invite link is not valid. Please check that you copied all of it.")
        account = uow.accounts.get(invite.account_id)
        if account is None:
            raise ValidationError("This invite link is not valid any more.")
        if account.status == AccountStatus.DEACTIVATED:  # before the link's own state: that is the reason
            raise NotAllowed("This account has been deactivated. Please contact the hospital.")
        invite.check_usable(self.clock.now())
        if account.status != AccountStatus.INVITED:
            raise ValidationError("This account is already set up. Please sign in with your password.")
        return invite, account

    def invite_details(self, token: str) -> InviteInfo:
        """Who an invite link is for, if it can still be used (nothing changes)."""
        nonce = self._tokens().read(token)
        with self.uow(readonly=True) as uow:
            invite, account = self._usable_invite(uow, nonce)
            return InviteInfo(account.display_name, account.email or "", account.role, invite.expires_at)

    def accept_invite(self, token: str, password: str) -> Account:
        """Set the password from an invite link: the account becomes active and the link is spent. A link
        that is tampered with, expired, used, or replaced by a newer one changes nothing."""
        nonce = self._tokens().read(token)
        with self.uow(readonly=True) as uow:
            self._usable_invite(uow, nonce)  # a dead link is refused before the (slow) hashing
        check_password(password)
        hashed = self.hasher.hash(password)
        with self.uow() as uow:
            invite, account = self._usable_invite(uow, nonce, for_update=True)  # a second use in flight waits
            assert account.id is not None
            now = self.clock.now()
            account.accept_invite(hashed, now)
            uow.accounts.save(account)
            invite.used_at = now
            uow.invites.save(invite)
            uow.audit.add(
                AuditEvent(
                    now,
                    account.id,
                    account.role.value,
                    "invite.use",
                    "account",
                    account.id,
                    patient_id=self._patient_of(uow, account),
                    detail=f"password set; invite {invite.id}",
                )
            )
            uow.record(events.AccountStatusChanged(account.id, account.status.value))
            if account.role == Role.DOCTOR:
                doctor = uow.doctors.by_account(account.id)
                uow.record(events.DirectoryChanged("doctor"))
                if doctor is not None and doctor.id is not None:
                    uow.record(events.AvailabilityChanged(doctor.id))
            uow.commit()
            return account

    def _change_status(self, actor: Actor, account_id: int, reason: str, deactivate: bool) -> Account:
        actor.require(Role.ADMIN)
        if deactivate and account_id == actor.account_id:
            raise NotAllowed("You cannot deactivate your own account; ask another administrator.")
        with self.uow() as uow:
            # One status change at a time, and none while a booking is in flight (bookings hold the hospital
            # lock shared and re-check the doctor after it): two admins cannot deactivate each other, and a
            # doctor cannot be booked in the moment they are deactivated.
            uow.lock_hospital()
            self._still_active(uow, actor)
            account = uow.accounts.get(account_id)
            if account is None:
                raise NotFound("This account does not exist.")
            assert account.id is not None
            now = self.clock.now()
            if deactivate:
                account.deactivate(reason, now)
                for invite in uow.invites.open_for(account.id, now):  # a link handed out earlier dies with it
                    invite.revoked_at = now
                    uow.invites.save(invite)
            else:
                account.reactivate(reason, now)
            uow.accounts.save(account)
            action = "account.deactivate" if deactivate else "account.reactivate"
            self._audit(
                uow,
                actor,
                action,
                "account",
                account.id,
                patient_id=self._patient_of(uow, account),
                detail=f"{account.role.value} {account.email or account.display_name}: {account.status_reason}",
            )
            uow.record(events.AccountStatusChanged(account.id, account.status.value))
            if account.role == Role.DOCTOR:  # (un)bookable: directories and slot grids change
                doctor = uow.doctors.by_account(account.id)
                uow.record(events.DirectoryChanged("doctor"))
                if doctor is not None and doctor.id is not None:
                    if deactivate:
                        self._withdraw_doctor(uow, doctor, now)
                    uow.record(events.AvailabilityChanged(doctor.id))
            uow.commit()
            return account

    def _withdraw_doctor(self, uow: UnitOfWork, doctor: Doctor, now: datetime) -> None:
        """A doctor who stops taking bookings holds no times for waiting patients and keeps no waiting list:
        the patients are told at once, and those waiting for the department stay on its list."""
        assert doctor.id is not None
        for offer in uow.waitlist.open_offers_of(doctor.id, now):
            self._end_offer(uow, offer, OfferStatus.WITHDRAWN)
        self._end_waiting(
            uow,
            uow.waitlist.close_for_doctor(doctor.id),
            doctor.name,
            f"{doctor.name} does not take bookings at the moment. Please choose another doctor under “Find a doctor”.",
        )

    def _end_waiting(self, uow: UnitOfWork, ended: list[WaitlistEntry], who: str, why: str) -> list[WaitlistEntry]:
        for entry in ended:
            assert entry.id is not None
            uow.record(
                events.WaitlistEnded(
                    entry.id, entry.patient_id, f"Your place on the waiting list for {who} has ended: {why}"
                )
            )
        return ended

    def deactivate_account(self, actor: Actor, account_id: int, reason: str) -> Account:
        """The account can no longer sign in or act; its open pages close (AccountStatusChanged). A doctor is
        no longer bookable; their booked appointments stay for the admin to move or cancel."""
        return self._change_status(actor, account_id, reason, deactivate=True)

    def reactivate_account(self, actor: Actor, account_id: int, reason: str) -> Account:
        return self._change_status(actor, account_id, reason, deactivate=False)

    def delete_department(self, actor: Actor, department_id: int) -> int:
        """Delete a department without doctors. Its waiting list ends (nobody could be offered a time there
        any more); returns how many patients were still waiting."""
        actor.require(Role.ADMIN)
        with self.uow() as uow:
            uow.lock_hospital()  # no doctor joins the department while it is deleted
            self._still_active(uow, actor)
            department = uow.departments.get(department_id)
            if department is None:
                raise NotFound("This department no longer exists.")
            doctors = uow.doctors.count_in_department(department_id)
            if doctors:
                raise Conflict(
                    f"“{department.name}” still has {doctors} doctor{'' if doctors == 1 else 's'}. "
                    "Move them to another department first."
                )
            closed = len(
                self._end_waiting(
                    uow,
                    uow.waitlist.close_for_department(department_id),
                    f"any doctor in {department.name}",
                    "the department has closed. Please choose a doctor under “Find a doctor”.",
                )
            )
            uow.departments.remove(department_id)
            self._audit(
                uow,
                actor,
                "department.delete",
                "department",
                department_id,
                detail=f"{department.name}; {closed} waiting-list entries ended",
            )
            uow.record(events.DirectoryChanged("department"))
            uow.commit()
            return closed

    def move_options(self, actor: Actor, appointment_id: int, count: int = 8) -> list[tuple[Doctor, Slot]]:
        """Where the hospital can move an appointment: first the other bookable doctors of the department who
        are free at the same time, then the next free times of the department's bookable doctors."""
        actor.require(Role.ADMIN)
        now = self.clock.now()
        with self.uow(readonly=True) as uow:
            appointment = uow.appointments.get(appointment_id)
            if appointment is None:
                raise NotFound("This appointment does not exist.")
            doctor = uow.doctors.get(appointment.doctor_id)
            if doctor is None or doctor.department_id is None:
                return []
            candidates = uow.doctors.in_department(doctor.department_id)  # bookable ones only
            busy = [
                a
                for a in uow.appointments.active_for_patient(
                    appointment.patient_id, now, now + timedelta(days=MAX_HORIZON_DAYS + 1)
                )
                if a.id != appointment.id
            ]
            same_time: list[tuple[Doctor, Slot]] = []
            later: list[tuple[Doctor, Slot]] = []
            day = appointment.start.astimezone(self.tz).date()
            first_day = max(appointment.start, now).astimezone(self.tz).date()
            for candidate in candidates:
                assert candidate.id is not None
                vt = self._visit_type_like(candidate, appointment)
                if candidate.id != doctor.id:
                    for slot, free in self._slots(uow, candidate, day, 1, vt, appointment.patient_id, now):
                        if free and slot.start == appointment.start:
                            same_time.append((candidate, slot))
                mine = 0
                for slot, free in self._slots(
                    uow, candidate, first_day, candidate.horizon_days, vt, appointment.patient_id, now
                ):
                    if not free or any(a.overlaps(slot.start, slot.end) for a in busy):
                        continue
                    if candidate.id == doctor.id and appointment.overlaps(slot.start, slot.end):
                        continue
                    if slot.start == appointment.start and candidate.id != doctor.id:
                        continue  # listed above
                    later.append((candidate, slot))
                    mine += 1
                    if mine >= 3:
                        break
            later.sort(key=lambda pair: pair[1].start)
            return (same_time + later)[:count]

    @staticmethod
    def _visit_type_like(doctor: Doctor, appointment: Appointment) -> VisitType:
        try:
            return doctor.visit_type(appointment.visit_type or None)
        except ValidationError:  # the doctor does not offer that type: keep the length
            minutes = int((appointment.end - appointment.start).total_seconds() // 60)
            return VisitType(appointment.visit_type or "visit", "Visit", minutes)

    def admin_move(self, actor: Actor, appointment_id: int, doctor_id: int, start: datetime) -> Appointment:
        """The hospital moves a booked appointment to another (bookable) doctor or time, in one transaction:
        the old one is cancelled with a reason the patient sees (and is told live) only if the new time can be
        had. For a deactivated doctor's patients, say."""
        actor.require(Role.ADMIN)
        start = ensure_aware(start).astimezone(UTC)
        now = self.clock.now()
        if start <= now:
            raise ValidationError("This time has already passed. Please pick a later one.")
        with self.uow() as uow:
            self._still_active(uow, actor)
            old = uow.appointments.get(appointment_id, for_update=True)
            if old is None:
                raise NotFound("This appointment does not exist.")
            if old.status not in (AppointmentStatus.PENDING, AppointmentStatus.BOOKED):
                raise ValidationError(f"This appointment is {old.status.value} and can no longer be moved.")
            target = uow.doctors.get(doctor_id)
            if target is None or target.id is None:
                raise NotFound("This doctor does not exist.")
            self._doctor_takes_bookings(uow, target)
            if target.id == old.doctor_id and old.start == start:
                raise ValidationError("That is the time the appointment already has.")
            uow.lock_for_booking([old.doctor_id, target.id], old.patient_id)
            vt = self._visit_type_like(target, old)
            when = start.astimezone(self.tz).strftime("%a %d %b %Y, %H:%M")
            old.cancel(
                actor, now, "prov", f"Moved by the hospital: your new appointment is with {target.name}, {when}."
            )
            uow.appointments.save(old)  # frees the old time inside this transaction only
            new = self._book_slot(
                uow, old.patient_id, target, start, old.reason, vt, rescheduled_from=old.id, locked=True
            )
            self._record_cancel(uow, old, actor, moved_to=new.id)  # the patient is told of the move, not a loss
            self._audit(
                uow,
                actor,
                "appointment.move",
                "appointment",
                new.id,
                patient_id=old.patient_id,
                detail=f"from appointment {old.id} ({self._local(old.start)}, doctor {old.doctor_id}) to "
                f"{self._local(start)}, {target.name}",
            )
            previous = uow.doctors.get(old.doctor_id)
            if previous is not None:
                self._offer_freed(uow, previous, old)
            uow.commit()
            return new

    # ---- doctor: weekly template, visit types, booking window ----------------------------
    def _may_manage(self, actor: Actor, doctor_id: int) -> None:
        if not (actor.role == Role.ADMIN or (actor.role == Role.DOCTOR and actor.doctor_id == doctor_id)):
            raise NotAllowed("You can only change your own schedule.")

    def set_availability(
        self,
        actor: Actor,
        doctor_id: int,
        hours: list[WorkingHours],
        slot_minutes: int,
        effective_from: date | None = None,
        visit_types: list[VisitType] | None = None,
        min_notice_hours: int | None = None,
        horizon_days: int | None = None,
    ) -> list[Appointment]:
        """Store the doctor's week from `effective_from` (default: today) on. Booked appointments are never
        moved or deleted: the ones that no longer fit are returned (and shown) for the doctor to resolve."""
        self._may_manage(actor, doctor_id)
        check_slot_minutes(slot_minutes)
        ordered = check_no_overlap(hours)
        for h in ordered:
            length = (h.end.hour * 60 + h.end.minute) - (h.start.hour * 60 + h.start.minute)
            if length < slot_minutes:
                raise ValidationError(
                    f"On {WEEKDAY_NAMES[h.weekday]}, {h.start:%H:%M}–{h.end:%H:%M} is shorter than one "
                    f"{slot_minutes}-minute slot."
                )
        today = self.clock.today()
        effective = effective_from or today
        if effective < today:
            raise ValidationError("A new schedule can take effect today or later, not in the past.")
        if effective > today + timedelta(days=MAX_HORIZON_DAYS):
            raise ValidationError("A new schedule can take effect at most a year ahead.")
        types = check_visit_types(visit_types) if visit_types is not None else None
        if ordered and types is not None:
            longest = max((h.end.hour * 60 + h.end.minute) - (h.start.hour * 60 + h.start.minute) for h in ordered)
            if all(t.minutes > longest for t in types):
                raise ValidationError(
                    f"No visit type fits into your longest working range ({longest} minutes); patients could "
                    "not book anything."
                )
        if min_notice_hours is not None and not 0 <= min_notice_hours <= 24 * 14:
            raise ValidationError("Minimum notice must be between 0 hours and 14 days.")
        if horizon_days is not None and not 1 <= horizon_days <= MAX_HORIZON_DAYS:
            raise ValidationError(f"Patients can book between 1 and {MAX_HORIZON_DAYS} days ahead.")
        with self.uow() as uow:
            self._still_active(uow, actor)
            doctor = uow.doctors.get(doctor_id)
            if doctor is None or doctor.id is None:
                raise NotFound("This doctor no longer exists.")
            uow.lock_for_booking([doctor_id], None)  # bookings wait, so the conflicts listed are all of them
            uow.doctors.save_template(doctor_id, WeeklyTemplate(effective, tuple(ordered), slot_minutes))
            templates = uow.doctors.templates(doctor_id)
            current = template_on(templates, today)
            doctor.slot_minutes = current.slot_minutes if current else slot_minutes
            if types is not None:
                doctor.visit_types = types
            if min_notice_hours is not None:
                doctor.min_notice_hours = min_notice_hours
            if horizon_days is not None:
                doctor.horizon_days = horizon_days
            uow.doctors.save(doctor)
            conflicts = self._conflicts(uow, doctor.id, templates)
            self._audit(
                uow,
                actor,
                "schedule.change",
                "doctor",
                doctor_id,
                detail=f"from {effective.isoformat()}: {len(ordered)} ranges, {slot_minutes}-minute grid, "
                f"{len(conflicts)} appointments outside the new hours",
            )
            uow.record(events.AvailabilityChanged(doctor_id))
            uow.commit()
            return conflicts

    def _conflicts(self, uow: UnitOfWork, doctor_id: int, templates: list[WeeklyTemplate]) -> list[Appointment]:
        now = self.clock.now()
        upcoming = uow.appointments.active_for_doctor(doctor_id, now, now + timedelta(days=2 * MAX_HORIZON_DAYS))
        return sorted(
            (a for a in upcoming if not within_hours(templates, a.start, a.end, self.tz)), key=lambda a: a.start
        )

    def schedule_conflicts(self, actor: Actor, doctor_id: int) -> list[Appointment]:
        """Upcoming appointments that lie outside the doctor's hours as they are now."""
        self._may_manage(actor, doctor_id)
        with self.uow(readonly=True) as uow:
            return self._conflicts(uow, doctor_id, uow.doctors.templates(doctor_id))

    def templates(self, doctor_id: int) -> list[WeeklyTemplate]:
        with self.uow(readonly=True) as uow:
            return uow.doctors.templates(doctor_id)

    # ---- leave and closures ---------------------------------------------------------------
    def add_leave(
        self,
        actor: Actor,
        doctor_id: int | None,
        first_day: date,
        last_day: date,
        part: str = "full",
        reason: str = "",
    ) -> tuple[Leave, list[Appointment]]:
        """Leave of a doctor (doctor_id) or a hospital closure (None, admins only). Every day of the range is
        blocked; the patients booked then are cancelled, told at once and offered other times. Returns the
        leave and the cancelled appointments (the doctor sees who is affected)."""
        if doctor_id is None:
            actor.require(Role.ADMIN)
        else:
            self._may_manage(actor, doctor_id)
        reason = free_text(reason, 300)
        if first_day < self.clock.today():
            raise ValidationError("Leave cannot start in the past.")
        start, end = leave_range(first_day, last_day, part, self.tz)
        now = self.clock.now()
        with self.uow() as uow:
            self._still_active(uow, actor)
            doctor = uow.doctors.get(doctor_id) if doctor_id is not None else None
            if doctor_id is not None and doctor is None:
                raise NotFound("This doctor no longer exists.")
            # bookings in flight finish first (and are cancelled below) or wait and then see the leave
            if doctor_id is None:
                uow.lock_hospital()
            else:
                uow.lock_for_booking([doctor_id], None)
            if any(
                leave.doctor_id == doctor_id and leave.covers(start, end)
                for leave in uow.leaves.overlapping(doctor_id, start, end)
            ):
                raise Conflict("This overlaps leave that is already entered. Change or remove that first.")
            leave = uow.leaves.add(Leave(doctor_id, start, end, reason, created_by=actor.account_id))
            if doctor is not None:
                assert doctor.id is not None
                affected = uow.appointments.active_for_doctor(doctor.id, max(start, now), end)
                note = f"{doctor.name} is away" + (f": {reason}" if reason else "")
                code = "prov"
            else:
                affected = uow.appointments.active_between(max(start, now), end)
                note = "The hospital is closed" + (f": {reason}" if reason else "")
                code = "other"
            cancelled = []
            for appointment in affected:
                if appointment.status not in (AppointmentStatus.PENDING, AppointmentStatus.BOOKED):
                    continue  # already at the hospital: the staff deal with them in person
                appointment.cancel(actor, now, code, note)
                uow.appointments.save(appointment)
                self._record_cancel(uow, appointment, actor)
                cancelled.append(appointment)
            what = "closure" if doctor_id is None else "leave"
            self._audit(
                uow,
                actor,
                f"{what}.add",
                what,
                leave.id,
                detail=f"{first_day.isoformat()}..{last_day.isoformat()} {part}; "
                f"{len(cancelled)} appointments cancelled",
            )
            uow.record(events.LeaveChanged(doctor_id, start, end))
            uow.commit()
            return leave, cancelled

    def remove_leave(self, actor: Actor, leave_id: int) -> None:
        """Take leave back: its times are bookable again (cancelled appointments stay cancelled)."""
        with self.uow() as uow:
            self._still_active(uow, actor)
            leave = uow.leaves.get(leave_id)
            if leave is None:
                raise NotFound("This leave no longer exists.")
            if leave.doctor_id is None:
                actor.require(Role.ADMIN)
            else:
                self._may_manage(actor, leave.doctor_id)
            uow.leaves.remove(leave_id)
            what = "closure" if leave.doctor_id is None else "leave"
            uow.audit.add(
                AuditEvent(self.clock.now(), actor.account_id, actor.role.value, f"{what}.remove", what, leave_id)
            )
            uow.record(events.LeaveChanged(leave.doctor_id, leave.start, leave.end))
            uow.commit()

    # ---- booking --------------------------------------------------------------------------
    def slots(
        self,
        doctor_id: int,
        first_day: date,
        days: int,
        visit_type: str | None = None,
        patient_id: int | None = None,
    ) -> list[tuple[Slot, bool]]:
        """The times a visit of this type can start on the given local days, each with `free`. A slot's end
        is the end of that visit. Times outside the booking window, or where the visit would run past the
        hours or into a break, are not offered; times on leave, taken, or held for somebody else's waiting
        list offer are offered as not free."""
        now = self.clock.now()
        with self.uow(readonly=True) as uow:
            doctor = uow.doctors.get(doctor_id)
            if doctor is None or doctor.id is None:
                raise NotFound("This doctor does not exist.")
            if not self._bookable(uow, doctor):
                return []  # not taking bookings (invited, deactivated): no times to offer
            return self._slots(uow, doctor, first_day, days, doctor.visit_type(visit_type), patient_id, now)

    def _slots(
        self,
        uow: UnitOfWork,
        doctor: Doctor,
        first_day: date,
        days: int,
        vt: VisitType,
        patient_id: int | None,
        now: datetime,
    ) -> list[tuple[Slot, bool]]:
        assert doctor.id is not None
        templates = uow.doctors.templates(doctor.id)
        grid = generate_grid(doctor.id, templates, first_day, days, self.tz)
        if not grid:
            return []
        length = timedelta(minutes=vt.minutes)
        earliest = now + timedelta(hours=doctor.min_notice_hours)
        horizon = now + timedelta(days=doctor.horizon_days)
        span_start, span_end = grid[0].start, grid[-1].start + length
        taken = uow.appointments.active_for_doctor(doctor.id, span_start, span_end, seen=True)
        leaves = uow.leaves.overlapping(doctor.id, span_start, span_end)
        holds = [
            o for o in uow.waitlist.open_offers(doctor.id, span_start, span_end, now) if o.patient_id != patient_id
        ]
        out = []
        for cell in grid:
            if cell.start <= now or cell.start < earliest or cell.start > horizon:  # as _check_window
                continue
            end = cell.start + length
            if not within_hours(templates, cell.start, end, self.tz):
                continue
            busy = (
                any(a.overlaps(cell.start, end) for a in taken)
                or on_leave(leaves, cell.start, end) is not None
                or any(o.start < end and cell.start < o.end for o in holds)
            )
            out.append((Slot(doctor.id, cell.start, end), not busy))
        return out

    def department_slots(
        self, department_id: int, first_day: date, days: int, patient_id: int | None = None
    ) -> list[tuple[Slot, bool]]:
        """'Any doctor in this department': every start at which some doctor of the department can see the
        patient for a first consultation (doctor_id 0: the doctor is picked when booking)."""
        now = self.clock.now()
        merged: dict[datetime, tuple[datetime, bool]] = {}
        with self.uow(readonly=True) as uow:
            for doctor in uow.doctors.in_department(department_id):
                if not self._bookable(uow, doctor):
                    continue
                for slot, free in self._slots(uow, doctor, first_day, days, doctor.visit_type(None), patient_id, now):
                    end, was_free = merged.get(slot.start, (slot.end, False))
                    merged[slot.start] = (min(end, slot.end), was_free or free)
        return [(Slot(0, start, end), free) for start, (end, free) in sorted(merged.items())]

    def _check_window(self, doctor: Doctor, start: datetime) -> datetime:
        start = ensure_aware(start).astimezone(UTC)
        now = self.clock.now()
        if start <= now:
            raise ValidationError("This time has already passed. Please pick a later slot.")
        if start < now + timedelta(hours=doctor.min_notice_hours):
            raise ValidationError(
                f"{doctor.name} takes online bookings at least {doctor.min_notice_hours} hours ahead. "
                "Please pick a later time or call the hospital."
            )
        if start > now + timedelta(days=doctor.horizon_days):
            raise ValidationError(f"{doctor.name} can be booked at most {doctor.horizon_days} days ahead.")
        return start

    def _claim_slot(
        self, uow: UnitOfWork, patient_id: int, doctor: Doctor, start: datetime, vt: VisitType, locked: bool = False
    ) -> Slot:
        """The visit at `start` if it starts on the doctor's grid, fits the hours, and the doctor, the time
        and the patient are free then. A waiting-list hold for this patient is used up."""
        assert doctor.id is not None
        templates = uow.doctors.templates(doctor.id)
        local_day = start.astimezone(self.tz).date()
        grid = generate_grid(doctor.id, templates, local_day, 1, self.tz)
        if not any(s.start == start for s in grid):
            raise ValidationError("The doctor does not see patients at this time. Please pick a slot from the list.")
        end = start + timedelta(minutes=vt.minutes)
        if not within_hours(templates, start, end, self.tz):
            raise ValidationError(
                f"A {vt.name.lower()} takes {vt.minutes} minutes and would run past the doctor's hours or into "
                "a break. Please pick an earlier time."
            )
        if not locked:
            uow.lock_for_booking([doctor.id], patient_id)
        self._doctor_takes_bookings(uow, doctor)  # again under the lock: a deactivation may just have committed
        leave = on_leave(uow.leaves.overlapping(doctor.id, start, end), start, end)
        if leave is not None:
            if leave.doctor_id is None:
                raise ValidationError("The hospital is closed at this time. Please pick another day.")
            raise ValidationError(f"{doctor.name} is away at this time. Please pick another day.")
        now = self.clock.now()
        # appointments before holds: a cancellation commits its freed time and the hold on it together, so
        # (read committed, statement by statement) a booking that saw the old appointment gone sees the hold
        if uow.appointments.active_for_doctor(doctor.id, start, end, seen=True):
            raise SlotTaken()
        for offer in uow.waitlist.open_offers(doctor.id, start, end, now):
            if offer.patient_id != patient_id:
                raise SlotTaken("This time is held for a patient from the waiting list for a few minutes.")
        if uow.appointments.active_for_patient(patient_id, start, end):
            raise Conflict("You already have an appointment at this time.")
        for offer in uow.waitlist.open_offers(doctor.id, start, end, now):  # only this patient's are left
            self._end_offer(uow, offer, OfferStatus.TAKEN)
            entry = uow.waitlist.get(offer.entry_id)
            if entry is not None and entry.status == WaitlistStatus.WAITING:
                entry.status = WaitlistStatus.BOOKED  # got the time, from the offer or straight from the grid
                uow.waitlist.save(entry)
        return Slot(doctor.id, start, end)

    def _book_slot(
        self,
        uow: UnitOfWork,
        patient_id: int,
        doctor: Doctor,
        start: datetime,
        reason: str,
        vt: VisitType,
        rescheduled_from: int | None = None,
        locked: bool = False,
        actor: Actor | None = None,
        how: str = "",
    ) -> Appointment:
        """Claim the slot, store the booked appointment and record SlotBooked (the caller commits). With `actor`,
        the booking is audited (`how` says more: from a waiting list, a move)."""
        slot = self._claim_slot(uow, patient_id, doctor, start, vt, locked)
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
                visit_type=vt.code,
            )
        )
        assert appointment.id is not None
        uow.record(events.SlotBooked(appointment.id, slot.doctor_id, patient_id, slot.start, slot.end))
        if actor is not None:
            detail = f"{doctor.name}, {self._local(slot.start)}" + (f"; {how}" if how else "")
            self._audit_appointment(uow, actor, "appointment.book", appointment, detail)
        return appointment

    def _local(self, moment: datetime) -> str:
        """A time as the hospital's staff read it (audit details)."""
        return moment.astimezone(self.tz).strftime("%a %d %b %Y %H:%M")

    def _audit_appointment(
        self, uow: UnitOfWork, actor: Actor | None, action: str, appointment: Appointment, detail: str
    ) -> None:
        self._audit(uow, actor, action, "appointment", appointment.id, patient_id=appointment.patient_id, detail=detail)

    def _audit(
        self,
        uow: UnitOfWork,
        actor: Actor | None,
        action: str,
        entity: str,
        entity_id: int | None,
        patient_id: int | None = None,
        detail: str = "",
    ) -> None:
        """Append who did what to which record, now (`actor` None: the system, e.g. the no-show job)."""
        uow.audit.add(
            AuditEvent(
                self.clock.now(),
                actor.account_id if actor else None,
                actor.role.value if actor else "system",
                action,
                entity,
                entity_id,
                patient_id=patient_id,
                detail=detail,
            )
        )

    @staticmethod
    def _bookable(uow: UnitOfWork, doctor: Doctor) -> bool:
        account = uow.accounts.get(doctor.account_id) if doctor.account_id is not None else None
        return account is not None and account.status == AccountStatus.ACTIVE

    @classmethod
    def _doctor_takes_bookings(cls, uow: UnitOfWork, doctor: Doctor) -> None:
        if not cls._bookable(uow, doctor):
            raise NotFound(f"{doctor.name} does not take bookings at the moment.")

    def _patient(self, actor: Actor) -> int:
        actor.require(Role.PATIENT)
        if actor.patient_id is None:
            raise NotAllowed("Only patients can book appointments.")
        return actor.patient_id

    def book(
        self, actor: Actor, doctor_id: int, start: datetime, reason: str = "", visit_type: str | None = None
    ) -> Appointment:
        patient_id = self._patient(actor)
        with self.uow() as uow:
            self._still_active(uow, actor)
            doctor = uow.doctors.get(doctor_id)
            if doctor is None or doctor.id is None:
                raise NotFound("This doctor does not exist.")
            self._doctor_takes_bookings(uow, doctor)
            start = self._check_window(doctor, start)
            vt = doctor.visit_type(visit_type)
            appointment = self._book_slot(uow, patient_id, doctor, start, free_text(reason, 500), vt, actor=actor)
            uow.commit()
            return appointment

    def book_any(self, actor: Actor, department_id: int, start: datetime, reason: str = "") -> Appointment:
        """A first consultation with whichever doctor of the department is really free then; among the free
        ones the doctor with the fewest appointments that day, so the load is spread. All candidates are
        locked first (in one order), so two patients never get the same doctor at the same time."""
        patient_id = self._patient(actor)
        start = ensure_aware(start).astimezone(UTC)
        with self.uow() as uow:
            self._still_active(uow, actor)
            if uow.departments.get(department_id) is None:
                raise NotFound("This department does not exist.")
            doctors = [d for d in uow.doctors.in_department(department_id) if d.id is not None]
            uow.lock_for_booking(sorted(d.id for d in doctors if d.id is not None), patient_id)
            doctors = [d for d in doctors if self._bookable(uow, d)]  # read under the lock
            local = start.astimezone(self.tz).date()
            day_start = datetime.combine(local, datetime.min.time(), tzinfo=self.tz).astimezone(UTC)
            day_end = datetime.combine(local + timedelta(days=1), datetime.min.time(), tzinfo=self.tz).astimezone(UTC)
            ranked = sorted(
                doctors, key=lambda d: (uow.appointments.count_active_on(d.id or 0, day_start, day_end), d.id)
            )
            if start <= self.clock.now():
                raise ValidationError("This time has already passed. Please pick a later slot.")
            for doctor in ranked:
                try:
                    self._check_window(doctor, start)
                    appointment = self._book_slot(
                        uow,
                        patient_id,
                        doctor,
                        start,
                        free_text(reason, 500),
                        doctor.visit_type(None),
                        locked=True,
                        actor=actor,
                        how="any doctor of the department",
                    )
                except (SlotTaken, ValidationError):
                    continue  # this doctor cannot then; a Conflict (the patient is busy) ends the search
                uow.commit()
                return appointment
            raise SlotTaken("No doctor of this department is free at this time any more.")

    def reschedule(self, actor: Actor, appointment_id: int, new_start: datetime) -> Appointment:
        """Move an own appointment to another time of the same doctor, in one transaction: the old one is
        cancelled (linked from the new one) only if the new slot can be had; a repeated or stale request
        finds the old one no longer booked and is refused."""
        actor.require(Role.PATIENT)
        now = self.clock.now()
        with self.uow() as uow:
            self._still_active(uow, actor)
            old = uow.appointments.get(appointment_id, for_update=True)
            if old is None or old.patient_id != actor.patient_id or actor.patient_id is None:
                raise NotFound("This appointment does not exist.")
            if old.status == AppointmentStatus.CANCELLED:
                raise ValidationError("This appointment was already moved or cancelled, so it can no longer be moved.")
            if old.status not in (AppointmentStatus.PENDING, AppointmentStatus.BOOKED):
                raise ValidationError(f"This appointment is {old.status.value} and can no longer be moved.")
            doctor = uow.doctors.get(old.doctor_id)
            if doctor is None or doctor.id is None:
                raise NotFound("This doctor does not exist.")
            self._doctor_takes_bookings(uow, doctor)
            new_start = self._check_window(doctor, new_start)
            if old.start == new_start:
                raise ValidationError("That is the time you already have.")
            try:
                vt = doctor.visit_type(old.visit_type)
            except ValidationError:  # the doctor no longer offers that type: keep the length
                vt = VisitType(old.visit_type or "visit", "Visit", int((old.end - old.start).total_seconds() // 60))
            old.cancel(actor, now, "pat", "Moved to another time by the patient", self.cancel_cutoff)
            uow.appointments.save(old)  # frees the old slot inside this transaction only
            self._record_cancel(uow, old, actor)
            new = self._book_slot(
                uow,
                actor.patient_id,
                doctor,
                new_start,
                old.reason,
                vt,
                rescheduled_from=old.id,
                actor=actor,
                how=f"moved from appointment {old.id}",
            )
            self._offer_freed(uow, doctor, old)
            uow.commit()
            return new

    def _record_cancel(
        self, uow: UnitOfWork, appointment: Appointment, actor: Actor | None, moved_to: int | None = None
    ) -> None:
        """Tell the open views and the patient (AppointmentCancelled), and audit it (a hospital move is audited
        once, as appointment.move)."""
        assert appointment.id is not None
        if moved_to is None:
            detail = f"{self._local(appointment.start)}: {appointment.cancellation_text or 'no reason given'}"
            self._audit_appointment(uow, actor, "appointment.cancel", appointment, detail)
        uow.record(
            events.AppointmentCancelled(
                appointment.id,
                appointment.doctor_id,
                appointment.patient_id,
                appointment.start,
                appointment.end,
                by_role=actor.role.value if actor else "system",
                reason=appointment.cancellation_text,
                moved_to=moved_to,
            )
        )

    def cancel(self, actor: Actor, appointment_id: int, code: str = "", note: str = "") -> Appointment:
        actor.require(Role.PATIENT, Role.DOCTOR, Role.ADMIN)
        with self.uow() as uow:
            self._still_active(uow, actor)
            appointment = uow.appointments.get(appointment_id, for_update=True)
            if appointment is None or (actor.role == Role.PATIENT and appointment.patient_id != actor.patient_id):
                raise NotFound("This appointment does not exist.")
            record = uow.clinical.visit_for_appointment(appointment_id)
            if record is not None and record.signed:  # it took place: its record stands (mark it in error instead)
                raise ValidationError("This visit's record is signed, so the appointment can no longer be cancelled.")
            appointment.cancel(actor, self.clock.now(), code, note, self.cancel_cutoff)
            uow.appointments.save(appointment)
            self._record_cancel(uow, appointment, actor)
            doctor = uow.doctors.get(appointment.doctor_id)
            if doctor is not None:
                self._offer_freed(uow, doctor, appointment)
            uow.commit()
            return appointment

    def alternatives(self, actor: Actor, appointment_id: int, count: int = 3) -> list[tuple[Doctor, Slot]]:
        """For a patient whose appointment the hospital cancelled: the next free times of the same doctor,
        then of the other doctors of the department."""
        actor.require(Role.PATIENT)
        now = self.clock.now()
        with self.uow(readonly=True) as uow:
            appointment = uow.appointments.get(appointment_id)
            if appointment is None or appointment.patient_id != actor.patient_id:
                raise NotFound("This appointment does not exist.")
            doctor = uow.doctors.get(appointment.doctor_id)
            if doctor is None:
                return []
            others = (
                [d for d in uow.doctors.in_department(doctor.department_id) if d.id != doctor.id]
                if (doctor.department_id is not None)
                else []
            )
            found: list[tuple[Doctor, Slot]] = []
            first_day = max(appointment.start, now).astimezone(self.tz).date()
            # the patient's own appointments, read once: a time when they are busy is no alternative
            busy = uow.appointments.active_for_patient(
                appointment.patient_id, now, now + timedelta(days=MAX_HORIZON_DAYS + 1)
            )
            # a doctor who is ill is not offered again; the time just given up is not offered back
            same = [] if appointment.cancel_code == "prov-hosp" or not self._bookable(uow, doctor) else [doctor]
            for candidate in [*same, *others]:
                mine = 0
                for slot, free in self._slots(
                    uow, candidate, first_day, candidate.horizon_days, candidate.visit_type(None), actor.patient_id, now
                ):
                    if candidate.id == doctor.id and appointment.overlaps(slot.start, slot.end):
                        continue
                    if free and not any(a.overlaps(slot.start, slot.end) for a in busy):
                        found.append((candidate, slot))
                        mine += 1
                        if mine >= count:
                            break
                if len(found) >= count:
                    break
            return found

    # ---- the visit workflow ---------------------------------------------------------------
    def set_status(self, actor: Actor, appointment_id: int, new: AppointmentStatus | str) -> Appointment:
        """Arrived (front desk, or the patient checking in on the day), checked-in (the doctor starts the
        visit), fulfilled, noshow, entered-in-error: only the steps the workflow allows, by who may take them."""
        actor.require(Role.PATIENT, Role.DOCTOR, Role.ADMIN)
        try:
            status = AppointmentStatus(new)
        except ValueError:
            raise ValidationError("This is not a status an appointment can have.") from None
        now = self.clock.now()
        with self.uow() as uow:
            self._still_active(uow, actor)
            appointment = uow.appointments.get(appointment_id, for_update=True)
            if appointment is None or (actor.role == Role.PATIENT and appointment.patient_id != actor.patient_id):
                raise NotFound("This appointment does not exist.")
            old = appointment.move_to(
                status, actor, now, self.clock.today(), appointment.start.astimezone(self.tz).date()
            )
            uow.appointments.save(appointment)
            self._record_status(uow, appointment, old, actor)
            if not appointment.is_active and appointment.start > now:
                doctor = uow.doctors.get(appointment.doctor_id)
                if doctor is not None:
                    self._offer_freed(uow, doctor, appointment)
            uow.commit()
            return appointment

    def _record_status(
        self, uow: UnitOfWork, appointment: Appointment, old: AppointmentStatus, actor: Actor | None, detail: str = ""
    ) -> None:
        assert appointment.id is not None
        role = actor.role.value if actor else "system"
        self._audit(
            uow,
            actor,
            "appointment.reset" if detail else "appointment.status",
            "appointment",
            appointment.id,
            patient_id=appointment.patient_id,
            detail=f"{old.value} -> {appointment.status.value}" + (f"; {detail}" if detail else ""),
        )
        uow.record(
            events.AppointmentStatusChanged(
                appointment.id,
                appointment.doctor_id,
                appointment.patient_id,
                appointment.start,
                appointment.end,
                old.value,
                appointment.status.value,
                role,
            )
        )

    def admin_reset(self, actor: Actor, appointment_id: int, to: AppointmentStatus, reason: str) -> Appointment:
        """Undo a final state (a mistaken noshow or cancellation): admins only, with a reason, audited. A reset
        to an active state needs the time to be free still."""
        actor.require(Role.ADMIN)
        with self.uow() as uow:
            self._still_active(uow, actor)
            appointment = uow.appointments.get(appointment_id, for_update=True)
            if appointment is None:
                raise NotFound("This appointment does not exist.")
            old = appointment.admin_reset(actor, to, reason)
            if appointment.is_active:
                uow.lock_for_booking([appointment.doctor_id], appointment.patient_id)
                clash = [
                    a
                    for a in uow.appointments.active_for_doctor(
                        appointment.doctor_id, appointment.start, appointment.end, seen=True
                    )
                    + uow.appointments.active_for_patient(appointment.patient_id, appointment.start, appointment.end)
                    if a.id != appointment.id
                ]
                if clash:
                    raise Conflict("This time has been given to another appointment since; it cannot be restored.")
                start, end = appointment.start, appointment.end
                if on_leave(uow.leaves.overlapping(appointment.doctor_id, start, end), start, end) is not None:
                    raise Conflict("The doctor is away or the hospital is closed at this time; it cannot be restored.")
                if any(
                    o.patient_id != appointment.patient_id
                    for o in uow.waitlist.open_offers(appointment.doctor_id, start, end, self.clock.now())
                ):
                    raise Conflict("This time is held for a patient from the waiting list right now; try again later.")
            uow.appointments.save(appointment)
            self._record_status(uow, appointment, old, actor, detail=f"reset by admin: {free_text(reason, 300)}")
            uow.commit()
            return appointment

    def mark_noshows(self, grace: timedelta, limit: int = 500) -> int:
        """The background job: booked appointments whose end passed more than `grace` ago become noshow. It
        reads what is due from the database each run, so nothing is missed across restarts."""
        now = self.clock.now()
        with self.uow() as uow:
            due = uow.appointments.booked_ending_before(now - grace, limit)
            for appointment in due:
                old = appointment.status
                appointment.status = AppointmentStatus.NOSHOW
                uow.appointments.save(appointment)
                self._record_status(uow, appointment, old, None)
            if due:
                uow.commit()
            return len(due)

    # ---- waiting list ---------------------------------------------------------------------
    def join_waitlist(
        self,
        actor: Actor,
        first_day: date,
        last_day: date,
        doctor_id: int | None = None,
        department_id: int | None = None,
        note: str = "",
    ) -> WaitlistEntry:
        patient_id = self._patient(actor)
        today = self.clock.today()
        if (doctor_id is None) == (department_id is None):
            raise ValidationError("Choose a doctor or a department to wait for.")
        if first_day < today:
            raise ValidationError("The waiting period cannot start in the past.")
        if last_day < first_day:
            raise ValidationError("The last day must not be before the first.")
        if (last_day - today).days > MAX_HORIZON_DAYS:
            raise ValidationError("You can wait for a time at most a year ahead.")
        with self.uow() as uow:
            self._still_active(uow, actor)
            if doctor_id is not None:
                wanted = uow.doctors.get(doctor_id)
                if wanted is None:
                    raise NotFound("This doctor does not exist.")
                self._doctor_takes_bookings(uow, wanted)  # nobody could ever offer a time from them
            if department_id is not None and uow.departments.get(department_id) is None:
                raise NotFound("This department does not exist.")
            mine = uow.waitlist.waiting_for(patient_id)
            if any(e.doctor_id == doctor_id and e.department_id == department_id for e in mine):
                raise Conflict("You are already on this waiting list.")
            if len(mine) >= 10:
                raise ValidationError("You can be on at most 10 waiting lists at once.")
            entry = uow.waitlist.add(
                WaitlistEntry(
                    patient_id,
                    doctor_id,
                    department_id,
                    first_day,
                    last_day,
                    self.clock.now(),
                    note=free_text(note, 300),
                )
            )
            self._audit_waitlist(
                uow, actor, "waitlist.join", entry, f"{first_day.isoformat()} to {last_day.isoformat()}"
            )
            uow.commit()
            return entry

    def _audit_waitlist(self, uow: UnitOfWork, actor: Actor, action: str, entry: WaitlistEntry, detail: str) -> None:
        if entry.doctor_id is not None:
            doctor = uow.doctors.get(entry.doctor_id)
            who = doctor.name if doctor else f"doctor {entry.doctor_id}"
        else:
            department = uow.departments.get(entry.department_id) if entry.department_id is not None else None
            who = f"any doctor in {department.name}" if department else "a department"
        self._audit(
            uow,
            actor,
            action,
            "waitlist",
            entry.id,
            patient_id=entry.patient_id,
            detail=f"{who}: {detail}" if detail else who,
        )

    def leave_waitlist(self, actor: Actor, entry_id: int) -> None:
        patient_id = self._patient(actor)
        with self.uow() as uow:
            self._still_active(uow, actor)
            entry = uow.waitlist.get(entry_id)
            if entry is None or entry.patient_id != patient_id:
                raise NotFound("This waiting list entry does not exist.")
            if entry.status == WaitlistStatus.WAITING:
                entry.status = WaitlistStatus.LEFT
                uow.waitlist.save(entry)
                self._audit_waitlist(uow, actor, "waitlist.leave", entry, "")
                uow.commit()

    def accept_offer(self, actor: Actor, offer_id: int, reason: str = "") -> Appointment:
        patient_id = self._patient(actor)
        now = self.clock.now()
        with self.uow() as uow:
            self._still_active(uow, actor)
            offer = uow.waitlist.get_offer(offer_id)
            if offer is None or offer.patient_id != patient_id:
                raise NotFound("This offer does not exist.")
            if not offer.is_open(now):
                raise ValidationError("This offer has ended; the time was offered to the next patient.")
            doctor = uow.doctors.get(offer.doctor_id)
            if doctor is None:
                raise NotFound("This doctor does not exist.")
            self._doctor_takes_bookings(uow, doctor)
            try:
                vt = doctor.visit_type(offer.visit_type)
            except ValidationError:
                vt = doctor.visit_type(None)
            appointment = self._book_slot(
                uow,
                patient_id,
                doctor,
                offer.start,
                free_text(reason, 500),
                vt,
                actor=actor,
                how="from the waiting list",
            )
            entry = uow.waitlist.get(offer.entry_id)
            if entry is not None:
                entry.status = WaitlistStatus.BOOKED
                uow.waitlist.save(entry)
            uow.commit()
            return appointment

    def decline_offer(self, actor: Actor, offer_id: int) -> None:
        patient_id = self._patient(actor)
        now = self.clock.now()
        with self.uow() as uow:
            self._still_active(uow, actor)
            offer = uow.waitlist.get_offer(offer_id)
            if offer is None or offer.patient_id != patient_id:
                raise NotFound("This offer does not exist.")
            if offer.is_open(now):
                self._end_offer(uow, offer, OfferStatus.DECLINED)
                entry = uow.waitlist.get(offer.entry_id)
                if entry is not None:
                    self._audit_waitlist(uow, actor, "waitlist.decline", entry, f"the time {self._local(offer.start)}")
                self._offer_next(uow, offer.doctor_id, offer.start, offer.end, offer.visit_type)
                uow.commit()

    def expire_offers(self) -> int:
        """The background job: holds whose time ran out end, and the next waiting patient is offered the time."""
        now = self.clock.now()
        with self.uow() as uow:
            expired = uow.waitlist.expired_offers(now)
            for offer in expired:
                self._end_offer(uow, offer, OfferStatus.EXPIRED)
                self._offer_next(uow, offer.doctor_id, offer.start, offer.end, offer.visit_type)
            if expired:
                uow.commit()
            return len(expired)

    def _end_offer(self, uow: UnitOfWork, offer: WaitlistOffer, outcome: OfferStatus) -> None:
        assert offer.id is not None
        offer.status = outcome
        uow.waitlist.save_offer(offer)
        uow.record(
            events.OfferEnded(offer.id, offer.patient_id, offer.doctor_id, offer.start, offer.end, outcome.value)
        )

    def _offer_freed(self, uow: UnitOfWork, doctor: Doctor, freed: Appointment) -> None:
        if doctor.id is not None:
            self._offer_next(uow, doctor.id, freed.start, freed.end, freed.visit_type)

    def _offer_next(self, uow: UnitOfWork, doctor_id: int, start: datetime, end: datetime, visit_type: str) -> None:
        """Hold a freed time for the first waiting patient who wants it (doctor's or department's list), who is
        free then and was not offered this time before."""
        now = self.clock.now()
        doctor = uow.doctors.get(doctor_id)
        if doctor is None or start <= now + timedelta(hours=doctor.min_notice_hours):
            return
        if not self._bookable(uow, doctor):  # a deactivated doctor's freed times are offered to nobody
            return
        if uow.appointments.active_for_doctor(doctor_id, start, end, seen=True) or uow.waitlist.open_offers(
            doctor_id, start, end, now
        ):
            return
        if on_leave(uow.leaves.overlapping(doctor_id, start, end), start, end) is not None:
            return
        templates = uow.doctors.templates(doctor_id)  # a time the doctor no longer works is offered to nobody
        grid = generate_grid(doctor_id, templates, start.astimezone(self.tz).date(), 1, self.tz)
        if not within_hours(templates, start, end, self.tz) or not any(s.start == start for s in grid):
            return
        already = {o.entry_id for o in uow.waitlist.offers_of(doctor_id, start)}
        day = start.astimezone(self.tz).date()
        for entry in uow.waitlist.candidates(doctor_id, doctor.department_id, day):
            if entry.id in already or not entry.wants(doctor_id, doctor.department_id, day):
                continue
            if uow.appointments.active_for_patient(entry.patient_id, start, end):
                continue
            assert entry.id is not None
            offer = uow.waitlist.add_offer(
                WaitlistOffer(entry.id, entry.patient_id, doctor_id, start, end, visit_type, now + self.offer_hold)
            )
            assert offer.id is not None
            uow.record(events.SlotOffered(offer.id, entry.patient_id, doctor_id, start, end, offer.expires))
            return


def check_visit_types(types: list[VisitType]) -> tuple[VisitType, ...]:
    if not types:
        raise ValidationError("Offer at least one visit type.")
    if len(types) > 8:
        raise ValidationError("At most 8 visit types.")
    names = [require_text(t.name, "The name of a visit type", 60) for t in types]
    if len({n.casefold() for n in names}) != len(names):
        raise ValidationError("Two visit types have the same name.")
    codes = [t.code for t in types]
    if len(set(codes)) != len(codes) or not all(codes):
        raise ValidationError("Every visit type needs its own code.")
    return tuple(
        sorted((VisitType(t.code, n, t.minutes) for t, n in zip(types, names, strict=True)), key=lambda t: t.minutes)
    )


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
