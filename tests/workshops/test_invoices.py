"""Group orders by invoice: the request form, Stripe invoices as the stand-in
receives them, invoice.paid (repeated, paid out of band), offline payments."""

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.utils import timezone
from wagtail.documents.models import Document
from wagtail.models import ModelLogEntry, Site
from wagtail.test.utils import WagtailPageTestCase

from home.models import HomePage, SiteSettings
from tests.workshops.checkout import deliver
from tests.workshops.factories import InvoiceRequestPageFactory
from workshops import payments, services
from workshops.models import (
    InvoiceRequest,
    InvoiceRequestPage,
    InvoiceStatus,
    PaidVia,
    SeatCode,
    StripeEvent,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice_page(home_page):
    settings_row = SiteSettings.for_site(Site.objects.get(is_default_site=True))
    settings_row.contact_email = "sales@tidewell.example"
    settings_row.save()
    return InvoiceRequestPageFactory(parent=home_page)


def form_data(**overrides) -> dict:
    data = {
        "organisation": "Quayside Co-op",
        "contact_name": "Imani Clarke",
        "email": "billing@harbour.example",
        "seats": "8",
        "po_number": "PO-2291",
        "payment_method": "ach",
        "w9_wanted": "on",
        "notes": "Please address it to Accounts Payable.",
        "website": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def invoice_request(db) -> InvoiceRequest:
    return InvoiceRequest.objects.create(
        organisation="Quayside Co-op",
        contact_name="Imani Clarke",
        email="billing@harbour.example",
        seats=8,
        po_number="PO-2291",
        payment_method="ach",
    )


def test_the_form_stores_the_request_mails_staff_and_sends_the_w9(
    client, invoice_page, mailoutbox, commit
):
    site = Site.objects.get(is_default_site=True)
    w9 = Document.objects.create(title="W-9")
    w9.file.save("w9.pdf", ContentFile(b"%PDF-1.4 signed W-9"))
    site_settings = SiteSettings.for_site(site)
    site_settings.w9_document = w9
    site_settings.save()
    with commit():
        response = client.post(invoice_page.url, form_data())
    assert response.status_code == 302
    request = InvoiceRequest.objects.get()
    assert (request.organisation, request.seats, request.po_number) == (
        "Quayside Co-op",
        8,
        "PO-2291",
    )
    assert request.w9_wanted and request.payment_method == "ach"
    staff, ack = mailoutbox
    assert staff.to == ["sales@tidewell.example"]
    assert staff.reply_to == ["billing@harbour.example"]
    assert (
        "PO-2291" in staff.body and "/admin/workshops/invoice-requests/" in staff.body
    )
    assert ack.to == ["billing@harbour.example"]
    # The acknowledgement carries nothing the visitor typed, and the W-9.
    assert "Quayside" not in ack.body and "Accounts Payable" not in ack.body
    [(filename, content, mimetype)] = ack.attachments
    assert filename.startswith("w9") and content == b"%PDF-1.4 signed W-9"
    assert mimetype == "application/pdf"
    assert client.get(f"{invoice_page.url}?sent").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"seats": "0"}, "An invoice is for at least 1 seat."),
        ({"seats": "10000"}, "We invoice up to 500 seats at once"),
        ({"email": "billing@@harbour"}, "Enter an email address like"),
        ({"email": "not an address"}, "Enter an email address like"),
        ({"payment_method": "bitcoin"}, "Select a valid choice"),
        ({"organisation": ""}, "Enter your organisation"),
        ({"website": "https://spam.example"}, "hidden anti-spam field"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_stored(
    client, invoice_page, mailoutbox, overrides, message
):
    response = client.post(invoice_page.url, form_data(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not InvoiceRequest.objects.exists()
    assert mailoutbox == []


def test_requests_are_throttled_per_client(client, invoice_page, settings):
    settings.INQUIRIES_RATE_LIMIT = 2
    for _ in range(2):
        assert client.post(invoice_page.url, form_data()).status_code == 302
    response = client.post(invoice_page.url, form_data())
    assert response.status_code == 429
    assert InvoiceRequest.objects.count() == 2


def issue(invoice_request, **kwargs):
    return services.invoice_request_issue(
        request_id=invoice_request.pk,
        unit_price=kwargs.get("unit_price", Decimal("325.00")),
        days_until_due=kwargs.get("days_until_due", 30),
    )


def test_issuing_sends_stripe_a_customer_an_invoice_one_line_then_finalizes_and_sends(
    stripe, invoice_request
):
    request = issue(invoice_request)
    ref = f"INV-REQ-{invoice_request.pk}"
    assert [(r.method, r.path) for r in stripe.requests] == [
        ("POST", "/v1/customers"),
        ("POST", "/v1/invoices"),
        ("POST", "/v1/invoiceitems"),
        ("POST", f"/v1/invoices/{request.stripe_invoice_id}/finalize"),
        ("POST", f"/v1/invoices/{request.stripe_invoice_id}/send"),
    ]
    customer, invoice, item, finalize, send = stripe.requests
    assert customer.params["name"] == "Quayside Co-op"
    assert customer.params["email"] == "billing@harbour.example"
    assert customer.params["metadata[invoice_request]"] == ref
    assert invoice.params["customer"] == request.stripe_customer_id
    assert invoice.params["collection_method"] == "send_invoice"
    assert invoice.params["days_until_due"] == "30"
    assert invoice.params["pending_invoice_items_behavior"] == "exclude"
    assert [
        invoice.params[f"payment_settings[payment_method_types][{n}]"] for n in range(3)
    ] == ["card", "us_bank_account", "customer_balance"]
    assert (
        invoice.params[
            "payment_settings[payment_method_options][customer_balance][funding_type]"
        ]
        == "bank_transfer"
    )
    assert invoice.params["custom_fields[0][name]"] == "PO number"
    assert invoice.params["custom_fields[0][value]"] == "PO-2291"
    assert item.params["invoice"] == request.stripe_invoice_id
    assert item.params["quantity"] == "8"
    assert item.params["unit_amount_decimal"] == "32500"
    assert item.params["currency"] == "usd"
    # Our own idempotency keys, one per step.
    keys = [r.headers["idempotency-key"] for r in stripe.requests]
    assert keys == [
        f"{ref}-8x32500-{step}"
        for step in ("customer", "invoice", "item", "finalize", "send")
    ]
    assert all(
        r.headers["authorization"] == "Bearer sk_test_standin" for r in stripe.requests
    )
    assert request.status == InvoiceStatus.INVOICED
    assert request.stripe_invoice_url.startswith("https://invoice.stripe.test/")
    assert request.stripe_invoice_status == "open"
    assert stripe.invoices[request.stripe_invoice_id]["amount_due"] == 8 * 32500


def test_issuing_twice_bills_once(stripe, invoice_request):
    issue(invoice_request)
    with pytest.raises(services.InvoiceError):
        issue(invoice_request)
    assert len(stripe.invoices) == 1


def test_a_lost_answer_is_retried_with_the_same_keys_and_makes_one_invoice(
    stripe, invoice_request
):
    stripe.fail_next = 1  # the client retries by itself, with the same key
    request = issue(invoice_request)
    assert len(stripe.customers) == 1 and len(stripe.invoices) == 1
    assert request.status == InvoiceStatus.INVOICED


@pytest.mark.parametrize(
    ("unit_price", "days", "message"),
    [(Decimal("0"), 30, "price per seat"), (Decimal("325"), 0, "days to pay")],
)
def test_bad_invoice_terms_are_refused_before_stripe(
    stripe, invoice_request, unit_price, days, message
):
    with pytest.raises(services.InvoiceError, match=message):
        issue(invoice_request, unit_price=unit_price, days_until_due=days)
    assert stripe.requests == []


def test_invoice_paid_three_times_issues_one_code_and_one_email(
    client, stripe, invoice_request, mailoutbox, commit
):
    request = issue(invoice_request)
    # Paid on 3 March, reported days later: the code runs a year from 3 March.
    paid_at = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    stripe.pay_invoice(request.stripe_invoice_id, paid_at=int(paid_at.timestamp()))
    event = stripe.invoice_event("invoice.paid", request.stripe_invoice_id)
    stripe.requests.clear()
    with commit():
        for _ in range(3):
            assert deliver(client, stripe, event).status_code == 200
    code = SeatCode.objects.get()
    assert code.invoice_request == invoice_request
    assert code.seats == 8
    assert code.paid_on == timezone.localdate(paid_at)
    assert code.valid_until == date(2027, code.paid_on.month, code.paid_on.day)
    assert StripeEvent.objects.filter(type="invoice.paid").count() == 1
    # The event is a trigger: the invoice was fetched from Stripe once.
    assert [(r.method, r.path) for r in stripe.requests] == [
        ("GET", f"/v1/invoices/{request.stripe_invoice_id}")
    ]
    [email] = mailoutbox
    assert email.to == ["billing@harbour.example"]
    assert code.code in email.body
    assert "/codes/" in email.body
    request.refresh_from_db()
    assert request.status == InvoiceStatus.PAID
    assert request.paid_via == PaidVia.STRIPE
    assert request.amount_received == Decimal("2600.00")


def test_three_different_events_for_one_invoice_still_issue_one_code(
    client, stripe, invoice_request, mailoutbox, commit
):
    request = issue(invoice_request)
    stripe.pay_invoice(
        request.stripe_invoice_id, paid_at=int(timezone.now().timestamp())
    )
    with commit():
        for _ in range(3):
            event = stripe.invoice_event("invoice.paid", request.stripe_invoice_id)
            assert deliver(client, stripe, event).status_code == 200
    assert SeatCode.objects.count() == 1
    assert len(mailoutbox) == 1


def test_an_event_that_says_paid_for_an_open_invoice_issues_nothing(
    client, stripe, invoice_request, mailoutbox, commit
):
    """Forged or stale: what Stripe says now decides."""
    request = issue(invoice_request)
    event = stripe.invoice_event("invoice.paid", request.stripe_invoice_id)
    event["data"]["object"]["status"] = "paid"
    with commit():
        assert deliver(client, stripe, event).status_code == 200
    assert not SeatCode.objects.exists()
    assert mailoutbox == []


def test_an_invoice_marked_paid_out_of_band_at_stripe_yields_the_code(
    client, stripe, invoice_request, mailoutbox, commit
):
    request = issue(invoice_request)
    stripe.pay_invoice(
        request.stripe_invoice_id,
        paid_at=int(datetime(2026, 5, 20, 12, tzinfo=UTC).timestamp()),
        out_of_band=True,
    )
    with commit():
        deliver(
            client,
            stripe,
            stripe.invoice_event("invoice.paid", request.stripe_invoice_id),
        )
    code = SeatCode.objects.get()
    assert code.paid_on == date(2026, 5, 20)
    request.refresh_from_db()
    assert "paid outside Stripe" in request.payment_reference
    assert len(mailoutbox) == 1


def test_a_check_recorded_by_staff_issues_the_code_from_the_day_it_arrived(
    stripe, invoice_request, mailoutbox, commit, admin_user
):
    request = issue(invoice_request)
    stripe.requests.clear()
    today = timezone.localdate()
    with commit():
        code = services.invoice_request_record_payment(
            request_id=request.pk,
            paid_via=PaidVia.CHECK,
            amount=Decimal("2600.00"),
            received_on=today - timedelta(days=4),
            reference="Check 10442",
            user=admin_user,
        )
    assert code.paid_on == today - timedelta(days=4)
    assert code.valid_until == services.codes.add_a_year(today - timedelta(days=4))
    # Stripe is told so it stops its reminders; its invoice.paid then finds the code.
    [pay] = stripe.requests
    assert (pay.method, pay.path) == (
        "POST",
        f"/v1/invoices/{request.stripe_invoice_id}/pay",
    )
    assert pay.params == {"paid_out_of_band": "true"}
    assert len(mailoutbox) == 1
    synced = services.invoice_sync(
        state=payments.invoice_retrieve(request.stripe_invoice_id)
    )
    assert SeatCode.objects.count() == 1 and synced.seat_code == code


def test_a_check_recorded_after_stripe_was_paid_is_refused_not_hidden(
    client, stripe, invoice_request, mailoutbox, commit
):
    request = issue(invoice_request)
    stripe.pay_invoice(
        request.stripe_invoice_id, paid_at=int(timezone.now().timestamp())
    )
    with commit():
        deliver(
            client,
            stripe,
            stripe.invoice_event("invoice.paid", request.stripe_invoice_id),
        )
    mailoutbox.clear()
    stripe.requests.clear()
    with pytest.raises(services.InvoiceError, match="paid already"):
        services.invoice_request_record_payment(
            request_id=request.pk,
            paid_via=PaidVia.CHECK,
            amount=Decimal("2600.00"),
            received_on=timezone.localdate(),
            reference="Check 10443",
        )
    request.refresh_from_db()
    assert request.paid_via == PaidVia.STRIPE
    assert not mailoutbox and not stripe.requests


def test_a_paid_invoice_we_did_not_note_still_issues_the_requests_code(
    stripe, invoice_request, commit
):
    request = issue(invoice_request)
    # A second invoice for the same request (two clicks at once), the one paid.
    InvoiceRequest.objects.filter(pk=request.pk).update(stripe_invoice_id="in_other")
    stripe.pay_invoice(
        request.stripe_invoice_id, paid_at=int(timezone.now().timestamp())
    )
    with commit():
        services.invoice_sync(
            state=payments.invoice_retrieve(request.stripe_invoice_id)
        )
    assert SeatCode.objects.get().invoice_request_id == request.pk


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"received_on": date(2999, 1, 1)}, "cannot be in the future"),
        ({"amount": Decimal("0")}, "amount received"),
        ({"reference": "  "}, "check number"),
        ({"paid_via": PaidVia.STRIPE}, "check or a wire"),
    ],
)
def test_bad_offline_payments_change_nothing(
    invoice_request, mailoutbox, overrides, message
):
    kwargs = {
        "request_id": invoice_request.pk,
        "paid_via": PaidVia.WIRE,
        "amount": Decimal("2600"),
        "received_on": timezone.localdate(),
        "reference": "SWIFT ref 88",
        **overrides,
    }
    with pytest.raises(services.InvoiceError, match=message):
        services.invoice_request_record_payment(**kwargs)
    assert not SeatCode.objects.exists()
    invoice_request.refresh_from_db()
    assert invoice_request.status == InvoiceStatus.REQUESTED


def test_demo_mode_marks_paid_through_the_same_service(
    demo_checkout, invoice_request, mailoutbox, commit
):
    with commit():
        code = services.invoice_request_mark_paid_demo(request_id=invoice_request.pk)
    assert code.invoice_request == invoice_request
    assert code.paid_on == timezone.localdate()
    assert len(mailoutbox) == 1
    with pytest.raises(services.InvoiceError):
        services.invoice_request_mark_paid_demo(request_id=invoice_request.pk)


def test_demo_payments_are_refused_with_stripe_keys(invoice_request):
    with pytest.raises(services.InvoiceError):
        services.invoice_request_mark_paid_demo(request_id=invoice_request.pk)
    assert not SeatCode.objects.exists()
    assert mail.outbox == []


# The admin: Sales only, each action through its service -----------------------


def test_sales_issue_an_invoice_and_record_a_check_from_the_admin(
    client, stripe, sales_user, invoice_request, mailoutbox, commit
):
    client.force_login(sales_user)
    inspect = f"/admin/workshops/invoice-requests/inspect/{invoice_request.pk}/"
    page = client.get(inspect).content.decode()
    assert "billing@harbour.example" in page
    assert "Issue Stripe invoice" in page and "Record check or wire" in page
    issue_url = f"/admin/workshops/invoice-requests/{invoice_request.pk}/issue/"
    response = client.post(issue_url, {"unit_price": "325.00", "days_until_due": "21"})
    assert response.status_code == 302
    invoice_request.refresh_from_db()
    assert invoice_request.status == InvoiceStatus.INVOICED
    assert stripe.calls("POST", "/v1/invoices")[0].params["days_until_due"] == "21"
    assert invoice_request.stripe_invoice_url in client.get(inspect).content.decode()
    payment_url = f"/admin/workshops/invoice-requests/{invoice_request.pk}/payment/"
    with commit():
        response = client.post(
            payment_url,
            {
                "paid_via": "check",
                "amount": "2600.00",
                "received_on": (timezone.localdate() - timedelta(days=2)).isoformat(),
                "reference": "Check 10442",
            },
        )
    assert response.status_code == 302
    code = SeatCode.objects.get()
    assert code.paid_on == timezone.localdate() - timedelta(days=2)
    assert [m.to for m in mailoutbox] == [["billing@harbour.example"]]
    history = client.get(
        f"/admin/workshops/invoice-requests/history/{invoice_request.pk}/"
    ).content.decode()
    assert "Stripe invoice sent" in history and "Payment recorded" in history


def test_a_bad_offline_payment_in_the_admin_says_why_and_changes_nothing(
    client, sales_user, invoice_request
):
    client.force_login(sales_user)
    response = client.post(
        f"/admin/workshops/invoice-requests/{invoice_request.pk}/payment/",
        {
            "paid_via": "wire",
            "amount": "100",
            "received_on": "2999-01-01",
            "reference": "x",
        },
    )
    assert response.status_code == 200
    assert "cannot be in the future" in response.content.decode()
    assert not SeatCode.objects.exists()


def test_sales_change_a_code_from_the_admin_and_export_codes(
    client, sales_user, invoice_request, mailoutbox, commit
):
    code = services.invoice_request_paid(
        request_id=invoice_request.pk,
        paid_via=PaidVia.WIRE,
        paid_on=timezone.localdate(),
        amount=Decimal("2600"),
    )
    client.force_login(sales_user)
    base = f"/admin/workshops/seat-codes/{code.pk}"
    later = code.valid_until + timedelta(days=30)
    with commit():
        assert (
            client.post(
                f"{base}/extend/", {"valid_until": later.isoformat()}
            ).status_code
            == 302
        )
        assert client.post(f"{base}/add-seats/", {"seats": "2"}).status_code == 302
        assert client.post(f"{base}/void/", {"reason": "Duplicate."}).status_code == 302
    code.refresh_from_db()
    assert (code.valid_until, code.seats, bool(code.voided_at)) == (later, 10, True)
    assert len(mailoutbox) == 3
    inspect = client.get(f"/admin/workshops/seat-codes/inspect/{code.pk}/")
    assert "Redemptions" in inspect.content.decode()
    export = client.get("/admin/workshops/seat-codes/?export=csv")
    assert export.status_code == 200
    body = b"".join(export.streaming_content).decode()
    assert "Code ends with" in body and code.hint in body
    assert code.code not in body  # the export never holds a usable code


def test_editors_cannot_reach_invoices_or_codes(client, editor_user, invoice_request):
    client.force_login(editor_user)
    for url in (
        "/admin/workshops/invoice-requests/",
        f"/admin/workshops/invoice-requests/inspect/{invoice_request.pk}/",
        f"/admin/workshops/invoice-requests/{invoice_request.pk}/payment/",
        "/admin/workshops/seat-codes/",
    ):
        response = client.get(url)
        assert response.status_code in {302, 403}, url
    assert not SeatCode.objects.exists()


def test_demo_mode_offers_staff_mark_paid_through_the_webhooks_service(
    client, demo_checkout, sales_user, invoice_request, mailoutbox, commit
):
    client.force_login(sales_user)
    inspect = f"/admin/workshops/invoice-requests/inspect/{invoice_request.pk}/"
    page = client.get(inspect).content.decode()
    assert "Mark invoice paid (demo)" in page and "Issue Stripe invoice" not in page
    with commit():
        response = client.post(
            f"/admin/workshops/invoice-requests/{invoice_request.pk}/demo-paid/"
        )
    assert response.status_code == 302
    assert SeatCode.objects.get().invoice_request == invoice_request
    assert len(mailoutbox) == 1


class TestInvoiceRequestPageTree(WagtailPageTestCase):
    def test_one_request_page_under_the_home_page(self):
        self.assertAllowedParentPageTypes(InvoiceRequestPage, {HomePage})
        self.assertAllowedSubpageTypes(InvoiceRequestPage, set())
        self.assertEqual(InvoiceRequestPage.max_count, 1)


def test_an_editor_can_create_the_request_page(home_page):
    case = WagtailPageTestCase()
    case.assertCanCreateAt(HomePage, InvoiceRequestPage)


def status_log(request) -> list[dict]:
    return [
        entry.data
        for entry in ModelLogEntry.objects.filter(
            object_id=str(request.pk), action="workshops.invoicerequest.stripe_status"
        ).order_by("pk")
    ]


def test_a_voided_invoice_returns_the_request_to_requested_once(
    client, stripe, invoice_request, mailoutbox, commit
):
    request = issue(invoice_request)
    voided = request.stripe_invoice_id
    stripe.invoices[voided]["status"] = "void"
    event = stripe.invoice_event("invoice.voided", voided)
    with commit():
        assert deliver(client, stripe, event).status_code == 200
        # Delivered twice, and staff refresh as well: nothing more happens.
        assert deliver(client, stripe, event).status_code == 200
        again = stripe.invoice_event("invoice.voided", voided)
        assert deliver(client, stripe, again).status_code == 200
        services.invoice_request_refresh(request_id=request.pk)
    request.refresh_from_db()
    assert request.status == InvoiceStatus.REQUESTED
    assert request.stripe_invoice_status == "void"
    assert request.stripe_invoice_id == voided  # still shown to staff
    assert status_log(request) == [
        {"invoice": voided, "from": "open", "to": "void", "request": "requested"}
    ]
    assert not SeatCode.objects.exists() and mailoutbox == []


def test_after_a_void_issuing_again_sends_a_new_invoice_under_new_keys(
    client, stripe, invoice_request
):
    request = issue(invoice_request)
    voided, customer = request.stripe_invoice_id, request.stripe_customer_id
    stripe.invoices[voided]["status"] = "void"
    deliver(client, stripe, stripe.invoice_event("invoice.voided", voided))
    stripe.requests.clear()
    stripe.fail_next = 1  # a lost answer: the client retries with the same key
    request = issue(invoice_request, unit_price=Decimal("300.00"))
    assert request.status == InvoiceStatus.INVOICED
    assert request.stripe_invoice_id not in {"", voided}
    assert request.stripe_invoice_status == "open"
    assert request.unit_price == Decimal("300.00")
    # The same customer, a second invoice; nothing asked of the voided one.
    paths = [(r.method, r.path) for r in stripe.requests]
    assert ("POST", "/v1/customers") not in paths
    assert paths[-4:] == [
        ("POST", "/v1/invoices"),
        ("POST", "/v1/invoiceitems"),
        ("POST", f"/v1/invoices/{request.stripe_invoice_id}/finalize"),
        ("POST", f"/v1/invoices/{request.stripe_invoice_id}/send"),
    ]
    assert stripe.calls("POST", "/v1/invoices")[0].params["customer"] == customer
    keys = [r.headers["idempotency-key"] for r in stripe.requests]
    ref = f"INV-REQ-{invoice_request.pk}"
    assert keys[-4:] == [
        f"{ref}-after-{voided}-8x30000-{step}"
        for step in ("invoice", "item", "finalize", "send")
    ]
    assert keys[0] == keys[1]  # the retried request kept its key
    assert len(stripe.invoices) == 2
    assert stripe.invoices[request.stripe_invoice_id]["amount_due"] == 8 * 30000
    # A second click of the same attempt bills nobody twice.
    with pytest.raises(services.InvoiceError):
        issue(invoice_request, unit_price=Decimal("300.00"))
    assert len(stripe.invoices) == 2
    # The voided invoice's news, late, changes nothing of the new one.
    deliver(client, stripe, stripe.invoice_event("invoice.voided", voided))
    request.refresh_from_db()
    assert request.status == InvoiceStatus.INVOICED
    assert request.stripe_invoice_status == "open"


def test_a_second_void_allows_a_third_invoice(client, stripe, invoice_request):
    first = issue(invoice_request).stripe_invoice_id
    stripe.invoices[first]["status"] = "void"
    deliver(client, stripe, stripe.invoice_event("invoice.voided", first))
    second = issue(invoice_request).stripe_invoice_id
    stripe.invoices[second]["status"] = "void"
    deliver(client, stripe, stripe.invoice_event("invoice.voided", second))
    third = issue(invoice_request).stripe_invoice_id
    assert len({first, second, third}) == 3
    finalize_keys = [
        r.headers["idempotency-key"]
        for r in stripe.requests
        if r.path.endswith("/finalize")
    ]
    assert len(set(finalize_keys)) == 3


def test_an_uncollectible_invoice_stays_invoiced_until_staff_void_it(
    client, stripe, invoice_request, sales_user
):
    """Written off, it can still be paid in Stripe: a second invoice would bill
    the group twice. Voiding it in Stripe is how staff ask for a new one."""
    request = issue(invoice_request)
    invoice_id = request.stripe_invoice_id
    stripe.invoices[invoice_id]["status"] = "uncollectible"
    event = stripe.invoice_event("invoice.marked_uncollectible", invoice_id)
    for _ in range(2):
        assert deliver(client, stripe, event).status_code == 200
    request.refresh_from_db()
    assert request.status == InvoiceStatus.INVOICED
    assert request.stripe_invoice_status == "uncollectible"
    assert status_log(request) == [
        {"invoice": invoice_id, "from": "open", "to": "uncollectible"}
    ]
    client.force_login(sales_user)
    inspect = f"/admin/workshops/invoice-requests/inspect/{request.pk}/"
    assert "Issue Stripe invoice" not in client.get(inspect).content.decode()
    with pytest.raises(services.InvoiceError):
        issue(invoice_request)
    stripe.invoices[invoice_id]["status"] = "void"
    deliver(client, stripe, stripe.invoice_event("invoice.voided", invoice_id))
    request.refresh_from_db()
    assert request.status == InvoiceStatus.REQUESTED
    assert "Issue Stripe invoice" in client.get(inspect).content.decode()


def test_sales_issue_a_corrected_invoice_from_the_admin_after_a_void(
    client, stripe, sales_user, invoice_request
):
    request = issue(invoice_request)
    voided = request.stripe_invoice_id
    stripe.invoices[voided]["status"] = "void"
    deliver(client, stripe, stripe.invoice_event("invoice.voided", voided))
    client.force_login(sales_user)
    issue_url = f"/admin/workshops/invoice-requests/{request.pk}/issue/"
    form = client.get(issue_url).content.decode()
    assert "was voided: this sends a new one" in form
    assert 'value="325.00"' in form  # the voided invoice's price, to correct
    response = client.post(issue_url, {"unit_price": "310.00", "days_until_due": "14"})
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == InvoiceStatus.INVOICED
    assert request.stripe_invoice_id != voided
    sent = ModelLogEntry.objects.filter(
        object_id=str(request.pk), action="workshops.invoicerequest.invoiced"
    )
    assert [entry.data.get("replaces") for entry in sent.order_by("pk")] == [
        None,
        voided,
    ]
    history = client.get(
        f"/admin/workshops/invoice-requests/history/{request.pk}/"
    ).content.decode()
    assert "Stripe invoice status changed" in history


def test_a_check_after_a_void_asks_nothing_of_the_voided_invoice(
    client, stripe, invoice_request, commit
):
    request = issue(invoice_request)
    stripe.invoices[request.stripe_invoice_id]["status"] = "void"
    deliver(
        client,
        stripe,
        stripe.invoice_event("invoice.voided", request.stripe_invoice_id),
    )
    stripe.requests.clear()
    with commit():
        services.invoice_request_record_payment(
            request_id=request.pk,
            paid_via=PaidVia.CHECK,
            amount=Decimal("2600.00"),
            received_on=timezone.localdate(),
            reference="Check 20001",
        )
    assert stripe.requests == []
    request.refresh_from_db()
    assert request.status == InvoiceStatus.PAID


def test_invoice_events_with_a_bad_signature_or_for_someone_elses_invoice_do_nothing(
    client, stripe, invoice_request
):
    request = issue(invoice_request)
    stripe.pay_invoice(
        request.stripe_invoice_id, paid_at=int(timezone.now().timestamp())
    )
    event = stripe.invoice_event("invoice.paid", request.stripe_invoice_id)
    payload = json.dumps(event).encode()
    forged = client.post(
        "/stripe/webhook/",
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe.sign(payload, "whsec_wrong"),
    )
    assert forged.status_code == 400
    assert not SeatCode.objects.exists()
    stripe.invoices["in_elsewhere"] = {
        **stripe.invoices[request.stripe_invoice_id],
        "id": "in_elsewhere",
        "metadata": {},
    }
    other = stripe.invoice_event("invoice.paid", "in_elsewhere")
    assert deliver(client, stripe, other).status_code == 200
    assert not SeatCode.objects.exists()


def test_a_stripe_outage_during_the_webhook_answers_503_for_a_retry(
    client, stripe, invoice_request, mailoutbox, commit
):
    request = issue(invoice_request)
    stripe.pay_invoice(
        request.stripe_invoice_id, paid_at=int(timezone.now().timestamp())
    )
    event = stripe.invoice_event("invoice.paid", request.stripe_invoice_id)
    stripe.fail_next = 10  # more than the client's own retries
    assert deliver(client, stripe, event).status_code == 503
    assert not StripeEvent.objects.exists()  # so Stripe's retry is acted on
    stripe.fail_next = 0
    with commit():
        assert deliver(client, stripe, event).status_code == 200
    assert SeatCode.objects.count() == 1 and len(mailoutbox) == 1
