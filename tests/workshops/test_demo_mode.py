"""Without Stripe keys and with DEBUG on, checkout completes orders locally."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from tests.workshops.checkout import book
from workshops.models import Order, OrderStatus, PaymentMethod

pytestmark = pytest.mark.django_db


def test_demo_checkout_pays_through_the_same_fulfilment(
    client, demo_checkout, session, seat, mailoutbox, django_capture_on_commit_callbacks
):
    response = book(client, session, seat, attendees=[("Ada", "ada@example.com")])
    order = Order.objects.get()
    assert order.payment_method == PaymentMethod.DEMO
    assert response["Location"] == f"/orders/{order.token}/demo-payment/"
    page = client.get(response["Location"])
    assert "Nothing is charged" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"], {"action": "pay"})
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert len(mailoutbox) == 1
    assert "(demo, not charged)" in mailoutbox[0].body


def test_demo_payment_can_be_cancelled(client, demo_checkout, session, seat):
    response = book(client, session, seat)
    client.post(response["Location"], {"action": "cancel"})
    assert Order.objects.get().status == OrderStatus.CANCELLED


def test_the_demo_page_does_not_exist_with_debug_off(
    client, demo_checkout, session, seat, settings
):
    response = book(client, session, seat)
    settings.DEBUG = False
    assert client.get(response["Location"]).status_code == 404
    assert client.post(response["Location"], {"action": "pay"}).status_code == 404
    assert Order.objects.get().status == OrderStatus.PENDING


def test_a_system_check_refuses_demo_mode_with_debug_off(settings):
    settings.DEBUG = False
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(SystemCheckError, match="workshops.E001"):
        call_command("check")


def test_a_stripe_key_without_a_webhook_secret_is_refused(settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    with pytest.raises(SystemCheckError, match="workshops.E002"):
        call_command("check")
