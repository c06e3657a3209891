"""Account administration with the fakes: invites (doctors and imported patients), deactivation and
reactivation, deleting departments, and what happens to a deactivated doctor's patients."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from data.security import InviteTokens
from domain import events
from domain.errors import Conflict, NotAllowed, NotFound, ValidationError
from domain.model import AccountStatus, Actor, AppointmentStatus, Patient, Role, WaitlistEntry, WaitlistStatus
from domain.services import Services
from tests.fakes import INVITE_SECRET, FakeHasher, FakeStore, FixedClock, make_services, weekdays

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday, 08:00 in Berlin
HOURS = weekdays(time(9), time(12))


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def hasher() -> FakeHasher:
    return FakeHasher()


@pytest.fixture
def svc(store: FakeStore, clock: FixedClock, hasher: FakeHasher) -> Services:
    return make_services(store, clock, hasher)


@pytest.fixture
def admin(store: FakeStore) -> Actor:
    return store.add_admin()


@pytest.fixture
def cardiology(store: FakeStore) -> int:
    department = store.add_department("Cardiology")
    assert department.id is not None
    return department.id


def audit_actions(store: FakeStore) -> list[str]:
    return [e.action for e in store.tables.audit]


class OtherPurpose(InviteTokens):
    SALT = "healthsync-sign-in"  # the same key, signed for another purpose


def flip(token: str, at: int = 10) -> str:
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]


# ---- doctor onboarding by invite ----------------------------------------------------------------
def test_an_onboarded_doctor_is_invited_and_cannot_sign_in_or_be_booked(svc, store, admin, cardiology) -> None:
    doctor, invite = svc.onboard_doctor(admin, "Dr. Nora Lind", "Lind@Hospital.test", "Cardiology", cardiology)
    account = store.tables.accounts[invite.account_id]
    assert (account.status, account.password_hash, account.email) == (AccountStatus.INVITED, None, "lind@hospital.test")
    assert doctor.account_id == invite.account_id and invite.role == Role.DOCTOR
    assert invite.expires_at == NOW + timedelta(hours=72)
    assert audit_actions(store) == ["doctor.onboard", "invite.create"]
    with pytest.raises(ValidationError, match="Email or password is wrong"):
        svc.authenticate("lind@hospital.test", "")
    with pytest.raises(NotAllowed):
        svc.actor_for(invite.account_id)
    assert svc.department_slots(cardiology, date(2026, 3, 3), 1) == []  # not in "any doctor" either


def test_the_invite_link_sets_the_password_once_and_signs_in(svc, store, admin, cardiology, hasher) -> None:
    _, invite = svc.onboard_doctor(admin, "Dr. Nora Lind", "lind@hospital.test", "Cardiology", cardiology)
    info = svc.invite_details(invite.token)
    assert (info.name, info.email, info.role) == ("Dr. Nora Lind", "lind@hospital.test", Role.DOCTOR)

    account = svc.accept_invite(invite.token, "lind-pass-2026")
    assert account.status == AccountStatus.ACTIVE
    assert svc.authenticate("lind@hospital.test", "lind-pass-2026").id == invite.account_id
    assert "invite.use" in audit_actions(store)
    assert events.AccountStatusChanged(invite.account_id, "active") in store.published

    stored_hash = store.tables.accounts[invite.account_id].password_hash
    with pytest.raises(ValidationError, match="already been used"):
        svc.accept_invite(invite.token, "somebody-else-2026")
    with pytest.raises(ValidationError, match="already been used"):
        svc.invite_details(invite.token)
    assert store.tables.accounts[invite.account_id].password_hash == stored_hash  # a reuse changes nothing


def test_a_weak_password_keeps_the_link_usable(svc, store, admin, cardiology) -> None:
    _, invite = svc.onboard_doctor(admin, "Dr. Nora Lind", "lind@hospital.test", "Cardiology", cardiology)
    with pytest.raises(ValidationError, match="at least 8 characters"):
        svc.accept_invite(invite.token, "short")
    assert store.tables.accounts[invite.account_id].status == AccountStatus.INVITED
    svc.accept_invite(invite.token, "long-enough-2026")


def test_an_invite_expires_by_its_signature(svc, store, admin, cardiology, clock) -> None:
    _, invite = svc.onboard_doctor(admin, "Dr. Nora Lind", "lind@hospital.test", "Cardiology", cardiology)
    clock.set(NOW + timedelta(hours=72, seconds=2))
    with pytest.raises(ValidationError, match="has expired"):
        svc.accept_invite(invite.token, "lind-pass-2026")
    assert store.tables.accounts[invite.account_id].status == AccountStatus.INVITED


def test_an_invite_expires_by_its_row_too(store, admin, cardiology, clock) -> None:
    """The row's expiry (the setting when it was issued) holds even if the signer's max_age is longer."""
    svc = make_services(store, clock)
    svc.invite_ttl = timedelta(hours=1)
    _, invite = svc.onboard_doctor(admin, "Dr. Nora Lind", "lind@hospital.test", "Cardiology", cardiology)
    clock.set(NOW + timedelta(hours=2))
    with pytest.raises(ValidationError, match="has expired"):
        svc.invite_details(invite.token)


def test_a_tampered_or_foreign_token_is_refused(svc, store, admin, cardiology) -> None:
    _, invite = svc.onboard_doctor(admin, "Dr. Nora Lind", "lind@hospital.test", "Cardiology", cardiology)
    nonce = InviteTokens(INVITE_SECRET, timedelta(hours=72), now=lambda: NOW).read(invite.token)
    forged = [
        flip(invite.token),
        flip(invite.token, len(invite.token) - 3),
        invite.token[:-1],
        "",
        "not-a-token",
        InviteTokens("another-secret-entirely", timedelta(hours=72), now=lambda: NOW).issue(nonce),
        OtherPurpose(INVITE_SECRET, timedelta(hours=72), now=lambda: NOW).issue(nonce),
        InviteTokens(INVITE_SECRET, timedelta(hours=72), now=lambda: NOW).issue("made-up-nonce"),
        InviteTokens(INVITE_SECRET, timedelta(hours=72), now=lambda: NOW)._serializer.dumps(["no", "nonce"]),
    ]
    for token in forged:
        with pytest.raises(ValidationError, match="not valid"):
            svc.accept_invite(token, "lind-pass-2026")
    assert store.tables.accounts[invite.account_id].status == AccountStatus.INVITED
    assert "invite.use" not in audit_actions(store)


def test_a_newer_invite_revokes_the_older_one(svc, store, admin, cardiology) -> None:
    _, first = svc.onboard_doctor(admin, "Dr. Nora Lind", "lind@hospital.test", "Cardiology", cardiology)
    second = svc.create_invite(admin, first.account_id)
    with pytest.raises(ValidationError, match="replaced by a newer one"):
        svc.accept_invite(first.token, "lind-pass-2026")
    svc.accept_invite(second.token, "lind-pass-2026")
    with pytest.raises(ValidationError, match="already set up"):
        svc.create_invite(admin, first.account_id)


def test_onboarding_refuses_bad_input_and_non_admins(svc, store, admin, cardiology) -> None:
    svc.onboard_doctor(admin, "Dr. Nora Lind", "lind@hospital.test", "Cardiology", cardiology)
    with pytest.raises(Conflict, match="already exists"):
        svc.onboard_doctor(admin, "Dr. Other", "LIND@hospital.test", "Cardiology", cardiology)
    with pytest.raises(ValidationError, match="choose a department"):
        svc.onboard_doctor(admin, "Dr. Other", "other@hospital.test", "Cardiology", None)
    _, patient = store.add_patient("Eva Meier")
    with pytest.raises(NotAllowed):
        svc.onboard_doctor(patient, "Dr. Other", "other@hospital.test", "Cardiology", cardiology)
    assert len([a for a in store.tables.accounts.values() if a.role == Role.DOCTOR]) == 1


def test_a_doctor_is_bookable_once_active_and_with_hours(svc, store, admin, cardiology) -> None:
    doctor, invite = svc.onboard_doctor(admin, "Dr. Nora Lind", "lind@hospital.test", "Cardiology", cardiology)
    assert doctor.id is not None
    svc.accept_invite(invite.token, "lind-pass-2026")
    _, eva = store.add_patient("Eva Meier")
    assert svc.slots(doctor.id, date(2026, 3, 3), 1) == []  # no hours yet: nothing to book
    with pytest.raises(ValidationError, match="does not see patients at this time"):
        svc.book(eva, doctor.id, datetime(2026, 3, 3, 9, tzinfo=UTC))
    svc.set_availability(admin, doctor.id, HOURS, 30)
    free = [s for s, ok in svc.slots(doctor.id, date(2026, 3, 3), 1) if ok]
    assert svc.book(eva, doctor.id, free[0].start).status == AppointmentStatus.BOOKED


# ---- imported patients -------------------------------------------------------------------------
def imported_patient(store: FakeStore) -> int:
    with store.write_lock:
        patient = store.tables.patients
        new = Patient(None, "Jonas Weber", date(1970, 1, 5))
        new.id = store.tables.next_id()
        patient[new.id] = new
    return new.id


def test_an_imported_patient_is_activated_through_an_invite(svc, store, admin) -> None:
    patient_id = imported_patient(store)
    invite = svc.invite_patient(admin, patient_id, " Jonas.Weber@Mail.test ")
    patient = store.tables.patients[patient_id]
    assert patient.account_id == invite.account_id and patient.email == "jonas.weber@mail.test"
    assert store.tables.accounts[invite.account_id].status == AccountStatus.INVITED
    assert svc.invite_details(invite.token).name == "Jonas Weber"

    account = svc.accept_invite(invite.token, "jonas-pass-2026")
    assert account.id is not None
    actor = svc.actor_for(account.id)
    assert (actor.role, actor.patient_id) == (Role.PATIENT, patient_id)  # their own record, with its history
    with pytest.raises(ValidationError, match="can already sign in"):
        svc.invite_patient(admin, patient_id, "jonas.weber@mail.test")
    assert [e.patient_id for e in store.tables.audit if e.action.startswith("invite.")] == [patient_id, patient_id]


def test_an_invited_patient_can_get_a_new_link_with_a_corrected_email(svc, store, admin) -> None:
    patient_id = imported_patient(store)
    first = svc.invite_patient(admin, patient_id, "jonas@mail.test")
    second = svc.invite_patient(admin, patient_id, "jonas.weber@mail.test")
    assert first.account_id == second.account_id
    assert store.tables.accounts[second.account_id].email == "jonas.weber@mail.test"
    with pytest.raises(ValidationError, match="replaced"):
        svc.invite_details(first.token)


def test_a_patient_invite_refuses_an_email_of_another_account(svc, store, admin) -> None:
    store.add_patient("Eva Meier")
    patient_id = imported_patient(store)
    with pytest.raises(Conflict, match="already uses this email"):
        svc.invite_patient(admin, patient_id, "eva.meier@mail.test")
    with pytest.raises(ValidationError, match="valid email"):
        svc.invite_patient(admin, patient_id, "not an email")
    assert store.tables.patients[patient_id].account_id is None


# ---- departments -------------------------------------------------------------------------------
def test_a_department_with_doctors_cannot_be_deleted(svc, store, admin, cardiology) -> None:
    store.add_doctor("Dr Weber", HOURS, department_id=cardiology)
    store.add_doctor("Dr Okafor", HOURS, department_id=cardiology)
    with pytest.raises(Conflict, match="still has 2 doctors"):
        svc.delete_department(admin, cardiology)
    assert cardiology in store.tables.departments
    assert "department.delete" not in audit_actions(store)


def test_an_empty_department_is_deleted_and_its_waiting_list_ends(svc, store, admin, cardiology) -> None:
    patient, _ = store.add_patient("Eva Meier")
    assert patient.id is not None
    entry = WaitlistEntry(patient.id, None, cardiology, date(2026, 3, 3), date(2026, 3, 20), NOW)
    with store.write_lock:
        entry.id = store.tables.next_id()
        store.tables.waitlist[entry.id] = entry
    assert svc.delete_department(admin, cardiology) == 1
    assert cardiology not in store.tables.departments
    assert store.tables.waitlist[entry.id].status == WaitlistStatus.LEFT
    assert store.tables.waitlist[entry.id].department_id is None
    assert store.tables.audit[-1].action == "department.delete"
    assert events.DirectoryChanged("department") in store.published
    told = [e for e in store.published if isinstance(e, events.WaitlistEnded)]
    assert [(e.entry_id, e.patient_id) for e in told] == [(entry.id, patient.id)]
    assert "any doctor in Cardiology" in told[0].message and "closed" in told[0].message
    with pytest.raises(NotFound):
        svc.delete_department(admin, cardiology)


def test_a_deactivated_doctors_waiting_list_and_held_times_end_and_the_patients_are_told(
    svc, store, admin, cardiology
) -> None:
    weber, weber_me = store.add_doctor("Dr Weber", HOURS, department_id=cardiology)
    store.add_doctor("Dr Okafor", HOURS, department_id=cardiology)
    assert weber.id is not None
    _, eva = store.add_patient("Eva Meier")
    _, ben = store.add_patient("Ben Park")
    _, cem = store.add_patient("Cem Yilmaz")
    week = (date(2026, 3, 3), date(2026, 3, 6))
    start = datetime(2026, 3, 4, 9, tzinfo=UTC)
    held = svc.book(cem, weber.id, start)
    for_weber = svc.join_waitlist(eva, *week, doctor_id=weber.id)
    for_department = svc.join_waitlist(ben, *week, department_id=cardiology)
    svc.cancel(cem, held.id)  # the freed time is held for Eva, the first waiting
    offer = next(e for e in store.published if isinstance(e, events.SlotOffered))
    assert offer.patient_id == eva.patient_id

    store.published.clear()
    svc.deactivate_account(admin, weber_me.account_id, "On sabbatical")
    ended = [e for e in store.published if isinstance(e, events.OfferEnded)]
    assert [(e.offer_id, e.outcome) for e in ended] == [(offer.offer_id, "withdrawn")]
    with pytest.raises(ValidationError, match="offer has ended"):
        svc.accept_offer(eva, offer.offer_id)
    told = [e for e in store.published if isinstance(e, events.WaitlistEnded)]
    assert [(e.entry_id, e.patient_id) for e in told] == [(for_weber.id, eva.patient_id)]
    assert "Dr Weber does not take bookings" in told[0].message
    assert store.tables.waitlist[for_weber.id].status == WaitlistStatus.LEFT
    # the department's list goes on: another of its doctors can still offer Ben a time
    assert store.tables.waitlist[for_department.id].status == WaitlistStatus.WAITING
    svc.reactivate_account(admin, weber_me.account_id, "Back")  # coming back does not resurrect old entries
    assert store.tables.waitlist[for_weber.id].status == WaitlistStatus.LEFT


def test_department_create_and_update_are_audited(svc, store, admin) -> None:
    dept = svc.save_department(admin, "Neurology")
    svc.save_department(admin, "Neurology and sleep", "", dept.id)
    assert [(e.action, e.detail) for e in store.tables.audit] == [
        ("department.create", "Neurology"),
        ("department.update", "Neurology -> Neurology and sleep"),
    ]


# ---- deactivation ------------------------------------------------------------------------------
def test_deactivation_needs_a_reason_and_never_targets_oneself(svc, store, admin) -> None:
    _, eva = store.add_patient("Eva Meier")
    with pytest.raises(ValidationError, match="reason"):
        svc.deactivate_account(admin, eva.account_id, "   ")
    with pytest.raises(NotAllowed, match="your own account"):
        svc.deactivate_account(admin, admin.account_id, "testing")
    with pytest.raises(NotAllowed):
        svc.deactivate_account(eva, admin.account_id, "revenge")
    assert store.tables.accounts[eva.account_id].status == AccountStatus.ACTIVE
    assert audit_actions(store) == []


def test_a_deactivated_user_cannot_sign_in_or_act_and_their_pages_are_told(svc, store, admin, hasher) -> None:
    account = store.add_account("eva@mail.test", Role.PATIENT, hasher.hash("eva-pass-2026"), name="Eva")
    assert account.id is not None
    patient = store.tables.patients
    record = Patient(account.id, "Eva", date(1980, 1, 1), "eva@mail.test")
    record.id = store.tables.next_id()
    patient[record.id] = record
    eva = svc.actor_for(account.id)

    svc.deactivate_account(admin, account.id, "Left the practice")
    stored = store.tables.accounts[account.id]
    assert (stored.status, stored.status_reason, stored.status_changed_at) == (
        AccountStatus.DEACTIVATED,
        "Left the practice",
        NOW,
    )
    assert events.AccountStatusChanged(account.id, "deactivated") in store.published
    assert store.tables.audit[-1].action == "account.deactivate" and store.tables.audit[-1].patient_id == record.id
    with pytest.raises(NotAllowed, match="deactivated"):
        svc.authenticate("eva@mail.test", "eva-pass-2026")
    with pytest.raises(NotAllowed):
        svc.actor_for(account.id)
    with pytest.raises(NotAllowed, match="not active any more"):
        svc.join_waitlist(eva, date(2026, 3, 3), date(2026, 3, 5), department_id=None, doctor_id=999)

    svc.reactivate_account(admin, account.id, "Came back")
    assert svc.authenticate("eva@mail.test", "eva-pass-2026").id == account.id
    assert audit_actions(store)[-1] == "account.reactivate"


def test_deactivating_an_invited_account_kills_its_link(svc, store, admin, cardiology) -> None:
    _, invite = svc.onboard_doctor(admin, "Dr. Nora Lind", "lind@hospital.test", "Cardiology", cardiology)
    svc.deactivate_account(admin, invite.account_id, "Contract not signed")
    with pytest.raises(NotAllowed, match="deactivated"):  # the reason that matters to the person holding it
        svc.accept_invite(invite.token, "lind-pass-2026")
    svc.reactivate_account(admin, invite.account_id, "Contract signed")
    assert store.tables.accounts[invite.account_id].status == AccountStatus.INVITED  # still no password
    with pytest.raises(ValidationError, match="replaced"):  # the old link stays dead after reactivation
        svc.accept_invite(invite.token, "lind-pass-2026")
    fresh = svc.create_invite(admin, invite.account_id)
    svc.accept_invite(fresh.token, "lind-pass-2026")


def test_a_deactivated_doctor_is_unbookable_until_reactivated(svc, store, admin, cardiology) -> None:
    doctor, weber = store.add_doctor("Dr Weber", HOURS, department_id=cardiology)
    assert doctor.id is not None
    _, eva = store.add_patient("Eva Meier")
    start = datetime(2026, 3, 3, 9, tzinfo=UTC)
    svc.deactivate_account(admin, weber.account_id, "On sabbatical")
    assert events.AvailabilityChanged(doctor.id) in store.published
    with pytest.raises(NotFound, match="does not take bookings"):
        svc.book(eva, doctor.id, start)
    with pytest.raises(Exception, match="No doctor of this department"):
        svc.book_any(eva, cardiology, start)
    svc.reactivate_account(admin, weber.account_id, "Back from sabbatical")
    assert svc.book(eva, doctor.id, start).status == AppointmentStatus.BOOKED


def test_a_deactivated_doctors_patients_are_moved_or_told(svc, store, admin, cardiology) -> None:
    weber, weber_me = store.add_doctor("Dr Weber", HOURS, department_id=cardiology)
    okafor, _ = store.add_doctor("Dr Okafor", HOURS, department_id=cardiology)
    assert weber.id is not None and okafor.id is not None
    _, eva = store.add_patient("Eva Meier")
    _, ben = store.add_patient("Ben Park")
    first = svc.book(eva, weber.id, datetime(2026, 3, 3, 9, tzinfo=UTC))
    second = svc.book(ben, weber.id, datetime(2026, 3, 4, 9, tzinfo=UTC))
    svc.deactivate_account(admin, weber_me.account_id, "Left the hospital")

    # the other doctor of the department at the same time comes first; the deactivated doctor is offered nowhere
    options = svc.move_options(admin, first.id)
    assert options[0][0].id == okafor.id and options[0][1].start == first.start
    assert all(d.id != weber.id for d, _ in options)
    moved = svc.admin_move(admin, first.id, okafor.id, first.start)
    assert (moved.doctor_id, moved.start, moved.rescheduled_from) == (okafor.id, first.start, first.id)
    told = [e for e in store.published if isinstance(e, events.AppointmentCancelled) and e.appointment_id == first.id]
    assert told and told[0].by_role == "admin" and "Dr Okafor" in told[0].reason
    assert told[0].moved_to == moved.id  # told as a move, with the new appointment

    with pytest.raises(NotFound, match="does not take bookings"):
        svc.admin_move(admin, second.id, weber.id, datetime(2026, 3, 5, 9, tzinfo=UTC))

    # cancelling tells the patient with the reason; the freed time is offered to nobody
    svc.cancel(admin, second.id, "prov", "Dr Weber has left the hospital")
    told = [e for e in store.published if isinstance(e, events.AppointmentCancelled) and e.appointment_id == second.id]
    assert told[0].by_role == "admin" and "Dr Weber has left the hospital" in told[0].reason
    assert told[0].moved_to is None
    assert not any(isinstance(e, events.SlotOffered) for e in store.published)
    assert svc.alternatives(ben, second.id) and all(d.id == okafor.id for d, _ in svc.alternatives(ben, second.id))


def test_renaming_a_doctor_renames_their_account_and_is_audited(svc, store, admin, cardiology) -> None:
    doctor, me = store.add_doctor("Dr Weber", HOURS, department_id=cardiology)
    assert doctor.id is not None
    svc.update_doctor(admin, doctor.id, "Dr Jonas Weber-Lind", "Cardiology", cardiology)
    assert store.tables.doctors[doctor.id].name == "Dr Jonas Weber-Lind"
    assert store.tables.accounts[me.account_id].display_name == "Dr Jonas Weber-Lind"  # greeted with the new name
    entry = store.tables.audit[-1]
    assert (entry.action, entry.entity_id) == ("doctor.update", doctor.id)
    assert entry.detail.startswith("Dr Weber, ") and "-> Dr Jonas Weber-Lind, Cardiology" in entry.detail
