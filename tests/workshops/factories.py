from datetime import time, timedelta
from decimal import Decimal

import factory
import wagtail_factories
from django.utils import timezone

from workshops.models import (
    ScheduleIndexPage,
    SessionStatus,
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
