"""Workshop pages and sessions; ticket types, orders and tickets."""

from .pages import (
    DEFAULT_TIME_ZONE,
    ScheduleIndexPage,
    SessionStatus,
    WorkshopPage,
    WorkshopSession,
    available_time_zones,
    new_calendar_uid,
    validate_time_zone,
)
from .tickets import (
    Order,
    OrderStatus,
    PaymentMethod,
    Refund,
    RefundStatus,
    StripeEvent,
    Ticket,
    TicketStatus,
    TicketType,
    seat_holding_q,
)

__all__ = [
    "DEFAULT_TIME_ZONE",
    "Order",
    "OrderStatus",
    "PaymentMethod",
    "Refund",
    "RefundStatus",
    "ScheduleIndexPage",
    "SessionStatus",
    "StripeEvent",
    "Ticket",
    "TicketStatus",
    "TicketType",
    "WorkshopPage",
    "WorkshopSession",
    "available_time_zones",
    "new_calendar_uid",
    "seat_holding_q",
    "validate_time_zone",
]
