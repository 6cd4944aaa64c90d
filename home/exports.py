"""Exports staff open in spreadsheets."""

from wagtail.admin.views.generic import IndexView


def spreadsheet_safe(value) -> str:
    """Text a spreadsheet will show, not run: names come from public forms."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_safe(*fields: str) -> dict:
    """`custom_field_preprocess` for an IndexView: these fields, formula-safe in CSV.

    Wagtail's XLSX export writes cells as strings already; CSV has no such type.
    """
    return {field: {IndexView.FORMAT_CSV: spreadsheet_safe} for field in fields}
