"""The waiting list: a freed seat is offered to the next person, held, passed on."""

import threading
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from tests.workshops.factories import (
    TicketTypeFactory,
    WorkshopSessionFactory,
    make_paid_ticket,
)
from workshops import services
from workshops.models import (
    OrderStatus,
    PaymentMethod,
    TicketStatus,
    WaitlistEntry,
    WaitlistSettings,
    WaitlistStatus,
    WorkshopPage,
)


@pytest.fixture
def full_session(workshop):
    """Two seats, both sold."""
    session = WorkshopSessionFactory(
        workshop=workshop, capacity=2, date=timezone.localdate() + timedelta(days=20)
    )
    TicketTypeFactory(workshops=[workshop], price=Decimal("0"), name="Free seat")
    for number in range(2):
        make_paid_ticket(session, f"Holder {number}", f"holder{number}@example.com")
    return session


@pytest.fixture
def sent(django_capture_on_commit_callbacks, run_tasks):
    @contextmanager
    def block():
        with django_capture_on_commit_callbacks(execute=True):
            yield
        # The worker's transactions commit as well, and what waits for them runs.
        with django_capture_on_commit_callbacks(execute=True):
            run_tasks()

    return block


def join(session, *people):
    return [
        services.waitlist_join(session_id=session.pk, name=name, email=email)
        for name, email in people
    ]


PEOPLE = [("Ada", "ada@example.com"), ("Ben", "ben@example.com"), ("Cy", "cy@x.org")]


@pytest.mark.django_db
def test_a_sold_out_session_offers_the_waiting_list(client, workshop, full_session):
    workshop.save_revision().publish()
    page = client.get(workshop.url).content.decode()
    assert "Tell me if a seat frees up" in page
    response = client.post(
        f"/waiting-list/{full_session.pk}/",
        {"name": "Ada Lovelace", "email": "Ada@Example.com"},
    )
    assert response.status_code == 200
    assert "we email ada@example.com" in response.content.decode().lower()
    entry = WaitlistEntry.objects.get()
    assert entry.email == "ada@example.com"
    assert entry.status == WaitlistStatus.WAITING
    # Asking twice keeps one place.
    client.post(
        f"/waiting-list/{full_session.pk}/",
        {"name": "Ada Lovelace", "email": "ada@example.com"},
    )
    assert WaitlistEntry.objects.count() == 1


@pytest.mark.django_db
def test_a_session_with_seats_has_no_waiting_list(workshop):
    session = WorkshopSessionFactory(workshop=workshop)
    with pytest.raises(services.WaitlistError):
        services.waitlist_join(session_id=session.pk, name="A", email="a@example.com")


@pytest.mark.django_db
def test_a_cancellation_makes_one_offer_and_it_holds_the_seat(full_session, sent):
    ada, ben, _ = join(full_session, *PEOPLE)
    holder = full_session.tickets.first()
    with sent():
        # The cancellation queues the offer itself, after its commit.
        services.ticket_cancel(ticket_id=holder.pk, refund=False)
    # Run again (a retried task, the periodic sweep): no second offer.
    assert services.session_waitlist_offer(session_id=full_session.pk) == []
    assert WaitlistEntry.objects.filter(status=WaitlistStatus.OFFERED).count() == 1
    ada.refresh_from_db()
    assert ada.status == WaitlistStatus.OFFERED
    assert ada.order.status == OrderStatus.PENDING
    assert ada.offer_expires_at - ada.offered_at == timedelta(hours=24)
    assert services.seats_taken(full_session.pk, now=timezone.now()) == 2
    offer = [m for m in mail.outbox if m.to == ["ada@example.com"]][-1]
    assert "held for you" in offer.body
    assert "/waiting-list/place/" in offer.body
    ben.refresh_from_db()
    assert ben.status == WaitlistStatus.WAITING
    # A buyer who comes now finds the seat taken by the offer.
    with pytest.raises(services.CheckoutError):
        services.order_create(
            session_id=full_session.pk,
            ticket_type_id=ada.order.ticket_type_id,
            quantity=1,
            buyer_name="Late",
            buyer_email="late@example.com",
            buyer_time_zone="UTC",
            attendees=[services.Attendee("Late", "late@example.com")],
        )


@pytest.mark.django_db
def test_an_expired_offer_passes_to_the_next_person(full_session, home_page):
    setting = WaitlistSettings.for_site(home_page.get_site())
    setting.offer_hours = 2
    setting.save()
    ada, ben, _ = join(full_session, *PEOPLE)
    full_session.tickets.filter(attendee_name="Holder 0").update(
        status=TicketStatus.CANCELLED
    )
    (offer,) = services.session_waitlist_offer(session_id=full_session.pk)
    assert offer.pk == ada.pk
    assert offer.offer_expires_at - offer.offered_at == timedelta(hours=2)
    # Not yet: still Ada's.
    soon = timezone.now() + timedelta(hours=1)
    assert services.session_waitlist_offer(session_id=full_session.pk, now=soon) == []
    later = timezone.now() + timedelta(hours=3)
    (passed,) = services.session_waitlist_offer(session_id=full_session.pk, now=later)
    assert passed.pk == ben.pk
    ada.refresh_from_db()
    assert ada.status == WaitlistStatus.LAPSED
    assert ada.order.status == OrderStatus.EXPIRED
    with pytest.raises(services.WaitlistError):
        services.waitlist_offer_claim(entry_id=ada.pk, now=later)


@pytest.mark.django_db
def test_taking_a_free_seat_makes_a_ticket_once(client, full_session):
    (ada,) = join(full_session, PEOPLE[0])
    full_session.tickets.filter(attendee_name="Holder 0").update(
        status=TicketStatus.CANCELLED
    )
    services.session_waitlist_offer(session_id=full_session.pk)
    ada.refresh_from_db()
    page = client.get(f"/waiting-list/place/{ada.token}/")
    assert "Take the seat" in page.content.decode()
    response = client.post(f"/waiting-list/place/{ada.token}/", {"action": "take"})
    assert response.status_code == 302
    assert response.url == f"/orders/{ada.order.token}/"
    client.post(f"/waiting-list/place/{ada.token}/", {"action": "take"})
    ada.refresh_from_db()
    assert ada.status == WaitlistStatus.BOOKED
    assert ada.order.status == OrderStatus.PAID
    tickets = ada.order.tickets.all()
    assert [ticket.status for ticket in tickets] == [TicketStatus.VALID]


@pytest.mark.django_db
def test_an_offer_paid_before_the_sweep_noticed_is_booked_not_lapsed(full_session):
    (ada,) = join(full_session, PEOPLE[0])
    full_session.tickets.filter(attendee_name="Holder 0").update(
        status=TicketStatus.CANCELLED
    )
    services.session_waitlist_offer(session_id=full_session.pk)
    ada.refresh_from_db()
    # Paid through Stripe Checkout; the entry still says "offered".
    services.order_fulfil(
        order_id=ada.order.pk, payment_method=PaymentMethod.STRIPE, now=timezone.now()
    )
    order = services.waitlist_offer_claim(entry_id=ada.pk)
    assert order.status == OrderStatus.PAID
    ada.refresh_from_db()
    assert ada.status == WaitlistStatus.BOOKED


@pytest.mark.django_db
def test_letting_an_offer_go_passes_it_on_at_once(client, full_session):
    ada, ben, _ = join(full_session, *PEOPLE)
    full_session.tickets.filter(attendee_name="Holder 0").update(
        status=TicketStatus.CANCELLED
    )
    services.session_waitlist_offer(session_id=full_session.pk)
    client.post(f"/waiting-list/place/{ada.token}/", {"action": "leave"})
    ada.refresh_from_db()
    ben.refresh_from_db()
    assert ada.status == WaitlistStatus.LEFT
    assert ben.status == WaitlistStatus.OFFERED


@pytest.mark.django_db
def test_a_raised_capacity_on_publish_offers_the_new_seats(
    workshop, full_session, sent
):
    join(full_session, *PEOPLE)
    page = WorkshopPage.objects.get(pk=workshop.pk)
    sessions = list(page.sessions.all())
    sessions[0].capacity = 4
    page.sessions = sessions
    with sent():
        page.save_revision().publish()
    offered = WaitlistEntry.objects.filter(status=WaitlistStatus.OFFERED)
    assert sorted(offered.values_list("email", flat=True)) == [
        "ada@example.com",
        "ben@example.com",
    ]


@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="SQLite takes one writer at a time; concurrency needs PostgreSQL.",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_concurrent_claims_of_one_freed_seat_make_one_ticket(workshop):
    session = WorkshopSessionFactory(
        workshop=workshop, capacity=1, date=timezone.localdate() + timedelta(days=20)
    )
    TicketTypeFactory(workshops=[workshop], price=Decimal("0"), name="Free seat")
    holder = make_paid_ticket(session, "Holder", "holder@example.com")
    entries = join(
        session, *((f"Person {n}", f"person{n}@example.com") for n in range(20))
    )
    holder.status = TicketStatus.CANCELLED
    holder.save()

    barrier = threading.Barrier(20)
    errors: list[Exception] = []

    def claim(entry: WaitlistEntry) -> None:
        barrier.wait()
        try:
            # Each thread re-checks the freed seat (as a cancellation, the
            # reconcile job and the worker might at once), then claims its own.
            services.session_waitlist_offer(session_id=session.pk)
            services.waitlist_offer_claim(entry_id=entry.pk)
        except (services.WaitlistError, services.SessionBusy):
            pass
        except Exception as error:  # anything else fails the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(entry,)) for entry in entries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    valid = session.tickets.filter(status=TicketStatus.VALID)
    assert valid.count() == 1
    assert WaitlistEntry.objects.filter(status=WaitlistStatus.BOOKED).count() == 1
    assert WaitlistEntry.objects.filter(status=WaitlistStatus.OFFERED).count() == 0
    assert services.seats_taken(session.pk, now=timezone.now()) == 1


@pytest.mark.django_db
def test_the_reconcile_command_offers_a_seat_whose_hold_expired(full_session):
    import io

    from django.core.management import call_command

    (ada,) = join(full_session, PEOPLE[0])
    # A buyer's unpaid hold: the session counts as full while it lasts.
    holder = full_session.tickets.filter(attendee_name="Holder 0").get()
    holder.status = TicketStatus.RESERVED
    holder.save()
    order = holder.order
    order.status = OrderStatus.PENDING
    order.hold_expires_at = timezone.now() - timedelta(minutes=1)
    order.save()
    out = io.StringIO()
    call_command("reconcile_notices", stdout=out)
    assert "1 seats offered" in out.getvalue()
    ada.refresh_from_db()
    assert ada.status == WaitlistStatus.OFFERED
