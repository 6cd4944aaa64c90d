from .calendar import calendar_feed, session_calendar
from .checkout import (
    book,
    order_cancelled,
    order_demo_pay,
    order_detail,
    stripe_webhook,
)
from .tickets import ticket_calendar, ticket_detail

__all__ = [
    "book",
    "calendar_feed",
    "order_cancelled",
    "order_demo_pay",
    "order_detail",
    "session_calendar",
    "stripe_webhook",
    "ticket_calendar",
    "ticket_detail",
]
