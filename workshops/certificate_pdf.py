"""A certificate as a PDF: plain data in, bytes out.

fpdf2 writes the PDF in pure Python; it embeds (a subset of) DejaVu Sans, shipped
in `fonts/` with its licence, because PDF's built-in fonts cannot print "Zoë
Nguyễn" or "Łukasz". segno draws the QR code of the verification address as a
PNG without needing Pillow.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import segno

if TYPE_CHECKING:
    from fpdf import FPDF

FONTS = Path(__file__).resolve().parent / "fonts"
FAMILY = "DejaVuSans"
INK = (33, 37, 41)
MUTED = (90, 96, 104)
ACCENT = (14, 91, 115)
# fontTools reports each table it prunes while subsetting the font, at INFO.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)


@dataclass(frozen=True)
class CertificateContent:
    """Everything a certificate prints, already worded."""

    heading: str
    attendee_name: str
    wording: str
    workshop_title: str
    date_label: str
    hours: str
    organisation_name: str
    code: str
    verification_url: str
    signatory_name: str = ""
    signatory_title: str = ""
    # PNG or JPEG bytes of the organisation's logo, if it has one.
    logo: bytes | None = None


def certificate_pdf(content: CertificateContent) -> bytes:
    """The certificate on one landscape A4 page."""
    # fpdf2 takes about a second to import (fontTools comes with it): loaded when
    # a certificate is drawn, not by every process that starts the site.
    from fpdf import FPDF

    pdf = FPDF(orientation="landscape", unit="mm", format="A4")
    pdf.set_title(f"{content.heading}: {content.attendee_name}")
    pdf.set_author(content.organisation_name)
    pdf.set_creator(content.organisation_name)
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(25, 20, 25)
    pdf.add_page()
    _frame(pdf)
    _header(pdf, content)
    _body(pdf, content)
    _footer(pdf, content)
    return bytes(pdf.output())


def _frame(pdf: FPDF) -> None:
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(1.2)
    pdf.rect(10, 10, pdf.w - 20, pdf.h - 20)
    pdf.set_line_width(0.3)
    pdf.rect(13, 13, pdf.w - 26, pdf.h - 26)


def _header(pdf: FPDF, content: CertificateContent) -> None:
    pdf.set_y(22)
    if content.logo:
        pdf.image(io.BytesIO(content.logo), h=16, x="C")
        pdf.ln(3)
    _line(pdf, content.organisation_name, size=14, style="B", color=MUTED)
    pdf.ln(4)
    _line(pdf, content.heading, size=30, style="B", color=ACCENT, height=14)
    pdf.ln(6)


def _body(pdf: FPDF, content: CertificateContent) -> None:
    _line(pdf, "This certifies that", size=13, color=MUTED)
    pdf.ln(2)
    _line(pdf, content.attendee_name, size=28, style="B", height=14)
    pdf.ln(2)
    _line(pdf, content.wording, size=13, color=MUTED)
    pdf.ln(2)
    _line(pdf, content.workshop_title, size=20, style="B", height=11)
    pdf.ln(3)
    _line(pdf, f"{content.date_label} · {content.hours} hours", size=13)


def _footer(pdf: FPDF, content: CertificateContent) -> None:
    qr_size, bottom = 32, pdf.h - 22
    top = bottom - qr_size
    pdf.image(_qr_png(content.verification_url), x=25, y=top, w=qr_size)
    pdf.set_xy(25 + qr_size + 5, top + 4)
    pdf.set_font(FAMILY, "", 10)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 6, "Verify this certificate at", new_x="LEFT", new_y="NEXT")
    pdf.set_text_color(*ACCENT)
    pdf.cell(
        0,
        6,
        content.verification_url,
        link=content.verification_url,
        new_x="LEFT",
        new_y="NEXT",
    )
    pdf.set_text_color(*INK)
    pdf.set_font(FAMILY, "B", 11)
    pdf.cell(0, 7, f"Code {content.code}")
    if content.signatory_name:
        _signature(pdf, content, top=top)


def _signature(pdf: FPDF, content: CertificateContent, *, top: float) -> None:
    width, left = 80, pdf.w - 25 - 80
    pdf.set_draw_color(*INK)
    pdf.line(left, top + 14, left + width, top + 14)
    pdf.set_xy(left, top + 16)
    pdf.set_font(FAMILY, "B", 11)
    pdf.set_text_color(*INK)
    pdf.cell(width, 6, content.signatory_name, align="C", new_x="LEFT", new_y="NEXT")
    if content.signatory_title:
        pdf.set_font(FAMILY, "", 10)
        pdf.set_text_color(*MUTED)
        pdf.cell(width, 6, content.signatory_title, align="C")


def _line(
    pdf: FPDF,
    text: str,
    *,
    size: int,
    style: str = "",
    color: tuple[int, int, int] = INK,
    height: float = 8,
) -> None:
    """One centred line; a long one wraps rather than runs off the page."""
    pdf.set_font(FAMILY, style, size)
    pdf.set_text_color(*color)
    pdf.set_x(pdf.l_margin)
    pdf.multi_cell(0, height, text, align="C", new_x="LMARGIN", new_y="NEXT")


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=0)
    buffer.seek(0)
    return buffer
