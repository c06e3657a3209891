"""The printed prescription: every item in full words, names in any script the server has fonts for (a
character no font has is reported, not silently left blank), the signature line."""

from __future__ import annotations

import io
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from data.prescription_pdf import FONTS, FontFile, describe, file_name, render, system_fonts
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
    printed = render(sheet(), "St. Ägidius Hospital", BERLIN)
    assert printed.unprintable == ()
    pdf = printed.pdf
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
    pdf = render(sheet(items=many, version=3), "HealthSync General Hospital", BERLIN).pdf
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 1
    text = text_of(pdf)
    assert "Amended record (version 3)" in text
    assert text.count("Kräutertee nach Großmutter") == 12
    assert f"page {len(reader.pages)} of {len(reader.pages)}" in text


def test_the_file_name_and_the_text_carry_the_visits_appointment_number_not_the_records() -> None:
    booked = sheet(visit_id=7, appointment_id=4)  # the page was /doctor/visit/4
    assert file_name(booked) == "prescription-2026-03-16-visit-4.pdf"
    text = " ".join(text_of(render(booked, "St. Ägidius Hospital", BERLIN).pdf).split())
    assert "prescription, visit of appointment 4" in text
    assert "visit 7" not in text


def test_an_imported_visit_without_appointment_is_named_by_its_own_number_as_imported() -> None:
    imported = sheet(visit_id=41, appointment_id=None)
    assert file_name(imported) == "prescription-2026-03-16-imported-visit-41.pdf"
    assert "prescription, imported visit 41" in " ".join(text_of(render(imported, "H", BERLIN).pdf).split())


CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def compact(pdf: bytes) -> str:
    """The text without spaces; pypdf reads a small subset of a CJK font as one-byte codes and puts a NUL before
    each ideograph (the PDF's two-byte codes and ToUnicode map are right: viewers copy the name as it is)."""
    return "".join(text_of(pdf).replace("\x00", "").split())


def test_names_in_latin_cyrillic_and_greek_print_with_the_bundled_font_alone() -> None:
    name = "Łukasz Ørsted-Çelik Ольга Петрова Νίκος Παπαδόπουλος"
    drug = "Парацетамол 500 мг"
    printed = render(sheet(patient=name, items=(replace(ITEMS[0], drug_name=drug),)), "Hôpital", BERLIN, fallbacks=())
    assert printed.unprintable == ()
    text = " ".join(text_of(printed.pdf).split())
    assert name in text and drug in text


def test_arabic_and_hebrew_names_are_shaped_and_read_in_their_order() -> None:
    name = "محمد عبد الله / דוד כהן"
    printed = render(sheet(patient=name), "HealthSync", BERLIN, fallbacks=())
    assert printed.unprintable == ()
    assert name in " ".join(text_of(printed.pdf).split())  # unshaped, both would come out reversed


def test_a_character_no_font_has_is_reported_and_the_rest_still_prints() -> None:
    printed = render(sheet(patient="Anna\ue000 Berg", doctor="Dr. Kim \ue000"), "HealthSync", BERLIN)
    assert printed.unprintable == ("\ue000",)
    assert describe(printed.unprintable) == "\ue000 (U+E000)"
    text = text_of(printed.pdf)
    assert "Anna\ufffd Berg" in text  # a visible mark, not a silent gap
    assert "Amoxicillin 250 MG Oral Capsule" in text


def test_without_a_font_for_chinese_the_name_is_reported_not_printed_blank() -> None:
    printed = render(sheet(patient="王小明"), "HealthSync", BERLIN, fallbacks=())
    assert printed.unprintable == tuple(sorted("王小明"))
    assert "王 (U+738B CJK UNIFIED IDEOGRAPH-738B)" in describe(printed.unprintable)
    assert "\ufffd\ufffd\ufffd" in compact(printed.pdf)


@pytest.mark.skipif(not CJK.is_file(), reason="needs Debian's fonts-noto-cjk")
def test_a_chinese_name_prints_with_the_servers_noto_cjk_font() -> None:
    drug = "阿莫西林胶囊"
    printed = render(sheet(patient="王小明", items=(replace(ITEMS[0], drug_name=drug),)), "HealthSync", BERLIN)
    assert printed.unprintable == ()
    text = compact(printed.pdf)
    assert "王小明" in text and drug in text


def test_the_servers_fallback_fonts_are_found_at_the_debian_paths(tmp_path: Path) -> None:
    core, cjk, free = tmp_path / "noto", tmp_path / "noto-cjk", tmp_path / "freefont"
    for folder in (core, cjk, free):
        folder.mkdir()
    font = FONTS / "DejaVuSans.ttf"
    for name in ("NotoSansDevanagari-Regular.ttf", "NotoSansDevanagari-Bold.ttf", "NotoSansThai-Regular.ttf"):
        shutil.copy(font, core / name)
    shutil.copy(font, core / "NotoSansMono-Regular.ttf")  # not a face for names
    shutil.copy(font, cjk / "NotoSansCJK-Regular.ttc")
    shutil.copy(font, free / "FreeSerif.ttf")
    found = system_fonts(core, cjk, free)
    assert found == (
        FontFile(core / "NotoSansDevanagari-Regular.ttf", core / "NotoSansDevanagari-Bold.ttf"),
        FontFile(core / "NotoSansThai-Regular.ttf"),
        FontFile(cjk / "NotoSansCJK-Regular.ttc", None, 2),
        FontFile(free / "FreeSerif.ttf"),
    )
    assert system_fonts(tmp_path / "none", tmp_path / "none", tmp_path / "none") == ()
