from .calendar import calendar_feed, session_calendar
from .certificates import certificate_lookup, certificate_verify
from .checkout import (
    book,
    order_cancelled,
    order_demo_pay,
    order_detail,
    stripe_webhook,
)
from .codes import seat_code_detail
from .tickets import (
    ticket_calendar,
    ticket_certificate_pdf,
    ticket_certificate_request,
    ticket_change_date,
    ticket_detail,
)

__all__ = [
    "book",
    "calendar_feed",
    "certificate_lookup",
    "certificate_verify",
    "order_cancelled",
    "order_demo_pay",
    "order_detail",
    "seat_code_detail",
    "session_calendar",
    "stripe_webhook",
    "ticket_calendar",
    "ticket_certificate_pdf",
    "ticket_certificate_request",
    "ticket_change_date",
    "ticket_detail",
]
