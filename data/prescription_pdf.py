"""The printable prescription (A4 PDF, fpdf2).

DejaVu Sans (data/fonts, with its license) prints Latin, Greek, Cyrillic, Arabic, Hebrew, Armenian and
Georgian names: "José Müller", "Zoë", "Łukasz", "Ольга", "Νίκος". Text is shaped with HarfBuzz (uharfbuzz),
so Arabic letters join and right-to-left names read the right way round. Other scripts (Chinese, Japanese,
Korean, Devanagari, Bengali, Thai, ...) print with fonts of the server found at the usual Debian paths
(fonts-noto-cjk, fonts-noto-core, fonts-freefont-ttf), used as fallbacks only where DejaVu has no glyph. A
character no font here can draw is printed as "�" and reported in `Printed.unprintable`, so the page can say so
instead of handing out a prescription with a silent gap."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from domain.clinical import PrescriptionSheet

FONTS = Path(__file__).resolve().parent / "fonts"
FONT = "DejaVu"
#: printed where a character cannot be drawn (DejaVu has it)
REPLACEMENT = "\ufffd"

#: where Debian puts the fonts worth falling back to, most specific first
NOTO_CORE = Path("/usr/share/fonts/truetype/noto")
NOTO_CJK = Path("/usr/share/fonts/opentype/noto")
FREEFONT = Path("/usr/share/fonts/truetype/freefont")
#: face of the CJK collections: Simplified Chinese (the faces are ordered JP, KR, SC, TC, HK; each covers all
#: the ideographs and kana/hangul, they differ in regional glyph shapes)
CJK_FACE = 2

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FontFile:
    """A font on disk (`index`: the face of a .ttc collection) and its bold companion, if any."""

    regular: Path
    bold: Path | None = None
    index: int = 0


@dataclass(frozen=True)
class Printed:
    """A rendered prescription. `unprintable`: characters of the sheet no font on this server has, each printed
    as "�" (empty when everything printed)."""

    pdf: bytes
    unprintable: tuple[str, ...] = ()


def file_name(sheet: PrescriptionSheet) -> str:
    return f"prescription-{sheet.issued.isoformat()}-{sheet.visit_slug}.pdf"


def describe(chars: Iterable[str]) -> str:
    """Characters for a message: each with its code point and Unicode name ("丽 (U+4E3D CJK UNIFIED
    IDEOGRAPH-4E3D)"), since the reader's screen may lack the font as well."""
    return ", ".join(
        f"{ch} (U+{ord(ch):04X}{' ' + unicodedata.name(ch) if unicodedata.name(ch, '') else ''})" for ch in chars
    )


# ---- fonts ------------------------------------------------------------------------------------------------------


def bundled_fonts() -> tuple[FontFile, ...]:
    return (FontFile(FONTS / "DejaVuSans.ttf", FONTS / "DejaVuSans-Bold.ttf"),)


def system_fonts(
    noto_core: Path = NOTO_CORE, noto_cjk: Path = NOTO_CJK, freefont: Path = FREEFONT
) -> tuple[FontFile, ...]:
    """The fallback fonts installed on this server, in the order they are tried."""
    found: list[FontFile] = []
    if noto_core.is_dir():  # one file per script: NotoSansDevanagari-Regular.ttf, ...
        for regular in sorted(noto_core.glob("NotoSans*-Regular.ttf")):
            if any(word in regular.name for word in ("Mono", "Display", "UI-")):
                continue
            bold = regular.with_name(regular.name.replace("-Regular", "-Bold"))
            found.append(FontFile(regular, bold if bold.is_file() else None))
    for family in ("NotoSansCJK", "NotoSerifCJK"):
        regular = noto_cjk / f"{family}-Regular.ttc"
        if regular.is_file():
            bold = noto_cjk / f"{family}-Bold.ttc"
            found.append(FontFile(regular, bold if bold.is_file() else None, CJK_FACE))
    for family in ("FreeSans", "FreeSerif"):
        regular = freefont / f"{family}.ttf"
        if regular.is_file():
            bold = freefont / f"{family}Bold.ttf"
            found.append(FontFile(regular, bold if bold.is_file() else None))
    return tuple(found)


@lru_cache(maxsize=512)
def _cmap(path: Path, index: int, mtime: float) -> frozenset[int]:
    """The code points a font has glyphs for (cached per file version: reading a CJK collection takes a while)."""
    try:
        with TTFont(str(path), fontNumber=index, lazy=True) as font:
            return frozenset(font.getBestCmap() or {})
    except Exception:  # a broken or unreadable font file is no fallback
        log.warning("Font %s (face %d) cannot be read; not used for printing.", path, index, exc_info=True)
        return frozenset()


def coverage(font: FontFile) -> frozenset[int]:
    try:
        mtime = font.regular.stat().st_mtime
    except OSError:
        return frozenset()
    return _cmap(font.regular, font.index, mtime)


def _needs_glyph(ch: str) -> bool:
    """Spaces, line breaks and invisible format characters (zero-width joiners, ...) need no glyph of their own."""
    return not ch.isspace() and unicodedata.category(ch) not in ("Cc", "Cf")


def choose_fonts(text: str, fallbacks: Iterable[FontFile] | None = None) -> tuple[list[FontFile], frozenset[str]]:
    """The fallback fonts that draw what DejaVu cannot (in order, only those needed), and the characters no
    font can draw."""
    missing = {ch for ch in set(text) if _needs_glyph(ch)}
    for font in bundled_fonts():
        missing = {ch for ch in missing if ord(ch) not in coverage(font)}
    chosen: list[FontFile] = []
    for font in system_fonts() if fallbacks is None else fallbacks:
        if not missing:
            break
        cmap = coverage(font)
        if any(ord(ch) in cmap for ch in missing):
            chosen.append(font)
            missing = {ch for ch in missing if ord(ch) not in cmap}
    return chosen, frozenset(missing)


# ---- the sheet --------------------------------------------------------------------------------------------------


class _Sheet(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"{self.footer_text} · page {self.page_no()} of {{nb}}", align="C")


def _texts(sheet: PrescriptionSheet, hospital: str) -> Iterator[str]:
    """Every piece of user-supplied text the sheet prints (the rest is fixed English words)."""
    yield from (hospital, sheet.patient, sheet.doctor, sheet.doctor_specialty)
    for item in sheet.items:
        yield item.drug_name
        for _, value in item.lines():
            yield value


def _bold_texts(sheet: PrescriptionSheet, hospital: str) -> Iterator[str]:
    """What of it prints in bold: a fallback's bold face is loaded only when needed (a CJK face takes 0.2 s)."""
    yield hospital
    yield from (item.drug_name for item in sheet.items)


def render(
    sheet: PrescriptionSheet,
    hospital: str,
    tz: ZoneInfo,
    printed_at: datetime | None = None,
    fallbacks: Iterable[FontFile] | None = None,
) -> Printed:
    """`fallbacks`: fonts to try after DejaVu (default: those of the server, `system_fonts()`)."""
    chosen, unprintable = choose_fonts("".join(_texts(sheet, hospital)), fallbacks)

    def clean(text: str) -> str:
        return "".join(REPLACEMENT if ch in unprintable else ch for ch in text) if unprintable else text

    pdf = _Sheet(format="A4")
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    families = [FONT]
    bundled = frozenset().union(*(coverage(font) for font in bundled_fonts()))
    bold_text = {ord(ch) for ch in "".join(_bold_texts(sheet, hospital)) if _needs_glyph(ch)} - bundled
    for number, font in enumerate(chosen, start=1):
        family = f"Fallback{number}"
        pdf.add_font(family, "", str(font.regular), collection_font_number=font.index)
        if font.bold is not None and not bold_text.isdisjoint(coverage(font)):
            pdf.add_font(family, "B", str(font.bold), collection_font_number=font.index)
        families.append(family)
    # a glyph DejaVu Bold lacks is taken from DejaVu Book, then from the fallbacks, bold or not
    pdf.set_fallback_fonts(families, exact_match=False)
    pdf.set_text_shaping(True)
    pdf.set_title(f"Prescription for {sheet.patient}")
    pdf.set_author(sheet.doctor)
    pdf.set_creator("HealthSync")
    pdf.footer_text = f"{clean(hospital)} · prescription, {sheet.visit_words}"
    pdf.alias_nb_pages()
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: float = 10, bold: bool = False, height: float = 5.5) -> None:
        pdf.set_font(FONT, "B" if bold else "", size)
        pdf.multi_cell(width, height, clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def labelled(label: str, value: str, size: float, height: float) -> None:
        pdf.set_font(FONT, "B", size)
        pdf.cell(35, height, label)
        pdf.set_font(FONT, "", size)
        pdf.multi_cell(width - 35, height, clean(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

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
        labelled(label, value, 10, 6)
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
            labelled(label, value, 9.5, 5.5)
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
    data = bytes(pdf.output())
    # what fpdf2 itself found no glyph for (a font whose cmap promises more than it draws)
    drawn_blank = {chr(code) for font in pdf.fonts.values() for code in getattr(font, "missing_glyphs", ())}
    late = {ch for ch in drawn_blank if _needs_glyph(ch)} - set(unprintable)
    return Printed(data, tuple(sorted(unprintable | late)))
