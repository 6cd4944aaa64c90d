"""The months a visitor may ask for: this one and the next eleven."""

from datetime import date

MONTHS_AHEAD = 12


def month_key(month: date) -> str:
    """The stored spelling of a month: "2026-03"."""
    return f"{month.year:04d}-{month.month:02d}"


def month_from_key(key: str) -> date:
    year, month = key.split("-")
    return date(int(year), int(month), 1)


def month_label(key: str) -> str:
    return month_from_key(key).strftime("%B %Y")


def coming_months(*, today: date, count: int = MONTHS_AHEAD) -> list[date]:
    """The first day of `count` months from `today`'s month on."""
    months = []
    year, month = today.year, today.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
