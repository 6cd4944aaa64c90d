"""Workshop pages and sessions; ticket types, orders and tickets; certificates."""

from .certificates import (
    Certificate,
    CertificateSettings,
    CertificateStatus,
    format_code,
    new_certificate_code,
    normalise_code,
)
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
    "Certificate",
    "CertificateSettings",
    "CertificateStatus",
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
    "format_code",
    "new_calendar_uid",
    "new_certificate_code",
    "normalise_code",
    "seat_holding_q",
    "validate_time_zone",
]
