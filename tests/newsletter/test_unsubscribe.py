"""One-click unsubscribe (RFC 8058) and the preferences page."""

import re

import pytest
from django.core import mail, signing
from django.test import Client

from newsletter import links
from newsletter.models import (
    ConsentAction,
    ConsentRecord,
    MailingList,
    Subscription,
    SubscriptionStatus,
    Suppression,
)
from newsletter.services import (
    Origin,
    subscriber_confirm,
    subscriber_erase,
    subscriber_subscribe,
)
from tests.newsletter.factories import SubscriberFactory, SubscriptionFactory
from tests.newsletter.pages_helpers import statuses

pytestmark = pytest.mark.django_db


@pytest.fixture
def strict_client():
    """A client that, like a real browser session, is held to CSRF checks."""
    return Client(enforce_csrf_checks=True)


def header_url(headers: dict[str, str]) -> str:
    return headers["List-Unsubscribe"].strip("<>")


def test_one_click_post_unsubscribes_without_a_csrf_token(
    home_page, subscriber, strict_client
):
    url = header_url(links.unsubscribe_headers(subscriber))
    response = strict_client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert set(statuses(subscriber).values()) == {SubscriptionStatus.UNSUBSCRIBED}
    record = ConsentRecord.objects.filter(action=ConsentAction.UNSUBSCRIBED).first()
    assert record.source == "one-click"


def test_the_welcome_email_carries_a_working_one_click_header(
    home_page, lists, strict_client, commit
):
    with commit():
        subscriber_subscribe(
            email="bo@example.com",
            name="",
            mailing_lists=lists[:1],
            consent_text="I agree.",
            origin=Origin(source="test"),
        )
    subscriber = Subscription.objects.get().subscriber
    with commit():
        subscriber_confirm(
            subscriber_id=subscriber.pk,
            list_ids=[lists[0].pk],
            origin=Origin(source="test"),
        )
    welcome = mail.outbox[-1]
    response = strict_client.post(
        header_url(welcome.extra_headers), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert Subscription.objects.get().status == SubscriptionStatus.UNSUBSCRIBED


def test_a_list_specific_link_leaves_the_other_lists(
    home_page, lists, subscriber, strict_client
):
    url = links.unsubscribe_url(subscriber, [lists[1].pk])
    strict_client.post(url, {"List-Unsubscribe": "One-Click"})
    assert statuses(subscriber) == {
        "Diversity Deep Dives": SubscriptionStatus.CONFIRMED,
        "Workshop dates": SubscriptionStatus.UNSUBSCRIBED,
    }


def test_a_get_on_the_unsubscribe_url_shows_the_page_and_changes_nothing(
    client, home_page, subscriber
):
    url = links.unsubscribe_url(subscriber)
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<button type="submit" class="button">Unsubscribe</button>' in html
    assert 'name="robots" content="noindex"' in html
    assert set(statuses(subscriber).values()) == {SubscriptionStatus.CONFIRMED}


def _altered(token: str) -> str:
    last = "A" if token[-1] != "A" else "B"
    return token[:-1] + last


@pytest.mark.parametrize(
    "make_url",
    [
        lambda s: links.unsubscribe_url(s).replace("/unsubscribe/", "/unsubscribe/x"),
        lambda s: (
            "/newsletter/unsubscribe/"
            + _altered(links.unsubscribe_url(s).rstrip("/").rsplit("/", 1)[1])
            + "/"
        ),
        # A token for another person, signed by someone without our key.
        lambda s: (
            "/newsletter/unsubscribe/"
            + signing.dumps({"s": s.pk}, key="guess", salt=links.UNSUBSCRIBE_SALT)
            + "/"
        ),
        # A genuine preferences token is no unsubscribe token.
        lambda s: links.preferences_url(s).replace("/preferences/", "/unsubscribe/"),
    ],
    ids=["garbled", "altered", "forged", "wrong-purpose"],
)
def test_a_forged_or_altered_token_is_refused(
    home_page, subscriber, strict_client, make_url
):
    response = strict_client.post(
        make_url(subscriber), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 400
    assert set(statuses(subscriber).values()) == {SubscriptionStatus.CONFIRMED}
    assert not ConsentRecord.objects.exists()


def test_one_click_for_an_erased_person_still_answers_200(
    home_page, subscriber, strict_client
):
    url = links.unsubscribe_url(subscriber)
    subscriber_erase(subscriber=subscriber)
    response = strict_client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200


def test_preferences_show_the_lists_and_save_changes(
    home_page, lists, subscriber, strict_client
):
    private = MailingList.objects.create(name="Alumni", is_public=False)
    url = links.preferences_url(subscriber)
    page = strict_client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "ada@example.com" in html
    assert "Alumni" not in html
    assert html.count("checked") == 2
    token = page.cookies["csrftoken"].value

    response = strict_client.post(
        url,
        {"name": "Ada L.", "lists": [lists[0].pk], "action": "save"},
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 302
    assert statuses(subscriber) == {
        "Diversity Deep Dives": SubscriptionStatus.CONFIRMED,
        "Workshop dates": SubscriptionStatus.UNSUBSCRIBED,
    }
    subscriber.refresh_from_db()
    assert subscriber.name == "Ada L."
    assert "Your choices are saved." in strict_client.get(url).content.decode()

    # Ticking a list again from the personal page confirms it at once.
    strict_client.post(
        url,
        {"name": "Ada L.", "lists": [lists[0].pk, lists[1].pk], "action": "save"},
        HTTP_X_CSRFTOKEN=token,
    )
    assert set(statuses(subscriber).values()) == {SubscriptionStatus.CONFIRMED}
    # A list the page never offered cannot be slipped in.
    bad = strict_client.post(
        url,
        {"lists": [private.pk], "action": "save"},
        HTTP_X_CSRFTOKEN=token,
    )
    assert bad.status_code == 400
    assert not Subscription.objects.filter(mailing_list=private).exists()


@pytest.fixture
def half_pending(lists):
    """Confirmed on one list; someone, perhaps not Pat, asked for the other."""
    person = SubscriberFactory(email="pat@example.com")
    SubscriptionFactory(subscriber=person, mailing_list=lists[0])
    SubscriptionFactory(
        subscriber=person,
        mailing_list=lists[1],
        status=SubscriptionStatus.PENDING,
    )
    return person


def test_saving_preferences_neither_confirms_nor_cancels_a_pending_list(
    client, home_page, lists, half_pending, strict_client
):
    url = links.preferences_url(half_pending)
    page = strict_client.get(url)
    html = page.content.decode()
    assert "Workshop dates (waiting for your confirmation)" in html
    assert "stays waiting until you tick it" in html
    assert html.count("checked") == 1
    # Pat only changes the name; the pending list stays as the page showed it.
    response = strict_client.post(
        url,
        {"name": "Pat", "lists": [lists[0].pk], "action": "save"},
        HTTP_X_CSRFTOKEN=page.cookies["csrftoken"].value,
    )
    assert response.status_code == 302
    half_pending.refresh_from_db()
    assert half_pending.name == "Pat"
    assert statuses(half_pending) == {
        "Diversity Deep Dives": SubscriptionStatus.CONFIRMED,
        "Workshop dates": SubscriptionStatus.PENDING,
    }
    assert not ConsentRecord.objects.exists()
    # The genuine request can still be confirmed from the email.
    client.post(links.confirm_url(half_pending, [lists[1].pk]))
    assert set(statuses(half_pending).values()) == {SubscriptionStatus.CONFIRMED}


def test_each_list_checkbox_on_the_preferences_page_is_described(
    home_page, lists, subscriber, client
):
    MailingList.objects.filter(pk=lists[0].pk).update(description="Monthly essays.")
    html = client.get(links.preferences_url(subscriber)).content.decode()
    box = re.search(rf'<input type="checkbox"[^>]*value="{lists[0].pk}"[^>]*>', html)
    described = re.search(r'aria-describedby="([^"]+)"', box.group(0)).group(1)
    assert re.search(rf'<p[^>]*id="{described}"[^>]*>Monthly essays\.</p>', html)


def test_ticking_a_pending_list_on_the_preferences_page_confirms_it(
    home_page, lists, half_pending, strict_client
):
    url = links.preferences_url(half_pending)
    token = strict_client.get(url).cookies["csrftoken"].value
    strict_client.post(
        url,
        {"lists": [lists[0].pk, lists[1].pk], "action": "save"},
        HTTP_X_CSRFTOKEN=token,
    )
    assert set(statuses(half_pending).values()) == {SubscriptionStatus.CONFIRMED}
    assert ConsentRecord.objects.get().action == ConsentAction.CONFIRMED


def test_preferences_unsubscribe_from_all(home_page, subscriber, strict_client):
    url = links.preferences_url(subscriber)
    token = strict_client.get(url).cookies["csrftoken"].value
    response = strict_client.post(
        url, {"action": "unsubscribe_all"}, HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 302
    assert set(statuses(subscriber).values()) == {SubscriptionStatus.UNSUBSCRIBED}
    assert "unsubscribed from every list" in strict_client.get(url).content.decode()


def test_the_preferences_page_needs_its_csrf_token(
    home_page, subscriber, strict_client
):
    response = strict_client.post(
        links.preferences_url(subscriber), {"action": "unsubscribe_all"}
    )
    assert response.status_code == 403
    assert set(statuses(subscriber).values()) == {SubscriptionStatus.CONFIRMED}


def test_a_preferences_link_for_another_purpose_is_refused(
    client, home_page, subscriber
):
    confirm = links.confirm_url(subscriber, [1]).replace("/confirm/", "/preferences/")
    assert client.get(confirm).status_code == 400


def test_unsubscribing_does_not_suppress(home_page, subscriber, strict_client):
    strict_client.post(
        links.unsubscribe_url(subscriber), {"List-Unsubscribe": "One-Click"}
    )
    # They left the lists, but may come back through the form and a confirmation.
    assert not Suppression.objects.exists()


def test_signing_out_of_all_links_stops_every_earlier_link(
    home_page, subscriber, client
):
    old_preferences = links.preferences_url(subscriber, absolute=False)
    old_unsubscribe = header_url(links.unsubscribe_headers(subscriber))

    response = client.post(old_preferences, {"action": "sign_out_links"})
    assert response.status_code == 200
    assert "no longer work" in response.content.decode()

    assert client.get(old_preferences).status_code == 400
    # An unsubscribe link from an earlier email still stops mail (an opt-out
    # must keep working), but leads nowhere else.
    page = client.get(old_unsubscribe)
    assert page.status_code == 200
    assert "/newsletter/preferences/" not in page.content.decode()
    response = client.post(old_unsubscribe, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "/newsletter/preferences/" not in response.content.decode()
    assert set(statuses(subscriber).values()) == {SubscriptionStatus.UNSUBSCRIBED}
    subscriber_confirm(
        subscriber_id=subscriber.pk,
        list_ids=list(subscriber.subscriptions.values_list("mailing_list", flat=True)),
        origin=Origin(source="test"),
    )
    # The links in the next email work.
    subscriber.refresh_from_db()
    assert (
        client.get(links.preferences_url(subscriber, absolute=False)).status_code == 200
    )
    fresh = header_url(links.unsubscribe_headers(subscriber))
    assert client.post(fresh, {"List-Unsubscribe": "One-Click"}).status_code == 200
    assert set(statuses(subscriber).values()) == {SubscriptionStatus.UNSUBSCRIBED}


def test_each_person_has_a_link_key_of_their_own(lists):
    first, second = SubscriberFactory(), SubscriberFactory()
    assert first.link_key and second.link_key
    assert first.link_key != second.link_key


def test_links_from_before_link_keys_keep_working_until_the_person_signs_out(
    home_page, subscriber, client
):
    # Someone subscribed before links carried keys: their row has none, and
    # the links in mail they already have carry none.
    subscriber.link_key = ""
    subscriber.save()
    old = links.preferences_url(subscriber, absolute=False)
    assert "k" not in signing.loads(
        old.rstrip("/").rsplit("/", 1)[1], salt=links.PREFERENCES_SALT
    )
    assert client.get(old).status_code == 200

    client.post(old, {"action": "sign_out_links"})

    assert client.get(old).status_code == 400
