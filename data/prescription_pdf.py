"""The printable prescription (A4 PDF, fpdf2). DejaVu Sans (data/fonts, with its license) prints any name:
"José Müller", "Zoë", "Łukasz"."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from domain.clinical import PrescriptionSheet

FONTS = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"


def file_name(sheet: PrescriptionSheet) -> str:
    return f"prescription-{sheet.issued.isoformat()}-visit-{sheet.visit_id}.pdf"


class _Sheet(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"{self.footer_text} · page {self.page_no()} of {{nb}}", align="C")


def render(sheet: PrescriptionSheet, hospital: str, tz: ZoneInfo, printed_at: datetime | None = None) -> bytes:
    pdf = _Sheet(format="A4")
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"Prescription for {sheet.patient}")
    pdf.set_author(sheet.doctor)
    pdf.set_creator("HealthSync")
    pdf.footer_text = f"{hospital} · prescription of visit {sheet.visit_id}"
    pdf.alias_nb_pages()
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: float = 10, bold: bool = False, height: float = 5.5) -> None:
        pdf.set_font(FONT, "B" if bold else "", size)
        pdf.multi_cell(width, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.set_text_color(15, 118, 110)
    line(hospital, 16, bold=True, height=8)
    pdf.set_text_color(0, 0, 0)
    line("Prescription", 12, bold=True, height=7)
    pdf.ln(2)
    born = sheet.patient_birth_date.strftime("%d %B %Y") if sheet.patient_birth_date else "not recorded"
    for label, value in (
        ("Patient", sheet.patient),
        ("Date of birth", born),
        ("Prescriber", f"{sheet.doctor}" + (f", {sheet.doctor_specialty}" if sheet.doctor_specialty else "")),
        ("Date", sheet.issued.strftime("%d %B %Y")),
    ):
        pdf.set_font(FONT, "B", 10)
        pdf.cell(35, 6, label)
        pdf.set_font(FONT, "", 10)
        pdf.multi_cell(width - 35, 6, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if sheet.version > 1:
        line(f"Amended record (version {sheet.version}); this replaces earlier prints of this visit.", 9)
    pdf.ln(3)
    pdf.set_draw_color(180, 180, 180)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(3)

    for number, item in enumerate(sheet.items, start=1):
        if pdf.get_y() > pdf.h - 70:
            pdf.add_page()
        line(f"{number}. {item.drug_name}", 11, bold=True, height=6.5)
        code = ("Code", f"RxNorm {item.drug_code}" if item.drug_code else "(uncoded) not in the drug catalogue")
        for label, value in [code, *item.lines()[1:]]:
            pdf.set_font(FONT, "B", 9.5)
            pdf.cell(35, 5.5, label)
            pdf.set_font(FONT, "", 9.5)
            pdf.multi_cell(width - 35, 5.5, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(3)

    if pdf.get_y() > pdf.h - 55:
        pdf.add_page()
    pdf.set_y(max(pdf.get_y() + 10, pdf.h - 60))
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + 80, pdf.get_y())
    pdf.ln(1.5)
    line(f"Signature: {sheet.doctor}", 9.5)
    signed = sheet.signed_at.astimezone(tz).strftime("%d %B %Y, %H:%M")
    line(f"Signed electronically in HealthSync on {signed} ({tz.key}).", 8.5)
    if printed_at is not None:
        line(f"Printed {printed_at.astimezone(tz).strftime('%d %B %Y, %H:%M')}.", 8.5)
    return bytes(pdf.output())
