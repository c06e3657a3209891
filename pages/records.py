"""Medical records: the doctor's visit form (note, ICD-10-CM diagnoses, structured prescriptions; draft, sign,
amend; the printable prescription), the doctor's list of their patients and a patient's timeline (also shown
to the patient on /patient/history). Access is decided and audited by ClinicalServices."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi.responses import RedirectResponse
from nicegui import app, ui
from nicegui.elements.mixins.value_element import ValueElement

from components.code_picker import CodePicker
from components.dialogs import confirm
from components.frame import fmt_day, fmt_when, frame, guard, notify_error, notify_ok, parse_id
from components.io import io
from data.catalog import CodeEntry
from data.clinical_queries import PAGE_SIZE, DiagnosisItem, MyPatient, PrescriptionLine, TimelineVisit
from data.prescription_pdf import describe, file_name, render
from domain.clinical import (
    DOSE_UNITS,
    FREQUENCIES,
    QUANTITY_UNITS,
    ROUTES,
    Diagnosis,
    FormProblems,
    NoteStatus,
    PrescriptionInput,
    PrescriptionItem,
    Problem,
    VisitContent,
    VisitRevision,
)
from domain.clinical_services import EARLIER_RECORD, VisitForm, VisitView
from domain.errors import DomainError, NotAllowed, NotFound
from domain.model import Actor, Role
from pages.context import AppContext

STATUS_WORDS = {
    NoteStatus.DRAFT.value: "Draft",
    NoteStatus.SIGNED.value: "Signed",
    NoteStatus.AMENDED.value: "Amended",
}


def code_text(system: str, code: str) -> None:
    """A code as small text beside its words (not a chip)."""
    if code:
        ui.label(f"{system} {code}".strip()).classes("text-xs text-slate-500 whitespace-nowrap")


def uncoded_or_code(system: str, code: str) -> None:
    if code:
        code_text(system, code)
    else:
        ui.label("uncoded").classes("text-xs text-amber-700")


def age_on(born: date | None, today: date) -> str:
    if born is None:
        return "date of birth not recorded"
    years = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return f"born {born.strftime('%d %b %Y')} ({years} years)"


def patient_line(p: MyPatient, tz: Any, today: date) -> str:
    """“born … · 3 appointments · last Mon 07 Dec 2026 · next Fri 08 Jan 2027”: past and future apart."""
    parts = [age_on(p.birth_date, today), f"{p.visits} appointment" + ("" if p.visits == 1 else "s")]
    if p.last_visit is not None:
        parts.append(f"last {fmt_day(p.last_visit, tz)}")
    if p.next_visit is not None:
        parts.append(f"next {fmt_day(p.next_visit, tz)}")
    return " · ".join(parts)


def refused_card(message: str) -> None:
    with ui.card().classes("w-full max-w-xl mx-auto items-center text-center gap-3 p-8").mark("record-refused"):
        ui.icon("lock", size="3rem", color="negative")
        ui.label("This record is closed to you").classes("text-xl font-semibold")
        ui.label(message)


def not_found_card(message: str) -> None:
    with ui.card().classes("w-full max-w-xl mx-auto items-center text-center gap-3 p-8").mark("record-not-found"):
        ui.icon("search_off", size="3rem", color="grey")
        ui.label(message)


# ---- read-only views ---------------------------------------------------------------------------------------------


def note_view(label: str, text: str) -> None:
    if text:
        ui.label(label).classes("text-sm font-medium mt-1")
        ui.label(text).classes("text-sm whitespace-pre-wrap break-words")


def content_view(content: VisitContent) -> None:
    note_view("Chief complaint", content.note.chief_complaint)
    note_view("Findings", content.note.findings)
    note_view("Plan", content.note.plan)
    if content.diagnoses:
        ui.label("Diagnoses").classes("text-sm font-medium mt-1")
        for d in content.diagnoses:
            with ui.row().classes("gap-2 items-baseline no-wrap text-sm"):
                ui.label(d.display)
                code_text("ICD-10-CM", d.code)
    if content.prescriptions:
        ui.label("Prescriptions").classes("text-sm font-medium mt-1")
        for p in content.prescriptions:
            with ui.column().classes("gap-0 text-sm"):
                with ui.row().classes("gap-2 items-baseline no-wrap"):
                    ui.label(p.drug_name).classes("font-medium")
                    uncoded_or_code("RxNorm", p.drug_code)
                ui.label(p.summary()).classes("text-slate-600")
                details = f"Quantity {p.quantity} {p.quantity_unit} · refills {p.refills}"
                ui.label(details + (f" · {p.instructions}" if p.instructions else "")).classes("text-slate-600")


def revision_view(revision: VisitRevision, tz: Any, open_: bool = False) -> None:
    title = "Signed original" if revision.kind == "signed" else f"Amendment {revision.version - 1}"
    caption = f"{revision.by_name}, {fmt_when(revision.at, tz)}"
    with (
        ui.expansion(f"{title} — {caption}", value=open_)
        .classes("w-full bg-white rounded border")
        .mark(f"revision-{revision.version}")
    ):
        if revision.reason:
            ui.label(f"Reason: {revision.reason}").classes("text-sm italic")
        content_view(revision.content)


# ---- the visit form --------------------------------------------------------------------------------------------


class PrescriptionEditor:
    """One prescription of the form. `index` names its elements for tests (rx-<index>-dose, ...)."""

    def __init__(self, ctx: AppContext, index: int, on_remove: Callable[[PrescriptionEditor], None]) -> None:
        self.index = index
        self.drug_code, self.drug_name = "", ""
        m = f"rx-{index}"
        with ui.card().classes("w-full p-3 gap-2").mark(m) as self.card:
            with ui.row().classes("w-full items-center gap-2 no-wrap"):
                ui.icon("medication", color="secondary")
                self.title = ui.label("New prescription").classes("font-medium flex-1 break-words").mark(f"{m}-drug")
                self.coded = ui.label("").classes("text-xs text-slate-500")
                ui.button(icon="delete", on_click=lambda: on_remove(self)).props(
                    "flat round dense color=negative aria-label='Remove this prescription'"
                ).mark(f"{m}-remove")
            self.picker = CodePicker(
                "Drug: search the list, or type a name",
                ctx.catalogue.search_drugs,
                self._picked,
                f"{m}-search",
                code_label="RxNorm",
                free_text="as an uncoded drug",
            )
            with ui.row().classes("w-full gap-2"):
                # no min/max/precision on the numbers: NiceGUI would clamp or round them on blur, silently
                # changing what was typed; the service refuses out-of-range values with a message instead
                self.dose = ui.number("Dose").props("inputmode=decimal").classes("w-24").mark(f"{m}-dose")
                self.dose_unit = ui.select(list(DOSE_UNITS), label="Unit").classes("w-32").mark(f"{m}-unit")
                self.route = ui.select(list(ROUTES), label="Route", value="oral").classes("w-48").mark(f"{m}-route")
                self.frequency = (
                    ui.select({f.code: f.words for f in FREQUENCIES}, label="How often")
                    .classes("w-52")
                    .mark(f"{m}-frequency")
                )
            with ui.row().classes("w-full gap-2"):
                self.duration = (
                    ui.number("Duration (days)").props("inputmode=numeric").classes("w-32").mark(f"{m}-duration")
                )
                self.quantity = ui.number("Quantity").props("inputmode=numeric").classes("w-24").mark(f"{m}-quantity")
                self.quantity_unit = (
                    ui.select(list(QUANTITY_UNITS), label="of").classes("w-32").mark(f"{m}-quantity-unit")
                )
                self.refills = (
                    ui.number("Refills", value=0).props("inputmode=numeric").classes("w-24").mark(f"{m}-refills")
                )
            with ui.row().classes("w-full gap-2 items-center"):
                self.as_needed = ui.checkbox("Only as needed").mark(f"{m}-as-needed")
                self.reason = (
                    ui.input("As needed for (reason)").props("maxlength=300").classes("flex-1").mark(f"{m}-reason")
                )
                self.reason.bind_visibility_from(self.as_needed, "value")
            self.instructions = (
                ui.input("Instructions for the patient").props("maxlength=1000").classes("w-full").mark(f"{m}-notes")
            )
        #: the input of each field the service names in its problems (domain.clinical.Problem.field)
        self.inputs: dict[str, Any] = {
            "drug": self.picker.input,
            "dose": self.dose,
            "dose_unit": self.dose_unit,
            "route": self.route,
            "frequency": self.frequency,
            "duration_days": self.duration,
            "quantity": self.quantity,
            "quantity_unit": self.quantity_unit,
            "refills": self.refills,
            "as_needed_reason": self.reason,
            "instructions": self.instructions,
        }
        for element in self.inputs.values():  # an error message grows the field instead of overlapping the next row
            element.props("hide-bottom-space")

    def _picked(self, entry: CodeEntry) -> None:
        self.drug_code, self.drug_name = entry.code, entry.name
        self._show_drug()
        self.picker.input.error = None

    def take_typed_drug(self) -> None:
        """A name typed in the drug search but not picked, with no drug chosen yet, is the drug: uncoded (as
        the field's label promises), shown so in the form before it is saved."""
        typed = " ".join((self.picker.input.value or "").split())
        if typed and not self.drug_name and not self.drug_code:
            self.picker.take_typed()
            self.drug_name = typed
            self._show_drug()

    def _show_drug(self) -> None:
        self.title.text = self.drug_name or "New prescription"
        self.coded.text = f"RxNorm {self.drug_code}" if self.drug_code else ("uncoded" if self.drug_name else "")
        self.coded.classes(replace="text-xs " + ("text-slate-500" if self.drug_code else "text-amber-700"))

    def load(self, item: PrescriptionItem) -> None:
        self.drug_code, self.drug_name = item.drug_code, item.drug_name
        self._show_drug()
        self.dose.value, self.dose_unit.value, self.route.value = item.dose, item.dose_unit, item.route
        self.frequency.value, self.duration.value = item.frequency, item.duration_days
        self.quantity.value, self.quantity_unit.value = item.quantity, item.quantity_unit
        self.refills.value, self.as_needed.value = item.refills, item.as_needed
        self.reason.value, self.instructions.value = item.as_needed_reason, item.instructions

    def to_input(self) -> PrescriptionInput:
        return PrescriptionInput(
            drug_name=self.drug_name,
            drug_code=self.drug_code,
            dose=self.dose.value,
            dose_unit=self.dose_unit.value or "",
            route=self.route.value or "",
            frequency=self.frequency.value or "",
            duration_days=self.duration.value,
            quantity=self.quantity.value,
            quantity_unit=self.quantity_unit.value or "",
            refills=self.refills.value,
            as_needed=bool(self.as_needed.value),
            as_needed_reason=self.reason.value or "",
            instructions=self.instructions.value or "",
        )


class VisitPage:
    def __init__(self, ctx: AppContext, actor: Actor, view: VisitView) -> None:
        self.ctx, self.actor, self.view = ctx, actor, view
        self.visit = view.visit
        self.diagnoses: list[Diagnosis] = list(self.visit.content.diagnoses)
        self.editors: list[PrescriptionEditor] = []
        self.created = 0
        self.dirty = False  # typed or picked since the last save: leaving the page asks first

    # -- layout
    def build(self) -> None:
        view, tz = self.view, self.ctx.tz
        with ui.card().classes("w-full p-4 gap-1"):
            with ui.row().classes("w-full items-center gap-2"):
                ui.label(view.patient.name).classes("text-xl font-semibold min-w-0").style(
                    "overflow-wrap: anywhere"
                ).mark("visit-patient")
                ui.label(age_on(view.patient.birth_date, self.ctx.services.clock.today())).classes("text-slate-600")
                ui.space()
                self.badge = ui.badge("", color="secondary").mark("visit-status")
            ui.label(f"{fmt_when(view.appointment.start, tz)} · {view.doctor_name}").classes("text-sm text-slate-600")
            if view.appointment.reason:
                ui.label(f"Reason for the visit: {view.appointment.reason}").classes("text-sm")
            self.signed_line = ui.label("").classes("text-sm text-slate-600").mark("visit-signed-line")
            ui.link("Open the patient's record", f"/doctor/patients/{view.patient.id}").classes("text-sm")
        with ui.row().classes("w-full gap-4 items-start"):
            with ui.column().classes("flex-[3] min-w-[300px] gap-3"):
                if view.can_write:
                    with ui.column().classes("w-full gap-3") as self.form_card:
                        self.form()
                else:
                    with ui.card().classes("w-full p-4 gap-1"):
                        ui.label(
                            EARLIER_RECORD
                            if view.visit.status == NoteStatus.NONE
                            else "Read only: only the visit's own doctor writes this record."
                        ).classes("text-sm text-slate-500")
                        content_view(self.visit.content)
            self.versions = ui.column().classes("flex-[2] min-w-[280px] gap-2").mark("visit-versions")
        self.refresh_state()
        if view.can_write:
            self._watch(self.form_card)

    # -- unsaved changes: the browser asks before leaving the page (a tap on the top bar, a reload)
    def _watch(self, container: ui.element) -> None:
        for element in container.descendants():
            searching = any(m.endswith("search") for m in element._markers)  # looking up a code changes nothing
            if isinstance(element, ValueElement) and element is not self.amend_reason and not searching:
                element.on_value_change(self._touch)

    def _touch(self) -> None:
        if not self.dirty:
            self.dirty = True
            ui.run_javascript("window.onbeforeunload = (e) => { e.preventDefault(); e.returnValue = ''; return ''; };")

    def _saved(self) -> None:
        self.dirty = False
        ui.run_javascript("window.onbeforeunload = null;")

    def form(self) -> None:
        content = self.visit.content
        with ui.card().classes("w-full p-4 gap-2"):
            ui.label("Note").classes("text-lg font-medium")
            self.complaint = (
                ui.textarea("Chief complaint", value=content.note.chief_complaint)
                .props("autogrow maxlength=10000")
                .classes("w-full")
                .mark("visit-complaint")
            )
            self.findings = (
                ui.textarea("Findings", value=content.note.findings)
                .props("autogrow maxlength=10000")
                .classes("w-full")
                .mark("visit-findings")
            )
            self.plan = (
                ui.textarea("Plan", value=content.note.plan)
                .props("autogrow maxlength=10000")
                .classes("w-full")
                .mark("visit-plan")
            )
        with ui.card().classes("w-full p-4 gap-2"):
            ui.label("Diagnoses (ICD-10-CM)").classes("text-lg font-medium")
            self.diagnosis_list = ui.column().classes("w-full gap-1").mark("visit-diagnoses")
            CodePicker(
                "Add a diagnosis: words or code",
                self._search_diagnoses,
                self._add_diagnosis,
                "diagnosis-search",
                code_label="ICD-10-CM",
            )
        self._draw_diagnoses()
        with ui.card().classes("w-full p-4 gap-2"):
            ui.label("Prescriptions").classes("text-lg font-medium")
            self.rx_column = ui.column().classes("w-full gap-2").mark("visit-prescriptions")
            for item in content.prescriptions:
                self._add_editor(loading=True).load(item)
            ui.button("Add prescription", icon="add", on_click=lambda: self._add_editor()).props(
                "outline no-caps"
            ).mark("rx-add")
        with ui.card().classes("w-full p-4 gap-2"):
            self.problems = (
                ui.column().classes("w-full gap-1 p-3 rounded border border-red-300 bg-red-50").mark("visit-problems")
            )
            self.problems.visible = False
            self.amend_reason = (
                ui.input("Reason for the amendment (required)")
                .props("maxlength=300")
                .classes("w-full")
                .mark("amend-reason")
            )
            with ui.row().classes("w-full gap-2 justify-end"):
                self.save_button = (
                    ui.button("Save draft", icon="save", on_click=self.save_draft)
                    .mark("visit-save")
                    .props("outline no-caps")
                )
                self.sign_button = (
                    ui.button("Sign", icon="verified", on_click=self.sign).mark("visit-sign").props("no-caps")
                )
                self.amend_button = (
                    ui.button("Save amendment", icon="edit_note", on_click=self.amend)
                    .mark("visit-amend")
                    .props("no-caps")
                )
                self.print_button = (
                    ui.button("Print prescription", icon="print", on_click=self.print_pdf)
                    .mark("visit-print")
                    .props("outline no-caps")
                )

    def _search_diagnoses(self, query: str, limit: int) -> list[CodeEntry]:
        """Runs off the event loop (CodePicker): codes this hospital already uses rank higher."""
        return self.ctx.catalogue.search_diagnoses(query, limit, self.ctx.records.diagnosis_usage())

    def _draw_diagnoses(self) -> None:
        self.diagnosis_list.clear()
        with self.diagnosis_list:
            if not self.diagnoses:
                ui.label("None chosen yet.").classes("text-sm text-slate-500")
            for d in self.diagnoses:
                with ui.row().classes("w-full items-center gap-2 no-wrap").mark(f"dx-{d.code}"):
                    ui.label(d.display).classes("text-sm flex-1")
                    code_text("ICD-10-CM", d.code)
                    ui.button(icon="close", on_click=lambda d=d: self._remove_diagnosis(d)).props(
                        "flat round dense aria-label='Remove this diagnosis'"
                    )

    def _add_diagnosis(self, entry: CodeEntry) -> None:
        if all(d.code != entry.code for d in self.diagnoses):
            self.diagnoses.append(Diagnosis(entry.code, entry.name))
            self._touch()
        self._draw_diagnoses()

    def _remove_diagnosis(self, diagnosis: Diagnosis) -> None:
        self.diagnoses = [d for d in self.diagnoses if d.code != diagnosis.code]
        self._touch()
        self._draw_diagnoses()

    def _add_editor(self, loading: bool = False) -> PrescriptionEditor:
        self.created += 1
        with self.rx_column:
            editor = PrescriptionEditor(self.ctx, self.created, self._remove_editor)
        self.editors.append(editor)
        if not loading:  # (a stored prescription drawn on opening is no change)
            self._touch()
            self._watch(editor.card)
        return editor

    def _remove_editor(self, editor: PrescriptionEditor) -> None:
        self.editors.remove(editor)
        self.rx_column.remove(editor.card)
        self._touch()

    # -- state shown in place
    def refresh_state(self) -> None:
        visit, tz = self.visit, self.ctx.tz
        status = visit.status.value or NoteStatus.DRAFT.value
        self.badge.text = STATUS_WORDS.get(status, "Draft") if visit.id is not None else "No notes yet"
        first = visit.original
        if first is not None:
            line = f"Signed by {first.by_name} on {fmt_when(first.at, tz)}"
            if len(visit.revisions) > 1:
                last = visit.revisions[-1]
                line += f"; amended {len(visit.revisions) - 1}× (last by {last.by_name}, {fmt_when(last.at, tz)})"
            self.signed_line.text = line
        elif visit.updated_at is not None:
            self.signed_line.text = f"Draft saved {fmt_when(visit.updated_at, tz)}; not signed yet."
        else:
            self.signed_line.text = "Nothing saved yet."
        if self.view.can_write:
            self.save_button.visible = self.sign_button.visible = not visit.signed
            self.amend_button.visible = self.amend_reason.visible = visit.signed
            self.print_button.visible = visit.signed and bool(visit.content.prescriptions)
        self.versions.clear()
        self.versions.visible = bool(visit.revisions)  # a draft uses the whole width
        with self.versions:
            if visit.revisions:
                ui.label("Signed versions").classes("text-lg font-medium")
                ui.label("Kept as signed; they cannot be changed.").classes("text-xs text-slate-500")
                for revision in reversed(visit.revisions):
                    revision_view(revision, tz, open_=revision.version == 1 and len(visit.revisions) > 1)

    # -- problems of the form, all shown at once
    def _note_inputs(self) -> dict[str, Any]:
        return {"chief_complaint": self.complaint, "findings": self.findings, "plan": self.plan}

    def _clear_problems(self) -> None:
        self.problems.clear()
        self.problems.visible = False
        for element in self._note_inputs().values():
            element.error = None
        self.amend_reason.error = None
        for editor in self.editors:
            for element in editor.inputs.values():
                element.error = None

    def _show_problems(self, problems: tuple[Problem, ...]) -> None:
        """List every problem above the buttons and mark each offending input with its message."""
        self._clear_problems()
        with self.problems:
            heading = (
                "Nothing was saved. Please correct this:"
                if len(problems) == 1
                else (f"Nothing was saved. Please correct these {len(problems)} problems:")
            )
            ui.label(heading).classes("text-sm font-medium text-red-800")
            for problem in problems:
                with ui.row().classes("gap-2 items-start no-wrap text-sm text-red-800"):
                    ui.icon("error_outline", color="negative").classes("mt-0.5")
                    ui.label(problem.message).classes("break-words")
        self.problems.visible = True
        for problem in problems:
            element = self._input_of(problem)
            if element is not None:
                element.error = problem.short if not element.error else f"{element.error} {problem.short}"

    def _input_of(self, problem: Problem) -> Any:
        if problem.item == "Note":
            return self._note_inputs().get(problem.field)
        if problem.item.startswith("Prescription ") and 1 <= problem.position <= len(self.editors):
            return self.editors[problem.position - 1].inputs.get(problem.field)
        return None

    # -- commands
    def _form(self) -> VisitForm:
        for editor in self.editors:
            editor.take_typed_drug()
        return VisitForm(
            self.complaint.value or "",
            self.findings.value or "",
            self.plan.value or "",
            [d.code for d in self.diagnoses],
            [e.to_input() for e in self.editors],
        )

    async def _run(self, command: Callable[..., Any], *args: Any, done: str) -> None:
        client = ui.context.client
        with client:
            form = self._form()
        try:
            self.visit = await io(command, self.actor, self.view.appointment.id, form, *args)
        except FormProblems as problems:
            with client:
                self._show_problems(problems.problems)
            count = len(problems.problems)
            notify_error(
                problems.message if count == 1 else f"Nothing was saved: {count} problems, listed above the buttons.",
                client,
            )
            return
        except DomainError as error:
            with client:
                self._clear_problems()
            notify_error(error.message, client)
            return
        with client:
            self._clear_problems()
            self.refresh_state()
            self._saved()
        notify_ok(done, client)

    async def save_draft(self) -> None:
        await self._run(self.ctx.clinical.save_draft, self.visit.version, done="Draft saved.")

    async def sign(self) -> None:
        if not await confirm(
            "Sign this visit record?",
            "After signing, the record is kept as signed; any later change is an amendment with a reason.",
            ok="Sign",
            cancel="Back",
        ):
            return
        await self._run(self.ctx.clinical.sign, self.visit.version, done="Visit signed.")

    async def amend(self) -> None:
        reason = self.amend_reason.value or ""
        await self._run(
            self.ctx.clinical.amend, reason, self.visit.version, done="Amendment saved; the signed original is kept."
        )
        if self.visit.status == NoteStatus.AMENDED and self.visit.revisions[-1].reason:
            self.amend_reason.value = ""

    async def print_pdf(self) -> None:
        await download_prescription(self.ctx, self.actor, self.visit.id)


async def download_prescription(ctx: AppContext, actor: Actor, visit_id: int | None) -> None:
    client = ui.context.client
    if visit_id is None:
        notify_error("Save and sign the visit first.", client)
        return
    try:
        sheet = await io(ctx.clinical.prescription_sheet, actor, visit_id)
    except DomainError as error:
        notify_error(error.message, client)
        return
    printed = await io(render, sheet, ctx.settings.hospital_name, ctx.tz, ctx.services.clock.now())
    with client:
        ui.download.content(printed.pdf, file_name(sheet), "application/pdf")
        if printed.unprintable:
            ui.notify(
                unprintable_warning(printed.unprintable),
                type="warning",
                position="bottom",
                multi_line=True,
                timeout=0,
                close_button="OK",
            )


def unprintable_warning(chars: tuple[str, ...]) -> str:
    """What the user is told when the PDF could not draw some characters (they show as “�” on it)."""
    shown = describe(chars[:8]) + (f" and {len(chars) - 8} more" if len(chars) > 8 else "")
    return (
        f"Some characters could not be printed with the fonts on this server: {shown}. They show as “�” on "
        "the prescription; check the names on it before handing it out, and ask IT to install fonts-noto-cjk "
        "(and fonts-noto-core for other scripts)."
    )


# ---- the timeline ----------------------------------------------------------------------------------------------


def diagnosis_row(d: DiagnosisItem) -> None:
    with ui.row().classes("gap-2 items-baseline no-wrap text-sm"):
        ui.label(d.display)
        code_text(d.system, d.code)
        if d.clinical_status and d.clinical_status != "active":
            ui.label(f"({d.clinical_status})").classes("text-xs text-slate-500")


def prescription_row(p: PrescriptionLine, show_state: bool = True) -> None:
    with ui.row().classes("gap-2 items-start no-wrap text-sm").mark(f"rx-line-{p.id}"):
        ui.icon("medication", color="secondary" if p.active else "grey").classes("mt-0.5")
        with ui.column().classes("gap-0"):
            with ui.row().classes("gap-2 items-baseline"):
                ui.label(p.drug).classes("font-medium" if p.active else "")
                uncoded_or_code(p.system, p.code)
                if show_state:
                    ui.label("active" if p.active else "past").classes(
                        "text-xs " + ("text-emerald-700" if p.active else "text-slate-500")
                    )
            if p.dosage:
                ui.label(p.dosage).classes("text-slate-600")
            if p.authored:
                ui.label(f"prescribed {p.authored.strftime('%d %b %Y')}").classes("text-xs text-slate-500")


class Timeline:
    """A patient's record, paged on the server: summary on top, then visits, then past prescriptions; "older"
    buttons append the next page in place."""

    def __init__(self, ctx: AppContext, actor: Actor, patient_id: int) -> None:
        self.ctx, self.actor, self.patient_id = ctx, actor, patient_id
        self.doctor_view = actor.role == Role.DOCTOR
        self.visit_cursor: str | None = None
        self.rx_cursor: str | None = None

    async def build(self) -> None:
        now = self.ctx.services.clock.now()
        records = self.ctx.records
        summary = await io(records.summary, self.patient_id, now)
        first = await io(records.timeline, self.patient_id, now, None, PAGE_SIZE, self.doctor_view)
        past = await io(records.past_prescriptions, self.patient_id, now)
        with ui.row().classes("w-full gap-4 items-start"):
            with ui.card().classes("flex-1 min-w-[280px] p-4 gap-1").mark("active-prescriptions"):
                ui.label("Current medications").classes("text-lg font-medium")
                if not summary.active_prescriptions:
                    ui.label("No active prescriptions.").classes("text-sm text-slate-500")
                for p in summary.active_prescriptions:
                    prescription_row(p, show_state=False)
            with ui.card().classes("flex-1 min-w-[280px] p-4 gap-1").mark("active-diagnoses"):
                ui.label("Active diagnoses").classes("text-lg font-medium")
                if not summary.active_diagnoses:
                    ui.label("None recorded.").classes("text-sm text-slate-500")
                for d in summary.active_diagnoses:
                    diagnosis_row(d)
        ui.label(f"Visits ({summary.visits})").classes("text-lg font-medium mt-2")
        self.visits = ui.column().classes("w-full gap-2").mark("timeline-visits")
        if not first.visits:
            with self.visits:
                ui.label("No visits on record yet.").classes("text-slate-500")
        self._add_visits(first.visits)
        self.visit_cursor = first.cursor
        self.older = ui.button("Show older visits", icon="expand_more", on_click=self.more_visits).props(
            "outline no-caps"
        )
        self.older.mark("timeline-older")
        self.older.visible = first.cursor is not None
        ui.label("Past prescriptions").classes("text-lg font-medium mt-2")
        with ui.card().classes("w-full p-4 gap-1"):
            self.past = ui.column().classes("w-full gap-1").mark("past-prescriptions")
            if not past.items:
                with self.past:
                    ui.label("None.").classes("text-sm text-slate-500")
            self._add_past(past.items)
            self.rx_cursor = past.cursor
            self.older_rx = ui.button("Show older prescriptions", on_click=self.more_past).props("flat no-caps")
            self.older_rx.visible = past.cursor is not None

    def _add_visits(self, visits: list[TimelineVisit]) -> None:
        with self.visits:
            for visit in visits:
                self._visit_card(visit)

    def _add_past(self, items: list[PrescriptionLine]) -> None:
        with self.past:
            for p in items:
                prescription_row(p)

    def _visit_card(self, visit: TimelineVisit) -> None:
        tz = self.ctx.tz
        with ui.card().classes("w-full p-4 gap-1").mark(f"visit-{visit.id}"):
            with ui.row().classes("w-full items-baseline gap-2"):
                ui.label(fmt_day(visit.start, tz)).classes("font-semibold")
                ui.label(visit.kind).classes("text-slate-700")
                if visit.note_status:
                    ui.badge(STATUS_WORDS.get(visit.note_status, visit.note_status), color="secondary").props("outline")
                ui.space()
                ui.label(visit.doctor).classes("text-sm text-slate-500")
            if visit.location:
                ui.label(visit.location).classes("text-xs text-slate-500")
            if visit.reason:
                ui.label(f"Reason: {visit.reason}").classes("text-sm")
            if visit.note_status == NoteStatus.DRAFT.value and not self.doctor_view:
                ui.label("The doctor's notes for this visit are not signed yet.").classes("text-sm text-slate-500")
            note_view("Chief complaint", visit.chief_complaint)
            note_view("Findings", visit.findings)
            note_view("Plan", visit.plan)
            if visit.diagnoses:
                ui.label("Diagnoses").classes("text-sm font-medium mt-1")
                for d in visit.diagnoses:
                    diagnosis_row(d)
            if visit.prescriptions:
                ui.label("Prescriptions").classes("text-sm font-medium mt-1")
                for p in visit.prescriptions:
                    prescription_row(p)
            with ui.row().classes("gap-2"):
                own = self.doctor_view and visit.doctor_id == self.actor.doctor_id
                if own and visit.appointment_id and not visit.imported:
                    ui.link("Open visit", f"/doctor/visit/{visit.appointment_id}").classes("text-sm")
                printable = visit.note_status in (NoteStatus.SIGNED.value, NoteStatus.AMENDED.value)
                if printable and visit.prescriptions and (own or not self.doctor_view):
                    ui.button(
                        "Prescription (PDF)",
                        icon="print",
                        on_click=lambda v=visit.id: download_prescription(self.ctx, self.actor, v),
                    ).props("flat dense no-caps").mark(f"print-{visit.id}")

    async def _still_allowed(self) -> bool:
        client = ui.context.client
        try:
            await io(self.ctx.clinical.open_record, self.actor, self.patient_id, "timeline, older page")
        except DomainError as error:
            notify_error(error.message, client)
            return False
        return True

    async def more_visits(self) -> None:
        if self.visit_cursor is None or not await self._still_allowed():
            return
        now = self.ctx.services.clock.now()
        page = await io(self.ctx.records.timeline, self.patient_id, now, self.visit_cursor, PAGE_SIZE, self.doctor_view)
        self._add_visits(page.visits)
        self.visit_cursor = page.cursor
        self.older.visible = page.cursor is not None

    async def more_past(self) -> None:
        if self.rx_cursor is None or not await self._still_allowed():
            return
        now = self.ctx.services.clock.now()
        page = await io(self.ctx.records.past_prescriptions, self.patient_id, now, self.rx_cursor)
        self._add_past(page.items)
        self.rx_cursor = page.cursor
        self.older_rx.visible = page.cursor is not None


async def patient_timeline(ctx: AppContext, actor: Actor, patient_id: int) -> None:
    """The record as a page section: access checked and audited first; a refusal shows its reason."""
    try:
        patient = await io(ctx.clinical.open_record, actor, patient_id)
    except NotAllowed as error:
        refused_card(error.message)
        return
    except NotFound as error:
        not_found_card(error.message)
        return
    if actor.role == Role.DOCTOR:
        with ui.row().classes("items-baseline gap-2"):
            ui.label(patient.name).classes("text-xl font-semibold").mark("record-patient")
            ui.label(age_on(patient.birth_date, ctx.services.clock.today())).classes("text-slate-600")
    await Timeline(ctx, actor, patient_id).build()


def register(ctx: AppContext) -> None:
    async def warm_catalogue() -> None:  # ICD-10-CM takes a second to index: not on the first doctor's search
        await asyncio.get_running_loop().run_in_executor(None, ctx.catalogue.icd)

    app.on_startup(warm_catalogue)

    @ui.page("/doctor/visit/{appointment_id}")
    async def visit_page(appointment_id: str) -> RedirectResponse | None:
        actor = await guard(ctx, f"/doctor/visit/{appointment_id}", Role.DOCTOR)
        if not isinstance(actor, Actor):
            return actor
        with frame(ctx, actor, "Visit record"):
            wanted = parse_id(appointment_id)
            if wanted is None:
                not_found_card("This appointment does not exist.")
                return None
            try:
                view = await io(ctx.clinical.open_visit, actor, wanted)
            except NotAllowed as error:
                refused_card(error.message)
                return None
            except NotFound as error:
                not_found_card(error.message)
                return None
            VisitPage(ctx, actor, view).build()
        return None

    @ui.page("/doctor/patients/{patient_id}")
    async def doctor_patient(patient_id: str) -> RedirectResponse | None:
        actor = await guard(ctx, f"/doctor/patients/{patient_id}", Role.DOCTOR)
        if not isinstance(actor, Actor):
            return actor
        with frame(ctx, actor, "Patient record"):
            wanted = parse_id(patient_id)
            if wanted is None:
                not_found_card("This patient does not exist.")
                return None
            await patient_timeline(ctx, actor, wanted)
        return None

    @ui.page("/doctor/patients")
    async def my_patients(q: str = "", page: str = "1") -> RedirectResponse | None:
        actor = await guard(ctx, "/doctor/patients", Role.DOCTOR)
        if not isinstance(actor, Actor):
            return actor
        assert actor.doctor_id is not None
        page_no = min(parse_id(page) or 1, 100_000)
        now = ctx.services.clock.now()
        result = await io(ctx.records.my_patients, actor.doctor_id, q[:100], PAGE_SIZE, (page_no - 1) * PAGE_SIZE, now)
        with frame(ctx, actor, "My patients"):
            search = ui.input("Search by name", value=q[:100]).props("clearable type=search maxlength=100")
            search.classes("w-full max-w-md").mark("patient-search")
            search.on(
                "keydown.enter", lambda: ui.navigate.to("/doctor/patients?" + urlencode({"q": search.value or ""}))
            )
            if not result.items:
                ui.label("No patients found.").classes("text-slate-500")
            with ui.column().classes("w-full gap-2"):
                for p in result.items:
                    with ui.link(target=f"/doctor/patients/{p.id}").classes("w-full no-underline text-inherit"):
                        with ui.card().classes("w-full p-3 gap-0").mark(f"patient-{p.id}"):
                            ui.label(p.name).classes("font-medium")
                            ui.label(patient_line(p, ctx.tz, ctx.services.clock.today())).classes(
                                "text-sm text-slate-600"
                            )
            pages = max(1, -(-result.total // PAGE_SIZE))
            if pages > 1:
                ui.pagination(
                    1,
                    pages,
                    value=min(page_no, pages),
                    on_change=lambda e: ui.navigate.to(
                        "/doctor/patients?" + urlencode({"q": q[:100], "page": e.value})
                    ),
                )
        return None
