"""Reads for the admin: what open group-training requests ask for."""

from collections import Counter
from dataclasses import dataclass
from datetime import date

from .models import OPEN_STATUSES, GroupTrainingRequest
from .months import coming_months, month_key, month_label


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    percent: int  # of the longest bar in its chart


@dataclass(frozen=True)
class Demand:
    """Across open requests: how many ask for each coming month and each zone."""

    open_requests: int
    months: list[Bar]
    time_zones: list[Bar]


def _bars(counts: list[tuple[str, int]]) -> list[Bar]:
    peak = max((count for _, count in counts), default=0) or 1
    return [Bar(label, count, round(count * 100 / peak)) for label, count in counts]


def open_request_demand(*, today: date, top_zones: int = 10) -> Demand:
    """Months from `today`'s on, in calendar order, and the most asked-for zones.

    Counted in Python: JSON lists are counted differently by each database, and
    open requests are few (tens, not thousands).
    """
    month_counts: Counter[str] = Counter()
    zone_counts: Counter[str] = Counter()
    rows = GroupTrainingRequest.objects.filter(status__in=OPEN_STATUSES).values_list(
        "months", "time_zones"
    )
    total = 0
    for months, zones in rows:
        total += 1
        month_counts.update(set(months))
        zone_counts.update(set(zones))
    months = [
        (month_label(key), month_counts[key])
        for key in map(month_key, coming_months(today=today))
    ]
    zones = sorted(zone_counts.items(), key=lambda item: (-item[1], item[0]))
    return Demand(
        open_requests=total,
        months=_bars(months),
        time_zones=_bars(zones[:top_zones]),
    )
