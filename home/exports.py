"""Exports staff open in spreadsheets."""

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from wagtail.admin.views.generic import IndexView


def spreadsheet_safe(value) -> str:
    """Text a spreadsheet will show, not run: names come from public forms."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def xlsx_safe(value) -> str:
    """Text an XLSX cell can hold: openpyxl refuses most control characters.

    Forms keep them out of names, but the admin's edit forms do not, and one
    such name must not make the whole export fail.
    """
    return ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value))


def export_safe(*fields: str) -> dict:
    """`custom_field_preprocess` for an IndexView: these fields safe to open.

    CSV has no notion of a text cell, so a name like "=HYPERLINK(...)" is quoted;
    Wagtail's XLSX export stores such a value as a string cell already.
    """
    return {
        field: {
            IndexView.FORMAT_CSV: spreadsheet_safe,
            IndexView.FORMAT_XLSX: xlsx_safe,
        }
        for field in fields
    }
