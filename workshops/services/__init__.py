"""Business actions on orders and tickets: validate, lock, write, log, notify.

Seats are the scarce thing. Every action that takes seats locks the session row
(SELECT ... FOR UPDATE, with a short lock_timeout on PostgreSQL; on SQLite the
IMMEDIATE transaction already serialises writers) just before counting them, so
concurrent buyers can never exceed a session's capacity. Freeing seats needs no
session lock. Orders are changed under their own row lock, so the webhook and
the success page, whichever comes first, fulfil an order exactly once.

By subject: `seats` (the session lock and the count), `orders` (checkout,
payment and settling with Stripe), `stripe_events` (the webhook), `tickets`
(cancel, move, hand on), `refunds` (each seat's share, late payments),
`emails` (what buyers and attendees are sent), `invoices` (group orders by
invoice or offline payment), `codes` (seat codes: issued, redeemed, changed by
staff), `attendance` (who came) and
`certificates` (requested, issued, emailed by a task, revoked). Refunds are
recorded under the change's locks and sent to Stripe after the commit by a task.
"""

from ..selectors import ticket_other_dates
from .attendance import AttendanceError, AttendanceResult, session_attendance_record
from .certificates import (
    CertificateError,
    certificate_approve,
    certificate_content,
    certificate_filename,
    certificate_refusal,
    certificate_request,
    certificate_revoke,
    certificate_send,
    certificate_url,
    session_certificates_issue,
)
from .codes import (
    CodeError,
    CodeGuesses,
    CodeRefused,
    seat_code_add_seats,
    seat_code_extend,
    seat_code_find,
    seat_code_issue,
    seat_code_redeem,
    seat_code_redemptions,
    seat_code_share,
    seat_code_url,
    seat_code_void,
)
from .emails import absolute, order_url, ticket_url
from .invoices import (
    InvoiceError,
    invoice_request_create,
    invoice_request_issue,
    invoice_request_mark_paid_demo,
    invoice_request_paid,
    invoice_request_record_payment,
    invoice_request_refresh,
    invoice_sync,
)
from .notices import (
    NoticeError,
    notices_reconcile,
    session_calendar_baseline,
    session_notice_resend,
    session_notices_resend_failed,
    session_notices_send,
    session_reschedule,
    ticket_calendar_invite,
    ticket_moved_notify,
    workshop_page_published,
)
from .orders import (
    MAX_UNPAID_ORDERS,
    Attendee,
    order_abandon,
    order_create,
    order_fulfil,
    order_mark_processing,
    order_rebook,
    order_release,
    order_start_payment,
    order_sync,
    orders_reconcile,
)
from .refunds import (
    CENT,
    refund_request,
    refund_send,
    refunds_retry,
    ticket_price,
)
from .seats import (
    CheckoutError,
    SessionBusy,
    lock_session,
    seats_taken,
)
from .stripe_events import (
    HANDLED_EVENTS,
    StripeEventDeferred,
    stripe_event_first_time,
    stripe_event_handle,
    stripe_invoice_event_handle,
)
from .tickets import (
    MoveQuote,
    PriceDifference,
    TicketError,
    ticket_cancel,
    ticket_change_date,
    ticket_move,
    ticket_move_quote,
    ticket_update_attendee,
)
from .waitlist import (
    WaitlistError,
    session_waitlist_offer,
    waitlist_join,
    waitlist_leave,
    waitlist_offer_claim,
    waitlist_url,
    waitlists_reconcile,
)

__all__ = [
    "CodeError",
    "CodeGuesses",
    "CodeRefused",
    "InvoiceError",
    "invoice_request_create",
    "invoice_request_issue",
    "invoice_request_mark_paid_demo",
    "invoice_request_paid",
    "invoice_request_record_payment",
    "invoice_request_refresh",
    "invoice_sync",
    "seat_code_add_seats",
    "seat_code_extend",
    "seat_code_find",
    "seat_code_issue",
    "seat_code_redeem",
    "seat_code_redemptions",
    "seat_code_share",
    "seat_code_url",
    "seat_code_void",
    "stripe_invoice_event_handle",
    "AttendanceError",
    "AttendanceResult",
    "CertificateError",
    "certificate_approve",
    "certificate_content",
    "certificate_filename",
    "certificate_refusal",
    "certificate_request",
    "certificate_revoke",
    "certificate_send",
    "certificate_url",
    "session_attendance_record",
    "session_certificates_issue",
    "CENT",
    "HANDLED_EVENTS",
    "MAX_UNPAID_ORDERS",
    "Attendee",
    "MoveQuote",
    "CheckoutError",
    "PriceDifference",
    "SessionBusy",
    "StripeEventDeferred",
    "TicketError",
    "absolute",
    "lock_session",
    "order_abandon",
    "order_create",
    "order_fulfil",
    "order_mark_processing",
    "order_rebook",
    "order_release",
    "order_start_payment",
    "order_sync",
    "order_url",
    "orders_reconcile",
    "refund_request",
    "refund_send",
    "refunds_retry",
    "seats_taken",
    "stripe_event_first_time",
    "stripe_event_handle",
    "ticket_cancel",
    "ticket_change_date",
    "ticket_move",
    "ticket_move_quote",
    "ticket_other_dates",
    "ticket_price",
    "ticket_update_attendee",
    "ticket_url",
    "NoticeError",
    "notices_reconcile",
    "ticket_calendar_invite",
    "waitlists_reconcile",
    "session_calendar_baseline",
    "session_notice_resend",
    "session_notices_resend_failed",
    "session_notices_send",
    "session_reschedule",
    "ticket_moved_notify",
    "workshop_page_published",
    "WaitlistError",
    "session_waitlist_offer",
    "waitlist_join",
    "waitlist_leave",
    "waitlist_offer_claim",
    "waitlist_url",
]
