"""Seat codes: their shape, redeeming them at checkout, the buyer's page, and
what staff change (extend, add seats, void)."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from bs4 import BeautifulSoup
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from freezegun import freeze_time
from hypothesis import given
from hypothesis import strategies as st
from wagtail.models import ModelLogEntry

from tests.workshops.calendars import calendar_part
from tests.workshops.checkout import checkout_form
from tests.workshops.factories import (
    TicketTypeFactory,
    WorkshopPageFactory,
    WorkshopSessionFactory,
)
from tests.workshops.test_webhooks import deliver
from workshops import services
from workshops.models import (
    Order,
    OrderStatus,
    PaymentMethod,
    SeatCode,
    Ticket,
    TicketStatus,
    derive_code,
    normalise_code,
)
from workshops.models.certificates import CODE_ALPHABET
from workshops.services import codes as code_services

pytestmark = pytest.mark.django_db

AMBIGUOUS = set("0O1IL")


def make_code(*, seats=3, paid_on=None, workshop=None, email="buyer@example.com"):
    """A code as a payment issues it, and the code itself."""
    seat_code = services.seat_code_issue(
        seats=seats,
        paid_on=paid_on or timezone.localdate(),
        buyer_name="Imani Clarke",
        buyer_email=email,
        organisation="Quayside Co-op",
        workshop_id=workshop.pk if workshop else None,
    )
    return seat_code, seat_code.code


# The code's shape -------------------------------------------------------------


@given(st.text(min_size=1, max_size=40))
def test_every_seed_gives_a_code_that_parses_to_itself(seed):
    code = derive_code(seed, secret="k" * 50)
    assert normalise_code(code) == code
    groups = code.split("-")
    assert [len(group) for group in groups] == [4, 4, 4, 4, 4]
    assert not AMBIGUOUS & set(code.replace("-", ""))


@given(
    st.text(alphabet=CODE_ALPHABET, min_size=20, max_size=20),
    st.lists(st.sampled_from(["-", " ", "  ", "\t", "–"]), min_size=19, max_size=19),
    st.booleans(),
)
def test_normalisation_accepts_any_case_and_separators_and_round_trips(
    symbols, separators, lower
):
    typed = symbols[0] + "".join(
        sep + char for sep, char in zip(separators, symbols[1:], strict=True)
    )
    typed = typed.lower() if lower else typed
    normalised = normalise_code(typed)
    assert normalised is not None
    assert normalised.replace("-", "") == symbols
    assert normalise_code(normalised) == normalised


@given(st.text(alphabet=CODE_ALPHABET, min_size=21, max_size=21))
def test_a_code_with_an_extra_character_does_not_parse(symbols):
    assert normalise_code(symbols) is None


@given(
    st.text(alphabet=CODE_ALPHABET, min_size=19, max_size=19),
    st.sampled_from(sorted(AMBIGUOUS)),
    st.integers(min_value=0, max_value=19),
)
def test_a_code_with_an_ambiguous_character_does_not_parse(symbols, bad, where):
    assert normalise_code(symbols[:where] + bad + symbols[where:]) is None


def test_the_row_keeps_no_readable_code(settings):
    seat_code, code = make_code()
    row = SeatCode.objects.filter(pk=seat_code.pk).values().get()
    dump = " ".join(str(value) for value in row.values())
    assert code not in dump and code.replace("-", "") not in dump
    assert seat_code.hint == code[-4:]
    # A rotated key stays in the fallbacks, and the code with it.
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "x" * 40
    assert SeatCode.objects.get().code == code


def test_valid_a_year_from_the_payment_date():
    seat_code, _ = make_code(paid_on=date(2028, 2, 29))
    assert seat_code.valid_until == date(2029, 2, 28)


# Redeeming at checkout ----------------------------------------------------------


def redeem(client, session, seat, code, **kwargs):
    return client.post(
        f"/book/{session.pk}/",
        checkout_form(seat, seat_code=code, **kwargs),
    )


def test_a_colleague_redeems_a_seat_without_paying(
    client, stripe, session, seat, mailoutbox, commit
):
    seat_code, code = make_code()
    mailoutbox.clear()
    typed = code.lower().replace("-", " ")
    with commit():
        response = redeem(
            client, session, seat, typed, attendees=[("Ada Buyer", "ada@example.com")]
        )
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.token}/"
    assert order.status == OrderStatus.PAID
    assert order.payment_method == PaymentMethod.CODE
    assert order.seat_code == seat_code
    assert order.total == 0
    assert [t.status for t in order.tickets.all()] == [TicketStatus.VALID]
    assert stripe.requests == []  # no Stripe call at all
    [confirmation] = mailoutbox
    assert confirmation.to == ["ada@example.com"]
    assert "seat code" in confirmation.body
    method, calendar = calendar_part(confirmation)
    assert method == "REQUEST"
    assert str(calendar.walk("VEVENT")[0]["UID"]) == session.calendar_uid
    assert seat_code.seats_used() == 1


def test_a_team_pack_takes_its_seats_from_the_code(client, session, team_pack):
    seat_code, code = make_code(seats=5)
    assert redeem(client, session, team_pack, code).status_code == 302
    assert seat_code.seats_used() == 5


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("ABCD-EFGH-JKMN-PQRS-TUVW", code_services.UNKNOWN),
        ("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ", code_services.UNKNOWN),
        ("ABCD-EFGH-JKMN-PQRS-TUVWX", code_services.MALFORMED),
        ("ABCD-EFGH-JKMN-PQRS-TUV", code_services.MALFORMED),
        ("ABCD-EFGH-JKMN-PQRS-TUV0", code_services.MALFORMED),
    ],
)
def test_unknown_and_malformed_codes_get_one_message_each_and_nothing_is_stored(
    client, session, seat, mailoutbox, typed, message
):
    make_code()
    mailoutbox.clear()
    response = redeem(client, session, seat, typed)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Order.objects.exists()
    assert mailoutbox == []


def test_a_real_code_with_an_extra_character_is_refused(client, session, seat):
    _, code = make_code()
    response = redeem(client, session, seat, code + "A")
    assert code_services.MALFORMED in response.content.decode()
    assert not Order.objects.exists()


def test_expired_voided_and_used_up_codes_each_say_so(client, session, seat):
    expired, expired_code = make_code(
        paid_on=timezone.localdate() - timedelta(days=400)
    )
    voided, voided_code = make_code()
    services.seat_code_void(code_id=voided.pk, reason="Paid in error.")
    used, used_code = make_code(seats=1)
    assert redeem(client, session, seat, used_code).status_code == 302
    answers = {
        code: redeem(client, session, seat, code).content.decode()
        for code in (expired_code, voided_code, used_code)
    }
    assert (
        f"This code expired on {expired.valid_until:%-d %B %Y}" in answers[expired_code]
    )
    assert code_services.VOIDED in answers[voided_code]
    assert code_services.USED_UP in answers[used_code]
    assert Order.objects.count() == 1


def test_more_seats_than_the_code_has_left_are_refused(client, session, seat):
    _, code = make_code(seats=2)
    response = redeem(client, session, seat, code, quantity=3)
    assert "This code has 2 seats left" in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_code_that_expires_mid_checkout_is_refused_at_the_moment_of_redeeming(
    session, seat
):
    seat_code, code = make_code(paid_on=timezone.localdate() - timedelta(days=365))
    assert seat_code.valid_until == timezone.localdate()
    # The buyer opened checkout today; they press the button after midnight.
    tomorrow = timezone.now() + timedelta(days=1)
    with pytest.raises(services.CodeRefused, match="expired"):
        services.seat_code_redeem(
            code=code,
            session_id=session.pk,
            ticket_type_id=seat.pk,
            quantity=1,
            buyer_name="Ada",
            buyer_email="ada@example.com",
            buyer_time_zone="UTC",
            attendees=[services.Attendee("Ada", "ada@example.com")],
            now=tomorrow,
        )
    assert not Order.objects.exists()


def test_a_code_for_one_workshop_is_refused_for_another(
    client, schedule, session, seat
):
    other = WorkshopPageFactory(parent=schedule, title="Writing a Code of Conduct")
    _, code = make_code(workshop=other)
    response = redeem(client, session, seat, code)
    assert (
        "This code is for Writing a Code of Conduct only" in response.content.decode()
    )
    assert not Order.objects.exists()
    other_session = WorkshopSessionFactory(workshop=other)
    seat.workshops.add(other)
    assert redeem(client, other_session, seat, code).status_code == 302


def test_a_sold_out_session_is_refused_and_the_code_keeps_its_seats(
    client, workshop, seat
):
    full = WorkshopSessionFactory(workshop=workshop, capacity=1)
    seat_code, code = make_code()
    assert redeem(client, full, seat, code).status_code == 302
    response = redeem(client, full, seat, code)
    assert response.status_code == 400
    assert seat_code.seats_used() == 1


def test_wrong_guesses_are_slowed_down_then_refused(client, session, seat):
    _, code = make_code()
    with freeze_time(timezone.now()) as frozen:
        guess_until_refused(client, session, seat, code, frozen)


def guess_until_refused(client, session, seat, code, freezer):
    for _ in range(code_services.SLOW_AFTER):
        assert (
            code_services.UNKNOWN
            in redeem(
                client, session, seat, "ABCD-EFGH-JKMN-PQRS-TUVW"
            ).content.decode()
        )
    # Even the right code waits now: the wait says nothing about the guess.
    assert (
        code_services.SLOW_DOWN in redeem(client, session, seat, code).content.decode()
    )
    for _ in range(code_services.REFUSE_AFTER - code_services.SLOW_AFTER):
        freezer.tick(timedelta(minutes=5))
        redeem(client, session, seat, "ABCD-EFGH-JKMN-PQRS-TUVW")
    freezer.tick(timedelta(minutes=5))
    response = redeem(client, session, seat, code)
    assert code_services.TOO_MANY_GUESSES in response.content.decode()
    assert not Order.objects.exists()
    # Another client is not held up by this one.
    other = client.post(
        f"/book/{session.pk}/",
        checkout_form(seat, seat_code=code),
        REMOTE_ADDR="198.51.100.7",
    )
    assert other.status_code == 302, other.content.decode()[-3000:]


# The buyer's page and staff's changes -------------------------------------------


def test_the_buyers_page_shows_who_redeemed_without_their_addresses(
    client, session, seat
):
    seat_code, code = make_code(seats=3)
    redeem(
        client,
        session,
        seat,
        code,
        attendees=[("Grace Hopper", "grace@private.example")],
    )
    page = client.get(f"/codes/{seat_code.token}/").content.decode()
    assert code in page
    assert "1 used, 2 left, of 3" in page
    assert "Grace Hopper" in page and "grace@private.example" not in page
    assert client.get(f"/codes/{seat_code.token}x/").status_code == 404


def test_the_buyer_sends_the_code_to_a_colleague(
    client, seat_code_page, mailoutbox, commit
):
    seat_code, code = seat_code_page
    with commit():
        response = client.post(
            f"/codes/{seat_code.token}/", {"name": "Lin", "email": "lin@example.com"}
        )
    assert response.status_code == 302
    [email] = mailoutbox
    assert email.to == ["lin@example.com"]
    assert email.reply_to == ["buyer@example.com"]
    assert code in email.body


def test_a_malformed_colleague_address_sends_nothing(
    client, seat_code_page, mailoutbox
):
    seat_code, _ = seat_code_page
    response = client.post(f"/codes/{seat_code.token}/", {"email": "lin@@example"})
    assert response.status_code == 400
    assert "Enter an email address like" in response.content.decode()
    assert mailoutbox == []


@pytest.fixture
def seat_code_page(db):
    seat_code, code = make_code()
    mail.outbox.clear()
    return seat_code, code


def test_staff_extend_add_seats_and_void_and_the_buyer_is_told_each_time(
    seat_code_page, mailoutbox, commit, admin_user
):
    seat_code, code = seat_code_page
    later = seat_code.valid_until + timedelta(days=90)
    with commit():
        services.seat_code_extend(
            code_id=seat_code.pk, valid_until=later, user=admin_user
        )
        services.seat_code_add_seats(code_id=seat_code.pk, seats=2, user=admin_user)
        services.seat_code_void(
            code_id=seat_code.pk, reason="Refunded.", user=admin_user
        )
    seat_code.refresh_from_db()
    assert (seat_code.valid_until, seat_code.seats) == (later, 5)
    assert seat_code.voided_at is not None
    assert [m.to for m in mailoutbox] == [["buyer@example.com"]] * 3
    assert f"valid until {later:%-d %B %Y}" in mailoutbox[0].body
    assert "2 seats added" in mailoutbox[1].body
    assert "withdrawn: Refunded." in mailoutbox[2].body
    assert list(
        ModelLogEntry.objects.filter(object_id=str(seat_code.pk))
        .order_by("timestamp", "pk")
        .values_list("action", flat=True)
    ) == [
        "workshops.seatcode.issued",
        "workshops.seatcode.extended",
        "workshops.seatcode.seats_added",
        "workshops.seatcode.voided",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda c: services.seat_code_extend(
                code_id=c.pk, valid_until=c.valid_until
            ),
            "Choose a day after",
        ),
        (
            lambda c: services.seat_code_add_seats(code_id=c.pk, seats=0),
            "Add between 1",
        ),
        (
            lambda c: services.seat_code_add_seats(code_id=c.pk, seats=10_000),
            "Add between 1",
        ),
        (lambda c: services.seat_code_void(code_id=c.pk, reason="  "), "Say why"),
    ],
)
def test_bad_staff_changes_change_nothing(seat_code_page, mailoutbox, change, message):
    seat_code, _ = seat_code_page
    before = SeatCode.objects.filter(pk=seat_code.pk).values().get()
    with pytest.raises(services.CodeError, match=message):
        change(seat_code)
    assert SeatCode.objects.filter(pk=seat_code.pk).values().get() == before
    assert mailoutbox == []


# A team pack sold as a code, by card ----------------------------------------------


@pytest.fixture
def code_pack(workshop):
    return TicketTypeFactory(
        name="Team code for five",
        price=Decimal("1500.00"),
        seats_per_ticket=5,
        max_per_order=4,
        issues_code=True,
        workshops=[workshop],
    )


def test_a_team_pack_bought_by_card_yields_a_code_instead_of_named_attendees(
    client, stripe, session, code_pack, mailoutbox, commit
):
    step_two = client.get(
        f"/book/{session.pk}/", {"ticket_type": code_pack.pk, "quantity": 2}
    ).content.decode()
    assert "Nobody to name now" in step_two and "Attendee 1" not in step_two
    data = checkout_form(code_pack, quantity=2, attendees=[])
    response = client.post(f"/book/{session.pk}/", data)
    order = Order.objects.get()
    assert response.status_code == 302 and order.total == Decimal("3000.00")
    # No seat is held by a code until a colleague redeems it.
    assert not order.tickets.exists()
    assert services.seats_taken(session.pk, now=timezone.now()) == 0
    stripe.complete(order.stripe_checkout_session_id)
    event = stripe.event("checkout.session.completed", order.stripe_checkout_session_id)
    with commit():
        for _ in range(2):
            deliver(client, stripe, event)
        client.get(f"/orders/{order.token}/")
    seat_code = SeatCode.objects.get()
    assert (seat_code.order, seat_code.seats) == (order, 10)
    assert seat_code.workshop_id == session.workshop_id
    assert seat_code.paid_on == timezone.localdate()
    [email] = mailoutbox
    assert email.to == ["ada@example.com"] and seat_code.code in email.body
    page = client.get(f"/orders/{order.token}/").content.decode()
    assert "Your seat code" in page and f"/codes/{seat_code.token}/" in page


def test_a_code_cannot_pay_for_another_code(client, session, code_pack):
    _, code = make_code(seats=10)
    with pytest.raises(services.CheckoutError, match="not for another code"):
        services.seat_code_redeem(
            code=code,
            session_id=session.pk,
            ticket_type_id=code_pack.pk,
            quantity=1,
            buyer_name="Ada",
            buyer_email="ada@example.com",
            buyer_time_zone="UTC",
            attendees=[],
        )
    assert not Order.objects.exists()


# The staff list ---------------------------------------------------------------


def redeemed_codes(count: int, *, session, seat) -> list[SeatCode]:
    """Codes of five seats, two taken by colleagues and one given back each."""
    codes = []
    for _ in range(count):
        seat_code, code = make_code(seats=5)
        order = services.seat_code_redeem(
            code=code,
            session_id=session.pk,
            ticket_type_id=seat.pk,
            quantity=2,
            buyer_name="Colleague",
            buyer_email="colleague@example.com",
            buyer_time_zone="UTC",
            attendees=[
                services.Attendee("A", "a@example.com"),
                services.Attendee("B", "b@example.com"),
            ],
        )
        Ticket.objects.create(
            order=order,
            session=session,
            attendee_name="Gave it back",
            attendee_email="c@example.com",
            status=TicketStatus.CANCELLED,
        )
        codes.append(seat_code)
    return codes


def used_column(html: str) -> list[str]:
    table = BeautifulSoup(html, "html.parser").select_one("table.listing")
    headings = [th.get_text(strip=True) for th in table.select("thead th")]
    column = headings.index("Used")
    return [
        row.select("td")[column].get_text(strip=True)
        for row in table.select("tbody tr")
    ]


def export_rows(client) -> list[dict]:
    response = client.get("/admin/workshops/seat-codes/?export=csv")
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_the_code_list_and_export_count_used_seats_without_a_query_per_code(
    client, sales_user, session, seat
):
    client.force_login(sales_user)
    redeemed_codes(2, session=session, seat=seat)
    with CaptureQueriesContext(connection) as few_list:
        few_page = client.get("/admin/workshops/seat-codes/").content.decode()
    with CaptureQueriesContext(connection) as few_export:
        few_rows = export_rows(client)
    codes = redeemed_codes(5, session=session, seat=seat)
    with CaptureQueriesContext(connection) as many_list:
        many_page = client.get("/admin/workshops/seat-codes/").content.decode()
    with CaptureQueriesContext(connection) as many_export:
        many_rows = export_rows(client)
    assert used_column(few_page) == ["2"] * 2
    assert used_column(many_page) == ["2"] * 7
    assert [row["Seats used"] for row in few_rows] == ["2"] * 2
    assert [row["Seats used"] for row in many_rows] == ["2"] * 7
    assert len(many_list) == len(few_list)
    assert len(many_export) == len(few_export)
    # Still newest first, as the model orders codes.
    assert many_page.index(f"…{codes[-1].hint}") < many_page.index(f"…{codes[0].hint}")
