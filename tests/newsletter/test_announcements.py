"""New workshop dates, each told once to the subscribers whose hours they suit."""

from datetime import time, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from newsletter import announcing, services
from newsletter.models import DeliveryState, SendKind, Subscriber, Suppression
from tests.newsletter.factories import (
    MailingListFactory,
    SubscriberFactory,
    SubscriptionFactory,
)
from tests.workshops.factories import WorkshopSessionFactory
from workshops.models import WorkshopSession

pytestmark = pytest.mark.django_db


@pytest.fixture
def dates(db):
    return MailingListFactory(name="Workshop dates", announces_new_dates=True)


@pytest.fixture
def sessions(workshop):
    """Two new dates: a New York morning, and a Sydney morning (a US evening)."""
    day = timezone.localdate() + timedelta(days=40)
    return [
        WorkshopSessionFactory(
            workshop=workshop,
            date=day,
            start_time=time(10),
            end_time=time(13),
            time_zone="America/New_York",
        ),
        WorkshopSessionFactory(
            workshop=workshop,
            date=day + timedelta(days=1),
            start_time=time(9),
            end_time=time(12),
            time_zone="Australia/Sydney",
            audience_label="Australian time",
        ),
    ]


def person(email, dates, zone="", start=None, end=None) -> Subscriber:
    subscriber = SubscriberFactory(
        email=email, name=email.split("@")[0].title(), time_zone=zone
    )
    subscriber.attend_from, subscriber.attend_until = start, end
    subscriber.save()
    SubscriptionFactory(subscriber=subscriber, mailing_list=dates)
    return subscriber


def announce(sessions, dates):
    send = services.announcement_send(
        session_ids=[session.pk for session in sessions], mailing_list_id=dates.pk
    )
    services.issue_send_work(send_id=send.pk, seconds=30)
    send.refresh_from_db()
    return send


def by_recipient():
    return {message.to[0]: message for message in mail.outbox}


def test_each_subscriber_hears_only_of_the_dates_within_their_hours(
    workshop, sessions, dates
):
    workshop.save_revision().publish()
    # 9 to 17 in New York: the New York morning, not the Sydney one (17:00-20:00
    # the evening before in New York).
    person("office@example.com", dates, "America/New_York", 9, 17)
    # Evenings in Los Angeles (18 to 23): Sydney's 9:00 is 14:00 or 15:00 there.
    person("owl@example.com", dates, "America/Los_Angeles", 18, 23)
    # Sydney mornings.
    person("sydney@example.com", dates, "Australia/Sydney", 8, 13)
    # No hours: every date.
    person("any@example.com", dates)

    plan = services.announcement_plan(mailing_list=dates, sessions=sessions)
    assert plan.per_session == {sessions[0].pk: 2, sessions[1].pk: 2}
    assert plan.recipients == 3

    send = announce(sessions, dates)
    assert send.kind == SendKind.DATES
    received = by_recipient()
    assert set(received) == {
        "office@example.com",
        "sydney@example.com",
        "any@example.com",
    }
    office = received["office@example.com"].body
    assert "10:00 AM–1:00 PM" in office and "Australian time" not in office
    sydney = received["sydney@example.com"].body
    assert "Australian time" in sydney and "9:00 AM–12:00 PM" in sydney
    anyone = received["any@example.com"].body
    assert "Australian time" in anyone and "10:00 AM–1:00 PM" in anyone
    # Sent through the newsletter's pipeline: its ledger and its headers.
    message = received["any@example.com"]
    assert message.extra_headers["List-Unsubscribe-Post"] == (
        "List-Unsubscribe=One-Click"
    )
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    assert set(send.deliveries.values_list("state", flat=True)) == {DeliveryState.SENT}


def test_the_dates_are_shown_in_the_subscribers_zone(workshop, sessions, dates):
    workshop.save_revision().publish()
    person("london@example.com", dates, "Europe/London")
    announce(sessions[:1], dates)
    body = mail.outbox[0].body
    # 10:00 in New York is 15:00 in London (both on winter time, in 40 days).
    assert "3:00 PM–6:00 PM" in body
    assert "10:00 AM–1:00 PM" in body and "where it is taught" in body


def test_announcing_twice_sends_nothing_more(workshop, sessions, dates):
    workshop.save_revision().publish()
    person("any@example.com", dates)
    announce(sessions, dates)
    assert len(mail.outbox) == 1
    assert services.announcement_candidates() == []
    with pytest.raises(ValidationError):
        services.announcement_send(
            session_ids=[sessions[0].pk], mailing_list_id=dates.pk
        )
    assert len(mail.outbox) == 1
    # A date added later is new; the old ones are not offered again.
    later = WorkshopSessionFactory(
        workshop=workshop, date=sessions[0].date + timedelta(days=60)
    )
    assert [session.pk for session in services.announcement_candidates()] == [later.pk]


def test_suppressed_and_unsubscribed_people_are_not_mailed(workshop, sessions, dates):
    workshop.save_revision().publish()
    person("any@example.com", dates)
    gone = person("gone@example.com", dates)
    Suppression.objects.create(email_hash=gone.email_hash, reason="bounced")
    announce(sessions, dates)
    assert list(by_recipient()) == ["any@example.com"]


def test_a_window_past_midnight_and_a_date_to_be_announced(workshop, dates):
    night = announcing.Availability("Europe/Berlin", 22, 2)
    session = WorkshopSession(
        workshop=workshop,
        date=timezone.localdate() + timedelta(days=10),
        start_time=time(17),
        end_time=time(19),
        time_zone="America/New_York",
    )
    # 17:00 to 19:00 in New York is 23:00 to 01:00 in Berlin.
    assert announcing.fits(session, night)
    session.start_time, session.end_time = time(20), time(22)
    assert not announcing.fits(session, night)
    session.start_time = session.end_time = None
    assert announcing.fits(session, night)


def test_the_editor_counts_confirms_and_sends(client, staff, workshop, sessions, dates):
    workshop.save_revision().publish()
    person("office@example.com", dates, "America/New_York", 9, 17)
    person("any@example.com", dates)
    page = client.get("/admin/newsletter/sends/dates/").content.decode()
    assert 'data-session-recipients="2"' in page
    assert 'data-session-recipients="1"' in page
    chosen = {"session": [str(sessions[1].pk)]}
    confirm = client.post("/admin/newsletter/sends/dates/", chosen).content.decode()
    assert 'data-recipient-count="1"' in confirm
    assert not mail.outbox
    response = client.post(
        "/admin/newsletter/sends/dates/", {**chosen, "confirmed": "yes"}
    )
    assert response.status_code == 302
    assert services.announcement_candidates() == [sessions[0]]


def test_hours_on_the_preferences_page(client, dates, deep_dives):
    from newsletter import links

    subscriber = person("ada@example.com", dates)
    url = links.preferences_url(subscriber)
    page = client.get(url).content.decode()
    assert "When you can attend" in page
    response = client.post(
        url,
        {
            "action": "save",
            "lists": [dates.pk],
            "time_zone": "Europe/Lisbon",
            "attend_from": "8",
            "attend_until": "12",
        },
    )
    assert response.status_code == 302
    subscriber.refresh_from_db()
    assert (subscriber.time_zone, subscriber.attend_from, subscriber.attend_until) == (
        "Europe/Lisbon",
        8,
        12,
    )
    # Hours without a zone are refused, and nothing changes.
    response = client.post(
        url,
        {
            "action": "save",
            "lists": [dates.pk],
            "attend_from": "8",
            "attend_until": "9",
        },
    )
    assert response.status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.attend_until == 12


def test_the_sign_up_page_asks_for_hours_the_footer_does_not(client, home_page, dates):
    from tests.newsletter.factories import NewsletterSignupPageFactory
    from tests.newsletter.pages_helpers import signup_form_fields

    page = NewsletterSignupPageFactory(parent=home_page)
    html = client.get(page.url).content.decode()
    main = html.split("<main")[1].split("</main>")[0]
    assert "When you can attend" in main
    footer = html.split("</main>")[1]
    assert "When you can attend" not in footer
    fields = signup_form_fields(main)
    client.post(
        "/newsletter/subscribe/",
        {
            "email": "new@example.com",
            "lists": [dates.pk],
            "time_zone": "Asia/Kolkata",
            "attend_from": "18",
            "attend_until": "22",
            **fields,
        },
    )
    subscriber = Subscriber.objects.get(email="new@example.com")
    assert (subscriber.time_zone, subscriber.attend_from, subscriber.attend_until) == (
        "Asia/Kolkata",
        18,
        22,
    )
    # Someone else's form cannot change a known subscriber's hours.
    client.post(
        "/newsletter/subscribe/",
        {
            "email": "new@example.com",
            "lists": [dates.pk],
            "time_zone": "UTC",
            "attend_from": "1",
            "attend_until": "2",
            **fields,
        },
    )
    subscriber.refresh_from_db()
    assert subscriber.attend_from == 18


def test_in_batch_mode_each_recipient_gets_their_own_dates(
    batch_backend, workshop, sessions, dates, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 10
    workshop.save_revision().publish()
    person("office@example.com", dates, "America/New_York", 9, 17)
    person("any@example.com", dates)
    send = announce(sessions, dates)
    assert "%recipient.dates_html%" in send.html
    assert "%recipient.dates_text%" in send.text
    [message] = mail.outbox
    merge = message.anymail_test_params["merge_data"]
    assert "Australian time" not in merge["office@example.com"]["dates_text"]
    assert "Australian time" in merge["any@example.com"]["dates_text"]
    assert "<div" in merge["any@example.com"]["dates_html"]
    assert message.anymail_test_params["merge_headers"]["any@example.com"][
        "List-Unsubscribe"
    ].startswith("<http")


def test_the_send_pages_show_an_announcement(client, staff, workshop, sessions, dates):
    workshop.save_revision().publish()
    person("any@example.com", dates)
    send = announce(sessions, dates)
    assert client.get("/admin/newsletter/sends/").status_code == 200
    detail = client.get(f"/admin/newsletter/sends/{send.pk}/")
    assert detail.status_code == 200
    assert "New dates: 2 sessions" in detail.content.decode()


def test_after_publishing_new_dates_the_editor_is_offered_the_announcement(
    client, staff, workshop, dates
):
    from tests.workshops.test_sessions import page_form, session_form

    response = client.post(
        f"/admin/pages/{workshop.pk}/edit/",
        page_form(
            workshop,
            [session_form(date=str(timezone.localdate() + timedelta(days=50)))],
            **{"action-publish": "1"},
        ),
        follow=True,
    )
    body = response.content.decode()
    assert "1 published date not announced yet." in body
    assert "/admin/newsletter/sends/dates/" in body
