from datetime import time, timedelta
from decimal import Decimal

import factory
import wagtail_factories
from django.utils import timezone

from workshops.models import (
    InvoiceRequestPage,
    Order,
    OrderStatus,
    PaymentMethod,
    ScheduleIndexPage,
    SessionStatus,
    Ticket,
    TicketStatus,
    TicketType,
    WorkshopPage,
    WorkshopSession,
)


class ScheduleIndexPageFactory(wagtail_factories.PageFactory):
    title = "Schedule"
    slug = "schedule"
    introduction = "Pick a date that suits you."

    class Meta:
        model = ScheduleIndexPage


class WorkshopPageFactory(wagtail_factories.PageFactory):
    title = factory.Sequence(lambda n: f"Workshop {n}")
    slug = factory.Sequence(lambda n: f"workshop-{n}")
    summary = "Learn to respond to reports."
    duration_minutes = 210
    capacity = 20
    price = Decimal("350.00")

    class Meta:
        model = WorkshopPage


class InvoiceRequestPageFactory(wagtail_factories.PageFactory):
    title = "Invoice for group seats"
    slug = "invoice"
    intro = "<p>Seats for a team, paid by invoice.</p>"

    class Meta:
        model = InvoiceRequestPage


class WorkshopSessionFactory(factory.django.DjangoModelFactory):
    workshop = factory.SubFactory(WorkshopPageFactory)
    date = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=30))
    start_time = time(10)
    end_time = time(13, 30)
    time_zone = "America/New_York"
    status = SessionStatus.SCHEDULED

    class Meta:
        model = WorkshopSession


class TicketTypeFactory(factory.django.DjangoModelFactory):
    name = "Standard seat"
    price = Decimal("350.00")
    seats_per_ticket = 1
    max_per_order = 10

    class Meta:
        model = TicketType
        skip_postgeneration_save = True

    @factory.post_generation
    def workshops(self, create, extracted, **kwargs):
        if create and extracted:
            self.workshops.set(extracted)


def make_paid_ticket(session, name: str, email: str, *, attended=None) -> Ticket:
    """A paid one-seat order for `session` and its valid ticket, as after checkout."""
    ticket_type = TicketType.objects.filter(name="Standard seat").first() or (
        TicketTypeFactory(workshops=[session.workshop])
    )
    order = Order.objects.create(
        session=session,
        ticket_type=ticket_type,
        quantity=1,
        unit_price=ticket_type.price,
        total=ticket_type.price,
        buyer_name=name,
        buyer_email=email,
        buyer_time_zone="Europe/London",
        payment_method=PaymentMethod.DEMO,
        status=OrderStatus.PAID,
        paid_at=timezone.now(),
    )
    return Ticket.objects.create(
        order=order,
        session=session,
        attendee_name=name,
        attendee_email=email,
        status=TicketStatus.VALID,
        attended=attended,
    )
