from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from tests.workshops import stripe_standin
from tests.workshops.factories import TicketTypeFactory, WorkshopSessionFactory
from workshops.models import SessionStatus


@pytest.fixture(scope="session")
def _stripe_server():
    standin, server = stripe_standin.start()
    yield standin
    server.shutdown()


@pytest.fixture
def stripe(_stripe_server, settings):
    """The Stripe stand-in, empty, with the site's client pointed at it."""
    standin = _stripe_server
    with standin.lock:
        standin.requests.clear()
        standin.sessions.clear()
        standin.intents.clear()
        standin.refunds.clear()
        standin.customers.clear()
        standin.invoices.clear()
        standin.invoice_items.clear()
        standin.idempotent.clear()
        standin.fail_next = 0
        standin.refund_gate = None
        standin.refund_arrived.clear()
    settings.STRIPE_API_BASE = standin.url
    return standin


@pytest.fixture
def session(workshop):
    """A bookable session, a month away, with 20 seats."""
    return WorkshopSessionFactory(
        workshop=workshop, date=timezone.localdate() + timedelta(days=30)
    )


@pytest.fixture
def seat(workshop):
    """The ticket type most buyers choose: one seat, $350."""
    return TicketTypeFactory(workshops=[workshop])


@pytest.fixture
def team_pack(workshop):
    return TicketTypeFactory(
        name="Team of five",
        price=Decimal("1500.00"),
        seats_per_ticket=5,
        max_per_order=4,
        workshops=[workshop],
    )


@pytest.fixture
def past_session(workshop):
    """A session that ended a week ago: 10:00-13:30 in New York, 3.5 hours."""
    return WorkshopSessionFactory(
        workshop=workshop,
        date=timezone.localdate() - timedelta(days=7),
        status=SessionStatus.COMPLETED,
    )


@pytest.fixture
def sales_user(django_user_model):
    user = django_user_model.objects.create_user("sasha", "sasha@example.com", "pw")
    user.groups.add(Group.objects.get(name="Sales"))
    return user


@pytest.fixture
def editor_user(django_user_model):
    user = django_user_model.objects.create_user("edith", "edith@example.com", "pw")
    user.groups.add(Group.objects.get(name="Editors"))
    return user
