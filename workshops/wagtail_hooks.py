"""What the workshops app adds to the Wagtail admin; each part lives in its module."""

from datetime import timedelta

from django.shortcuts import redirect
from django.urls import path
from django.utils import timezone
from wagtail import hooks
from wagtail.admin import messages
from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet

from .admin_certificates import (
    ApproveCertificateView,
    CertificatePdfView,
    RevokeCertificateView,
    SessionAttendanceView,
    SessionCertificatesIssueView,
)
from .admin_group_orders import (
    AddSeatsView,
    DemoPaidView,
    ExtendCodeView,
    IssueInvoiceView,
    RecordPaymentView,
    RefreshInvoiceView,
    VoidCodeView,
)
from .admin_notices import NoticesViewSetGroup, ResendNoticeView
from .admin_views import CancelTicketView, MoveTicketView
from .models import (
    Certificate,
    InvoiceRequest,
    Order,
    SeatCode,
    SessionNotice,
    Ticket,
    WaitlistEntry,
)
from .panels import EndedSessionsPanel, SeatsPanel
from .permissions import SalesRecordPolicy
from .selectors import has_sold_tickets, recently_ended_sessions
from .viewsets import SalesViewSetGroup, TicketTypeViewSet

LOG_ACTIONS = {
    "workshops.order.created": "Order created, seats held",
    "workshops.order.paid": "Order paid",
    "workshops.order.processing": "Payment processing",
    "workshops.order.checkout_planned": "Stripe Checkout asked for, its end set",
    "workshops.order.released": "Seats released",
    "workshops.order.refunded_no_seats": "Refunded: paid after the seats had gone",
    "workshops.ticket.cancelled": "Ticket cancelled",
    "workshops.ticket.moved": "Attendee moved to another session",
    "workshops.ticket.attendee_changed": "Attendee details changed",
    "workshops.refund.succeeded": "Refund sent to Stripe",
    "workshops.refund.failed": "Refund refused by Stripe",
    "workshops.ticket.attendance": "Attendance recorded",
    "workshops.certificate.requested": "Certificate requested",
    "workshops.certificate.issued": "Certificate issued",
    "workshops.certificate.emailed": "Certificate emailed",
    "workshops.certificate.revoked": "Certificate revoked",
    "workshops.session.changed": "Session moved or cancelled: holders told",
    "workshops.notice.resent": "Date-change notice resent",
    "workshops.waitlist.joined": "Joined a waiting list",
    "workshops.waitlist.offered": "Offered a freed seat",
    "workshops.waitlist.claimed": "Took the offered seat",
    "workshops.waitlist.lapsed": "Offer lapsed",
    "workshops.waitlist.left": "Left the waiting list",
    "workshops.invoicerequest.received": "Invoice requested",
    "workshops.invoicerequest.invoiced": "Stripe invoice sent",
    "workshops.invoicerequest.paid": "Payment recorded",
    "workshops.invoicerequest.stripe_status": "Stripe invoice status changed",
    "workshops.seatcode.issued": "Seat code issued",
    "workshops.seatcode.redeemed": "Seats redeemed",
    "workshops.seatcode.extended": "Expiry extended",
    "workshops.seatcode.seats_added": "Seats added",
    "workshops.seatcode.voided": "Seat code voided",
    "workshops.seatcode.shared": "Code sent to a colleague by the buyer",
}

register_permission_policy(Order, SalesRecordPolicy(Order))
register_permission_policy(Ticket, SalesRecordPolicy(Ticket))
register_permission_policy(Certificate, SalesRecordPolicy(Certificate))
register_permission_policy(SessionNotice, SalesRecordPolicy(SessionNotice))
register_permission_policy(WaitlistEntry, SalesRecordPolicy(WaitlistEntry))
register_permission_policy(InvoiceRequest, SalesRecordPolicy(InvoiceRequest))
register_permission_policy(SeatCode, SalesRecordPolicy(SeatCode))
register_snippet(TicketTypeViewSet)


@hooks.register("before_delete_page")
def keep_pages_with_sold_sessions(request, page):
    """A page whose sessions sold tickets stays: its buyers' records need it."""
    if has_sold_tickets(page):
        messages.error(
            request,
            f"“{page.title}” has sessions with tickets, so it cannot be deleted. "
            "Cancel the sessions, or unpublish the page instead.",
        )
        return redirect("wagtailadmin_pages:edit", page.pk)
    return None


@hooks.register("register_log_actions")
def register_log_actions(actions):
    for action, label in LOG_ACTIONS.items():
        actions.register_action(action, label, label)


@hooks.register("register_admin_viewset")
def register_sales_viewsets():
    return SalesViewSetGroup()


@hooks.register("register_admin_viewset")
def register_notice_viewsets():
    return NoticesViewSetGroup()


@hooks.register("register_admin_urls")
def register_ticket_action_urls():
    return [
        path(
            "workshops/notices/<int:pk>/resend/",
            ResendNoticeView.as_view(),
            name="workshops_notice_resend",
        ),
        path(
            "workshops/tickets/<int:pk>/cancel/",
            CancelTicketView.as_view(),
            name="workshops_ticket_cancel",
        ),
        path(
            "workshops/tickets/<int:pk>/move/",
            MoveTicketView.as_view(),
            name="workshops_ticket_move",
        ),
        path(
            "workshops/sessions/<int:pk>/attendance/",
            SessionAttendanceView.as_view(),
            name="workshops_session_attendance",
        ),
        path(
            "workshops/sessions/<int:pk>/certificates/",
            SessionCertificatesIssueView.as_view(),
            name="workshops_session_certificates",
        ),
        path(
            "workshops/certificates/<int:pk>/approve/",
            ApproveCertificateView.as_view(),
            name="workshops_certificate_approve",
        ),
        path(
            "workshops/certificates/<int:pk>/revoke/",
            RevokeCertificateView.as_view(),
            name="workshops_certificate_revoke",
        ),
        path(
            "workshops/certificates/<int:pk>/pdf/",
            CertificatePdfView.as_view(),
            name="workshops_certificate_pdf",
        ),
        *group_order_urls(),
    ]


def group_order_urls():
    """Staff actions on invoice requests and seat codes (admin_group_orders)."""
    return [
        path(f"workshops/{prefix}/<int:pk>/{action}/", view.as_view(), name=name)
        for prefix, action, view, name in (
            (
                "invoice-requests",
                "issue",
                IssueInvoiceView,
                "workshops_invoice_request_issue",
            ),
            (
                "invoice-requests",
                "refresh",
                RefreshInvoiceView,
                "workshops_invoice_request_refresh",
            ),
            (
                "invoice-requests",
                "payment",
                RecordPaymentView,
                "workshops_invoice_request_payment",
            ),
            (
                "invoice-requests",
                "demo-paid",
                DemoPaidView,
                "workshops_invoice_request_demo_paid",
            ),
            ("seat-codes", "extend", ExtendCodeView, "workshops_seat_code_extend"),
            ("seat-codes", "add-seats", AddSeatsView, "workshops_seat_code_add_seats"),
            ("seat-codes", "void", VoidCodeView, "workshops_seat_code_void"),
        )
    ]


@hooks.register("construct_homepage_panels")
def add_seats_panel(request, panels):
    if request.user.has_perm("workshops.view_ticket"):
        panels.append(SeatsPanel())
    if request.user.has_perm("workshops.change_ticket"):
        sessions = list(
            recently_ended_sessions(
                now=timezone.now(), since=timedelta(days=60), limit=10
            )
        )
        if sessions:
            panels.append(EndedSessionsPanel(sessions))
