"""Several dates in one order: one Checkout Session with a line per session,
seats held together or not at all, one confirmation listing every ticket, and
each holder's invitation to each of their dates."""

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from django.utils import timezone

from tests.workshops.calendars import calendar_part
from tests.workshops.checkout import checkout_form
from tests.workshops.factories import WorkshopPageFactory, WorkshopSessionFactory
from workshops import services
from workshops.models import Order, OrderLine, OrderStatus, Ticket, TicketStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def later(workshop):
    """A second date of the same workshop, two months away."""
    return WorkshopSessionFactory(
        workshop=workshop, date=timezone.localdate() + timedelta(days=60)
    )


def book_two_dates(client, session, later, seat, *, first=2, second=1, **extra):
    people = [(f"Person {n}", f"p{n}@example.com") for n in range(first + second)]
    people[0] = ("Ada Buyer", "ada@example.com")
    data = checkout_form(seat, quantity=first, attendees=people, **extra)
    data[f"also_{later.pk}"] = second
    return client.post(f"/book/{session.pk}/", data)


def test_step_one_offers_the_workshops_other_dates(client, session, later, seat):
    doc = BeautifulSoup(client.get(f"/book/{session.pk}/").content, "html.parser")
    assert doc.select_one(f"input[name=also_{later.pk}]") is not None
    assert "Other dates in the same order" in doc.get_text()


def test_step_two_labels_each_attendee_with_their_date(client, session, later, seat):
    response = client.get(
        f"/book/{session.pk}/",
        {"ticket_type": seat.pk, "quantity": 2, f"also_{later.pk}": 1},
    )
    doc = BeautifulSoup(response.content, "html.parser")
    legends = [legend.get_text() for legend in doc.select("legend")]
    assert [legend.split(",")[0] for legend in legends[1:4]] == [
        "Attendee 1 of 2",
        "Attendee 2 of 2",
        "Attendee 1 of 1",
    ]
    assert f"{later.date:%-d %B %Y}"[:2].strip() in legends[3]
    assert "3 × Standard seat" in doc.get_text() and "$1,050.00" in doc.get_text()


def test_two_dates_make_one_order_and_one_checkout_session_with_a_line_each(
    client, stripe, session, later, seat
):
    response = book_two_dates(client, session, later, seat)
    order = Order.objects.get()
    assert response.status_code == 302
    assert (
        response["Location"] == stripe.sessions[order.stripe_checkout_session_id]["url"]
    )
    assert order.quantity == 3 and order.total == 3 * seat.price
    assert sorted(
        OrderLine.objects.filter(order=order).values_list("session_id", "quantity")
    ) == sorted([(session.pk, 2), (later.pk, 1)])
    assert Ticket.objects.filter(order=order, session=session).count() == 2
    assert Ticket.objects.filter(order=order, session=later).count() == 1
    [create] = stripe.calls("POST", "/v1/checkout/sessions")
    lines = [
        (
            create.params[f"line_items[{n}][quantity]"],
            create.params[f"line_items[{n}][price_data][unit_amount]"],
            create.params[f"line_items[{n}][price_data][product_data][description]"],
        )
        for n in range(2)
    ]
    assert [(q, amount) for q, amount, _ in lines] == [("2", "35000"), ("1", "35000")]
    assert "line_items[2][quantity]" not in create.params
    assert stripe.sessions[order.stripe_checkout_session_id]["amount_total"] == 105000
    now = timezone.now()
    assert services.seats_taken(session.pk, now=now) == 2
    assert services.seats_taken(later.pk, now=now) == 1


def test_one_confirmation_lists_every_ticket_and_each_holder_is_invited(
    client, stripe, session, later, seat, mailoutbox, commit
):
    book_two_dates(client, session, later, seat)
    order = Order.objects.get()
    stripe.complete(order.stripe_checkout_session_id)
    with commit():
        client.get(f"/orders/{order.token}/")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert set(order.tickets.values_list("status", flat=True)) == {TicketStatus.VALID}
    buyer = mailoutbox[0]
    assert buyer.to == ["ada@example.com"]
    for n in (1, 2):
        assert f"p{n}@example.com" in buyer.body
    # Ada holds a seat on the first date only: her receipt is its invitation
    # (docs/notices.md, "The first invitation").
    assert str(calendar_part(buyer)[1].walk("VEVENT")[0]["UID"]) == str(
        session.calendar_uid
    )
    # Each other attendee gets their own ticket with their own date's invitation.
    invited = {
        message.to[0]: str(calendar_part(message)[1].walk("VEVENT")[0]["UID"])
        for message in mailoutbox[1:]
    }
    assert invited == {
        "p1@example.com": str(session.calendar_uid),
        "p2@example.com": str(later.calendar_uid),
    }
    page = client.get(f"/orders/{order.token}/").content.decode()
    assert "Date 1" in page and "Date 2" in page and "moved to" not in page


def test_a_sold_out_second_date_holds_nothing_on_the_first(
    client, stripe, session, workshop, seat
):
    full = WorkshopSessionFactory(
        workshop=workshop, date=timezone.localdate() + timedelta(days=45), capacity=1
    )
    services.order_create(
        session_id=full.pk,
        ticket_type_id=seat.pk,
        quantity=1,
        buyer_name="Early",
        buyer_email="early@example.com",
        buyer_time_zone="UTC",
        attendees=[services.Attendee("Early", "early@example.com")],
    )
    with pytest.raises(services.CheckoutError, match="sold out"):
        services.order_create(
            session_id=session.pk,
            ticket_type_id=seat.pk,
            quantity=2,
            also=[(full.pk, 1)],
            buyer_name="Ada",
            buyer_email="ada@example.com",
            buyer_time_zone="UTC",
            attendees=[
                services.Attendee(f"P{n}", f"p{n}@example.com") for n in range(3)
            ],
        )
    assert services.seats_taken(session.pk, now=timezone.now()) == 0
    assert Order.objects.count() == 1
    assert stripe.requests == []


@pytest.mark.parametrize(
    ("also", "message"),
    [
        (lambda s, other: [(s.pk, 1)], "Choose each date once"),
        (lambda s, other: [(other.pk, 1)], "not sold for this workshop"),
        (lambda s, other: [(other.pk + 999, 1)], "not sold for this workshop"),
    ],
)
def test_bad_dates_are_refused_and_nothing_is_held(
    schedule, session, seat, also, message
):
    other = WorkshopSessionFactory(workshop=WorkshopPageFactory(parent=schedule))
    with pytest.raises(services.CheckoutError, match=message):
        services.order_create(
            session_id=session.pk,
            ticket_type_id=seat.pk,
            quantity=1,
            also=also(session, other),
            buyer_name="Ada",
            buyer_email="ada@example.com",
            buyer_time_zone="UTC",
            attendees=[
                services.Attendee(f"P{n}", f"p{n}@example.com") for n in range(2)
            ],
        )
    assert not Order.objects.exists()


def test_a_late_payment_is_refunded_if_either_date_filled_up(
    client, stripe, session, workshop, seat, commit
):
    small = WorkshopSessionFactory(
        workshop=workshop, date=timezone.localdate() + timedelta(days=50), capacity=1
    )
    book_two_dates(client, session, small, seat, first=1, second=1)
    order = Order.objects.get()
    Order.objects.filter(pk=order.pk).update(hold_expires_at=timezone.now())
    services.order_create(
        session_id=small.pk,
        ticket_type_id=seat.pk,
        quantity=1,
        buyer_name="Late",
        buyer_email="late@example.com",
        buyer_time_zone="UTC",
        attendees=[services.Attendee("Late", "late@example.com")],
    )
    stripe.complete(order.stripe_checkout_session_id)
    with commit():
        services.order_sync(order=order)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert not order.tickets.filter(status=TicketStatus.VALID).exists()


def test_returning_to_payment_holds_both_dates_again(
    client, stripe, session, later, seat
):
    book_two_dates(client, session, later, seat)
    order = Order.objects.get()
    client.get(f"/orders/{order.token}/cancelled/")
    assert services.seats_taken(later.pk, now=timezone.now()) == 0
    response = client.post(f"/orders/{order.token}/cancelled/", {"action": "resume"})
    assert response.status_code == 302
    new = Order.objects.exclude(pk=order.pk).get()
    assert sorted(new.tickets.values_list("session_id", "attendee_email")) == sorted(
        order.tickets.values_list("session_id", "attendee_email")
    )
    creates = [
        r
        for r in stripe.requests
        if (r.method, r.path) == ("POST", "/v1/checkout/sessions")
    ]
    assert len(creates) == 2


def test_a_code_pays_for_seats_on_two_dates(client, stripe, session, later, seat):
    seat_code = services.seat_code_issue(
        seats=3,
        paid_on=timezone.localdate(),
        buyer_name="Imani",
        buyer_email="imani@example.com",
    )
    response = book_two_dates(client, session, later, seat, seat_code=seat_code.code)
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.status == OrderStatus.PAID and order.seat_code == seat_code
    assert seat_code.seats_used() == 3
    assert stripe.requests == []
