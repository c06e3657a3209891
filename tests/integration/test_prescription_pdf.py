"""The printed prescription: every item in full words, names with accents, the signature line."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from pypdf import PdfReader

from data.prescription_pdf import file_name, render
from domain.clinical import PrescriptionItem, PrescriptionSheet
from tests.fakes import BERLIN

ITEMS = (
    PrescriptionItem(
        drug_name="Amoxicillin 250 MG Oral Capsule",
        drug_code="308182",
        dose=500,
        dose_unit="mg",
        route="oral",
        frequency="3/d",
        duration_days=7,
        quantity=21,
        quantity_unit="capsule(s)",
        refills=0,
        instructions="Take with food; finish the course.",
    ),
    PrescriptionItem(
        drug_name="Kräutertee nach Großmutter",
        drug_code="",
        dose=1.5,
        dose_unit="mL",
        route="oral",
        frequency="1/8h",
        duration_days=1,
        quantity=2,
        quantity_unit="bottle(s)",
        refills=3,
        as_needed=True,
        as_needed_reason="cough at night",
    ),
)


def sheet(**changes: object) -> PrescriptionSheet:
    values: dict[str, object] = {
        "visit_id": 41,
        "doctor": "Dr. Lucía Fernández",
        "doctor_specialty": "Pediatrics",
        "patient": "José Müller-Zoë",
        "patient_birth_date": date(1984, 5, 17),
        "issued": date(2026, 3, 16),
        "items": ITEMS,
        "version": 1,
        "signed_at": datetime(2026, 3, 16, 8, 30, tzinfo=UTC),
    }
    values.update(changes)
    return PrescriptionSheet(**values)  # type: ignore[arg-type]


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_every_item_prints_in_full_words_with_patient_doctor_and_signature() -> None:
    pdf = render(sheet(), "St. Ägidius Hospital", BERLIN)
    assert pdf.startswith(b"%PDF")
    text = " ".join(text_of(pdf).split())
    for expected in (
        "St. Ägidius Hospital",
        "José Müller-Zoë",
        "17 May 1984",
        "Dr. Lucía Fernández, Pediatrics",
        "16 March 2026",
        "Amoxicillin 250 MG Oral Capsule",
        "RxNorm 308182",
        "500 mg",
        "three times a day",
        "7 days",
        "21 capsule(s)",
        "Refills none",
        "Take with food; finish the course.",
        "Kräutertee nach Großmutter",
        "(uncoded)",
        "1.5 mL",
        "every 8 hours",
        "1 day",
        "only when needed: cough at night",
        "Signature: Dr. Lucía Fernández",
        "Signed electronically in HealthSync on 16 March 2026, 09:30",
    ):
        assert expected in text, expected


def test_an_amended_print_says_so_and_many_items_flow_onto_more_pages() -> None:
    many = ITEMS * 12
    pdf = render(sheet(items=many, version=3), "HealthSync General Hospital", BERLIN)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 1
    text = text_of(pdf)
    assert "Amended record (version 3)" in text
    assert text.count("Kräutertee nach Großmutter") == 12
    assert f"page {len(reader.pages)} of {len(reader.pages)}" in text


def test_the_file_name_carries_the_date_and_the_visit() -> None:
    assert file_name(sheet()) == "prescription-2026-03-16-visit-41.pdf"
