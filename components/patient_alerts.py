"""What the hospital tells a patient at once, on every patient page: a time held for them from a waiting list
(book it or let it go), an appointment the hospital had to cancel (with the reason and the next free times,
bookable with one tap), and one the hospital moved (with the new time). Subscribed to ``patient:<id>``; dialogs
hang on the page itself, so a live redraw of a list cannot delete them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from nicegui import Client, ui

from components.frame import fmt_time, fmt_when, notify_error, notify_ok
from components.io import io
from components.live import on_reconnect
from domain import events as ev
from domain.errors import DomainError, SlotTaken
from domain.model import Actor
from pages.context import AppContext


class PatientAlerts:
    def __init__(self, ctx: AppContext, actor: Actor) -> None:
        assert actor.patient_id is not None
        self.ctx, self.actor, self.patient_id = ctx, actor, actor.patient_id
        self.client: Client = ui.context.client
        self.offers: dict[int, ui.dialog] = {}
        self.busy: set[int] = set()  # offers being answered: a double tap answers once
        self.booking = False
        ctx.live.subscribe(f"patient:{self.patient_id}", self._on_event)
        on_reconnect(self.reread)

    async def reread(self) -> None:
        """Show the times held for the patient now (on page build and after a reconnect that may have lost
        events); close those that ended meanwhile."""
        _, held = await io(self.ctx.queries.patient_scheduling, self.patient_id, self.ctx.services.clock.now())
        open_ids = {offer_id for offer_id, *_ in held}
        for offer_id in list(self.offers):
            if offer_id not in open_ids:
                self._close(offer_id)
        for offer_id, doctor_id, start, _end, expires in held:
            if offer_id not in self.offers:
                await self._show_offer(offer_id, doctor_id, start, expires)

    async def _on_event(self, event: ev.DomainEvent) -> None:
        if getattr(event, "patient_id", None) != self.patient_id:
            return
        if isinstance(event, ev.SlotOffered):
            if event.offer_id not in self.offers:
                await self._show_offer(event.offer_id, event.doctor_id, event.start, event.expires)
        elif isinstance(event, ev.OfferEnded):
            if event.offer_id in self.offers:
                self._close(event.offer_id)
                if event.outcome == "expired":
                    self._tell(
                        f"The time held for you ({fmt_when(event.start, self.ctx.tz)}) was offered to the next "
                        "patient. You stay on the waiting list.",
                    )
                elif event.outcome == "withdrawn":
                    self._tell(
                        f"The time held for you ({fmt_when(event.start, self.ctx.tz)}) is no longer available: "
                        "the doctor does not take bookings at the moment.",
                    )
        elif isinstance(event, ev.WaitlistEnded):
            self._tell(event.message)
        elif isinstance(event, ev.AppointmentCancelled) and event.moved_to is not None:
            await self._show_moved(event, event.moved_to)
        elif isinstance(event, ev.AppointmentCancelled) and event.by_role in ("doctor", "admin"):
            await self._show_cancelled(event)

    # ---- a time held from the waiting list ----------------------------------------------------
    async def _show_offer(self, offer_id: int, doctor_id: int, start: datetime, expires: datetime) -> None:
        doctor = await io(self.ctx.queries.doctor, doctor_id)
        name = doctor.name if doctor else "A doctor"
        tz = self.ctx.tz
        if offer_id in self.offers:  # the same offer arrived twice while the doctor was read
            return
        with self._alert(f"offer-{offer_id}", "event_available", "positive", "A time became free") as dialog:
            ui.label(f"{name}, {fmt_when(start, tz)}.").classes("font-medium")
            ui.label(f"It is held for you until {fmt_time(expires, tz)}.").classes("text-slate-600")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("No thanks", on_click=lambda: self._decline(offer_id)).props("flat no-caps")
                ui.button("Book it", icon="check", on_click=lambda: self._accept(offer_id)).props("unelevated no-caps")
            left = (expires - self.ctx.services.clock.now()).total_seconds()
            ui.timer(max(left, 0) + 1, lambda: self._expired(offer_id, start), once=True)
        self.offers[offer_id] = dialog
        dialog.open()

    @contextmanager
    def _alert(self, marker: str, icon: str, color: str, title: str) -> Iterator[ui.dialog]:
        """A dialog on the page itself (a live redraw of a list cannot delete it) with an icon and a title."""
        with self.client.content, ui.dialog().props("persistent") as dialog:
            with ui.card().classes("p-5 gap-3 w-full max-w-md").mark(marker):
                with ui.row().classes("items-center gap-2 no-wrap"):
                    ui.icon(icon, size="1.8rem", color=color)
                    ui.label(title).classes("text-lg font-medium")
                yield dialog

    def _close(self, offer_id: int) -> None:
        dialog = self.offers.pop(offer_id, None)
        if dialog is not None and not dialog.is_deleted:
            dialog.close()
            dialog.delete()

    def _expired(self, offer_id: int, start: datetime) -> None:
        if offer_id in self.offers and offer_id not in self.busy:
            self._close(offer_id)
            self._tell(
                f"The hold on {fmt_when(start, self.ctx.tz)} has ended; the time goes to the next patient. "
                "You stay on the waiting list.",
            )

    async def _accept(self, offer_id: int) -> None:
        if offer_id in self.busy:
            return
        self.busy.add(offer_id)
        try:
            appointment = await io(self.ctx.services.accept_offer, self.actor, offer_id)
        except DomainError as error:
            self._close(offer_id)
            notify_error(error.message, self.client)
            return
        finally:
            self.busy.discard(offer_id)
        self._close(offer_id)
        with self.client:
            ui.navigate.to(f"/patient?booked={appointment.id}")

    async def _decline(self, offer_id: int) -> None:
        if offer_id in self.busy:
            return
        self.busy.add(offer_id)
        try:
            await io(self.ctx.services.decline_offer, self.actor, offer_id)
        except DomainError as error:
            notify_error(error.message, self.client)
            return
        finally:
            self.busy.discard(offer_id)
            self._close(offer_id)
        notify_ok("The time goes to the next patient. You stay on the waiting list.", self.client)

    # ---- an appointment the hospital cancelled ------------------------------------------------
    async def _show_cancelled(self, event: ev.AppointmentCancelled) -> None:
        tz = self.ctx.tz
        dto = await io(self.ctx.queries.appointment, event.appointment_id)
        doctor = dto.doctor if dto else "your doctor"
        when = fmt_when(event.start, tz)
        if event.by_role == "doctor":
            headline = f"{doctor} cancelled your appointment of {when}."
        else:
            headline = f"The hospital cancelled your appointment with {doctor} of {when}."
        try:
            options = await io(self.ctx.services.alternatives, self.actor, event.appointment_id)
        except DomainError:
            options = []
        reason = dto.reason if dto else ""
        with self._alert(
            f"cancelled-{event.appointment_id}", "event_busy", "negative", "Appointment cancelled"
        ) as dialog:
            ui.label(headline)
            if event.reason:
                ui.label(f"Reason: {event.reason}").classes("text-slate-600 break-words")
            if options:
                ui.label("The next free times, booked with one tap:").classes("text-sm font-medium mt-1")
                with ui.column().classes("w-full gap-2"):
                    for alt_doctor, slot in options:
                        assert alt_doctor.id is not None
                        button = ui.button(f"{alt_doctor.name} · {fmt_when(slot.start, tz)}")
                        button.props("outline no-caps align=left").classes("w-full")
                        button.on_click(
                            lambda b=button, d=alt_doctor.id, s=slot.start: self._book_alternative(
                                dialog, b, d, s, reason
                            )
                        )
            else:
                ui.label("You can book another time under “Find a doctor”.").classes("text-slate-600")
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("Find another time", on_click=lambda: self._go(dialog, "/patient/doctors")).props(
                    "flat no-caps"
                )
                ui.button("OK", on_click=dialog.close).props("unelevated no-caps")
        dialog.on_value_change(lambda e: None if e.value else dialog.delete())
        dialog.open()

    # ---- an appointment the hospital moved to another doctor or time ----------------------------
    async def _show_moved(self, event: ev.AppointmentCancelled, new_id: int) -> None:
        tz = self.ctx.tz
        old = await io(self.ctx.queries.appointment, event.appointment_id)
        new = await io(self.ctx.queries.appointment, new_id)
        if new is None or new.patient_id != self.patient_id:  # (cancelled again meanwhile: the list shows it)
            return
        with self._alert(f"moved-{event.appointment_id}", "event_repeat", "primary", "Appointment moved") as dialog:
            doctor = old.doctor if old else "your doctor"
            ui.label(f"The hospital moved your appointment with {doctor} of {fmt_when(event.start, tz)}.")
            ui.label(f"Your new appointment: {new.doctor}, {fmt_when(new.start, tz)}.").classes("font-medium")
            ui.label("If this time does not suit you, you can move or cancel it in your list.").classes(
                "text-slate-600"
            )
            with ui.row().classes("w-full justify-end gap-2"):
                ui.button("My appointments", on_click=lambda: self._go(dialog, "/patient")).props("flat no-caps")
                ui.button("OK", on_click=dialog.close).props("unelevated no-caps")
        dialog.on_value_change(lambda e: None if e.value else dialog.delete())
        dialog.open()

    def _go(self, dialog: ui.dialog, path: str) -> None:
        dialog.close()
        with self.client:
            ui.navigate.to(path)

    async def _book_alternative(
        self, dialog: ui.dialog, button: ui.button, doctor_id: int, start: datetime, reason: str
    ) -> None:
        if self.booking:
            return  # one booking at a time: a double tap books once
        self.booking = True
        try:
            appointment = await io(self.ctx.services.book, self.actor, doctor_id, start, reason)
        except SlotTaken as error:
            button.disable()
            notify_error(error.message, self.client)
            return
        except DomainError as error:
            notify_error(error.message, self.client)
            return
        finally:
            self.booking = False
        dialog.close()
        with self.client:
            ui.navigate.to(f"/patient?booked={appointment.id}")

    def _tell(self, message: str) -> None:
        with self.client:
            ui.notify(message, type="info", position="bottom", multi_line=True, timeout=0, close_button="OK")


async def patient_alerts(ctx: AppContext, actor: Actor) -> PatientAlerts:
    """Put the alerts on the current patient page (call once, after frame())."""
    alerts = PatientAlerts(ctx, actor)
    await alerts.reread()
    return alerts
