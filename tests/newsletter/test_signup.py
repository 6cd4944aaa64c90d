"""Signing up: the form, double opt-in by POST, the welcome, and bad input."""

import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext

from newsletter.forms import SignupForm
from newsletter.models import (
    ConsentAction,
    ConsentRecord,
    MailingList,
    NewsletterSettings,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    email_digest,
)
from newsletter.services import Origin, subscriber_erase, suppression_add
from tests.newsletter.factories import (
    NewsletterSignupPageFactory,
    SubscriberFactory,
    SubscriptionFactory,
)
from tests.newsletter.pages_helpers import links_in, signup_form_fields, statuses

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0"


def sign_up(client, chosen, *, page="/", ip="203.0.113.7", **overrides):
    """Fill in the footer form of `page` the way a browser would, and send it."""
    fields = signup_form_fields(client.get(page).content.decode())
    data = {
        "email": "Ada@Example.com",
        "name": "Ada",
        "lists": [mailing_list.pk for mailing_list in chosen],
        "website": "",
        **fields,
        **overrides,
    }
    return client.post(
        "/newsletter/subscribe/",
        data,
        REMOTE_ADDR=ip,
        HTTP_USER_AGENT=BROWSER,
    )


def test_the_footer_offers_the_public_lists(client, home_page, lists):
    MailingList.objects.create(name="Staff only", is_public=False)
    html = client.get("/").content.decode()
    assert 'action="/newsletter/subscribe/"' in html
    assert "Diversity Deep Dives" in html
    assert "Workshop dates" in html
    assert "Staff only" not in html
    assert signup_form_fields(html)["source"] == "footer"
    assert NewsletterSettings.objects.get().consent_text in html


def test_a_form_reads_its_lists_once_however_often_drawn(lists):
    with CaptureQueriesContext(connection) as queries:
        form = SignupForm(initial={"source": "footer"}, consent_digest="x")
        html = str(form["lists"]) + str(form["lists"])

    list_queries = [q for q in queries if "newsletter_mailinglist" in q["sql"]]
    assert len(list_queries) == 1
    assert html.count('type="checkbox"') == 2 * len(lists)
    assert [mailing_list.name for mailing_list in form.offered_lists] == [
        "Diversity Deep Dives",
        "Workshop dates",
    ]


def assert_pending_with_consent_recorded() -> ConsentRecord:
    """The person waits on both lists; returns the record of their request."""
    subscriber = Subscriber.objects.get()
    assert subscriber.email == "ada@example.com"
    assert subscriber.name == "Ada"
    assert subscriber.source == "footer"
    assert set(subscriber.subscriptions.values_list("status", flat=True)) == {
        SubscriptionStatus.PENDING
    }
    requested = ConsentRecord.objects.filter(action=ConsentAction.REQUESTED)
    assert requested.count() == 2
    record = requested.first()
    assert record.ip_address == "203.0.113.7"
    assert record.user_agent == BROWSER
    assert record.source == "footer"
    assert record.consent_text.text == NewsletterSettings.objects.get().consent_text
    return record


def assert_one_confirmation_email() -> str:
    """The one email asks for a confirmation; returns the link it gives."""
    [confirmation] = mail.outbox
    assert confirmation.to == ["ada@example.com"]
    assert confirmation.subject == "Please confirm your subscription"
    assert "Diversity Deep Dives" in confirmation.body
    confirm_url = next(url for url in links_in(confirmation.body) if "/confirm/" in url)
    assert any("/preferences/" in url for url in links_in(confirmation.body))
    html, _ = confirmation.alternatives[0]
    assert confirm_url in html
    return confirm_url


def assert_confirmed_and_welcomed(confirmed, requested: ConsentRecord) -> None:
    assert confirmed.status_code == 200
    assert "You are subscribed" in confirmed.content.decode()
    assert set(Subscription.objects.values_list("status", flat=True)) == {
        SubscriptionStatus.CONFIRMED
    }
    confirm_record = ConsentRecord.objects.filter(action=ConsentAction.CONFIRMED)
    assert confirm_record.count() == 2
    assert confirm_record.first().ip_address == "198.51.100.2"
    assert confirm_record.first().consent_text == requested.consent_text

    welcome = mail.outbox[1]
    assert welcome.subject == "Welcome to Diversity Deep Dives and Workshop dates"
    assert welcome.extra_headers["List-Unsubscribe-Post"] == (
        "List-Unsubscribe=One-Click"
    )
    assert welcome.extra_headers["List-Unsubscribe"].startswith(
        "<http://testserver/newsletter/unsubscribe/"
    )
    assert "1 Test Street" in welcome.body


def test_sign_up_confirm_by_post_then_welcome(client, home_page, lists, commit):
    with commit():
        response = sign_up(client, lists)
    assert response.status_code == 302
    assert response["Location"] == "/newsletter/subscribe/thanks/"
    assert "Check your inbox" in client.get(response["Location"]).content.decode()
    record = assert_pending_with_consent_recorded()
    confirm_url = assert_one_confirmation_email()

    # A mail scanner follows the link: it sees a button and confirms nothing.
    with commit():
        page = client.get(confirm_url)
    assert page.status_code == 200
    assert "Confirm my subscription" in page.content.decode()
    assert not Subscription.objects.filter(status=SubscriptionStatus.CONFIRMED)
    assert len(mail.outbox) == 1

    with commit():
        confirmed = client.post(confirm_url, REMOTE_ADDR="198.51.100.2")
    assert_confirmed_and_welcomed(confirmed, record)

    # Pressing the button again changes nothing and sends no second welcome.
    with commit():
        again = client.post(confirm_url)
    assert "confirmed already" in again.content.decode()
    assert len(mail.outbox) == 2


def test_the_answer_is_the_same_whether_or_not_the_address_is_known(
    client, home_page, lists, commit
):
    with commit():
        first = sign_up(client, lists, email="new@example.com")
    Subscription.objects.update(status=SubscriptionStatus.CONFIRMED)
    with commit():
        known = sign_up(client, lists, email="new@example.com")
        unknown = sign_up(client, lists, email="other@example.com")
    assert first.status_code == known.status_code == unknown.status_code == 302
    assert first["Location"] == known["Location"] == unknown["Location"]
    # The owner of the known address learns by email, nobody else.
    subjects = [(m.to[0], m.subject) for m in mail.outbox]
    assert ("new@example.com", "You are already subscribed") in subjects


def test_a_list_without_double_opt_in_subscribes_at_once(
    client, home_page, lists, commit
):
    instant = MailingList.objects.create(name="Instant", double_opt_in=False)
    with commit():
        sign_up(client, [instant])
    assert Subscription.objects.get().status == SubscriptionStatus.CONFIRMED
    assert ConsentRecord.objects.get().action == ConsentAction.SUBSCRIBED
    [welcome] = mail.outbox
    assert welcome.subject == "Welcome to Instant"


def test_an_erased_address_may_come_back_by_confirming_even_without_double_opt_in(
    client, home_page, lists, commit
):
    instant = MailingList.objects.create(name="Instant", double_opt_in=False)
    subscriber_erase(subscriber=SubscriberFactory(email="ada@example.com"))
    assert Suppression.objects.get().reason == SuppressionReason.ERASED
    with commit():
        sign_up(client, [instant])
    assert Subscription.objects.get().status == SubscriptionStatus.PENDING
    [confirmation] = mail.outbox
    confirm_url = next(u for u in links_in(confirmation.body) if "/confirm/" in u)
    with commit():
        client.post(confirm_url)
    # The owner confirmed from their inbox: fresh consent ends the suppression.
    assert not Suppression.objects.exists()
    assert Subscription.objects.get().status == SubscriptionStatus.CONFIRMED
    assert ConsentRecord.objects.filter(
        action=ConsentAction.SUPPRESSION_LIFTED
    ).exists()


@pytest.mark.parametrize(
    "reason",
    [
        SuppressionReason.COMPLAINT,
        SuppressionReason.HARD_BOUNCE,
        SuppressionReason.SOFT_BOUNCES,
        SuppressionReason.PROVIDER_UNSUBSCRIBE,
    ],
)
def test_an_address_that_bounced_or_complained_is_never_mailed_again(
    client, home_page, lists, commit, reason
):
    instant = MailingList.objects.create(name="Instant", double_opt_in=False)
    known = SubscriberFactory(email="ada@example.com")
    SubscriptionFactory(subscriber=known, mailing_list=lists[0])
    suppression_add(
        email="ada@example.com", reason=reason, origin=Origin(source="provider")
    )
    suppression_add(
        email="gone@example.com", reason=reason, origin=Origin(source="provider")
    )
    history = ConsentRecord.objects.count()
    with commit():
        answers = [
            sign_up(client, [*lists, instant], email="ada@example.com"),
            sign_up(client, [*lists, instant], email="gone@example.com"),
            sign_up(client, [*lists, instant], email="new@example.com"),
        ]
    # Whoever typed the address learns nothing: the answer is the same as for
    # a new address...
    assert {(r.status_code, r["Location"]) for r in answers} == {
        (302, "/newsletter/subscribe/thanks/")
    }
    # ...but only the new address is written to.
    assert mail.outbox
    assert {tuple(m.to) for m in mail.outbox} == {("new@example.com",)}
    assert set(statuses(known).values()) == {SubscriptionStatus.UNSUBSCRIBED}
    assert not Subscriber.objects.filter(email="gone@example.com").exists()
    assert (
        ConsentRecord.objects.exclude(subscriber__email="new@example.com").count()
        == history
    )


def test_someone_who_unsubscribed_must_confirm_to_come_back_without_double_opt_in(
    client, home_page, lists, commit
):
    instant = MailingList.objects.create(name="Instant", double_opt_in=False)
    ada = SubscriberFactory(email="ada@example.com")
    SubscriptionFactory(
        subscriber=ada, mailing_list=instant, status=SubscriptionStatus.UNSUBSCRIBED
    )
    with commit():
        # Anyone may type her address into the form.
        response = sign_up(client, [instant])
    assert response.status_code == 302
    assert statuses(ada) == {"Instant": SubscriptionStatus.PENDING}
    assert ConsentRecord.objects.get().action == ConsentAction.REQUESTED
    [confirmation] = mail.outbox
    assert confirmation.subject == "Please confirm your subscription"
    confirm_url = next(u for u in links_in(confirmation.body) if "/confirm/" in u)
    with commit():
        client.post(confirm_url)
    assert statuses(ada) == {"Instant": SubscriptionStatus.CONFIRMED}


def test_someone_who_unsubscribed_must_confirm_a_list_they_never_had(
    client, home_page, lists, commit
):
    instant = MailingList.objects.create(name="Instant", double_opt_in=False)
    ada = SubscriberFactory(email="ada@example.com")
    SubscriptionFactory(
        subscriber=ada, mailing_list=lists[0], status=SubscriptionStatus.UNSUBSCRIBED
    )
    with commit():
        sign_up(client, [instant])
    assert statuses(ada)["Instant"] == SubscriptionStatus.PENDING
    [confirmation] = mail.outbox
    assert confirmation.subject == "Please confirm your subscription"


def test_a_form_never_names_a_known_subscriber(client, home_page, lists, commit):
    SubscriberFactory(email="ada@example.com", name="")
    with commit():
        sign_up(client, lists, name="Mallory")
    # Their issues would greet them with a stranger's words.
    assert Subscriber.objects.get().name == ""


def test_a_form_never_renames_a_known_subscriber(client, home_page, lists, commit):
    with commit():
        sign_up(client, lists, name="Ada")
        sign_up(client, lists, name="Mallory")
    assert Subscriber.objects.get().name == "Ada"


@pytest.mark.parametrize(
    ("case", "subject"),
    [
        ("new", "Please confirm"),
        ("known", "already subscribed"),
        ("no-double-opt-in", "Welcome"),
    ],
)
def test_mail_a_form_sends_to_any_address_carries_none_of_the_visitors_words(
    client, home_page, lists, commit, case, subject
):
    """Anyone may type anyone's address: what they typed as a name stays out."""
    if case == "known":
        person = SubscriberFactory(email="ada@example.com", name="")
        SubscriptionFactory(subscriber=person, mailing_list=lists[0])
    if case == "no-double-opt-in":
        lists[0].double_opt_in = False
        lists[0].save()
    with commit():
        sign_up(client, lists[:1], name="Visit evil.example now")
    (message,) = mail.outbox
    assert subject in message.subject
    body = message.body + "".join(str(part[0]) for part in message.alternatives)
    assert "evil.example" not in body
    assert "evil.example" not in message.subject
    assert "Hello," in message.body


def test_repeated_sign_ups_of_one_address_send_few_emails(
    client, home_page, lists, commit, settings
):
    settings.NEWSLETTER_EMAILS_PER_ADDRESS = 3
    with commit():
        for number in range(6):
            response = sign_up(client, lists, ip=f"192.0.2.{number}")
            assert response.status_code == 302
    assert len(mail.outbox) == 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "not-an-address"}, "Enter an email address like"),
        ({"email": ""}, "Enter your email address."),
        ({"name": "A" * 10_000}, "Keep your name to 150 characters or fewer."),
        (
            {"email": "ada@example.com\r\nBcc: everyone@example.net"},
            "Enter an email address like",
        ),
        ({"name": "Ada\r\nBcc: everyone@example.net"}, "Use one line"),
        ({"lists": [999_999]}, "Choose from the lists shown on this form."),
        ({"lists": ["drop table"]}, "Choose from the lists shown on this form."),
        ({"lists": []}, "Choose at least one list."),
        ({"website": "http://spam.example"}, "hidden anti-spam field"),
        ({"source": "footer\r\nX: y"}, "Enter a valid value."),
        ({"name": "=?utf-8?q?Your_account_is_locked?="}, "cannot contain “=?”"),
    ],
    ids=[
        "invalid-address",
        "no-address",
        "10000-character-name",
        "header-injection-in-address",
        "header-injection-in-name",
        "unknown-list",
        "not-a-list-id",
        "no-list",
        "full-honeypot",
        "forged-source",
        "encoded-word-in-name",
    ],
)
def test_bad_input_gets_a_clear_answer_and_stores_nothing(
    client, home_page, lists, commit, overrides, message
):
    with commit():
        response = sign_up(client, lists, **overrides)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode() or (
        "hidden anti-spam" in message or "valid value" in message
    )
    assert Subscriber.objects.count() == 0
    assert ConsentRecord.objects.count() == 0
    assert mail.outbox == []


def test_a_private_list_cannot_be_chosen_from_a_form(client, home_page, lists):
    private = MailingList.objects.create(name="Staff only", is_public=False)
    response = sign_up(client, [private])
    assert response.status_code == 400
    assert "Choose from the lists shown" in response.content.decode()
    assert Subscriber.objects.count() == 0


def test_errors_are_tied_to_their_fields(client, home_page, lists):
    html = sign_up(client, lists, email="nope").content.decode()
    assert 'aria-describedby="nl-main-email_error"' in html
    assert 'id="nl-main-email_error"' in html


def described_checkboxes(html: str) -> dict[str, str]:
    """Each list checkbox's id and the text of the element it is described by."""
    found = {}
    for box in re.finditer(r'<input type="checkbox"[^>]*>', html):
        tag = box.group(0)
        box_id = re.search(r'id="([^"]+)"', tag).group(1)
        described = re.search(r'aria-describedby="([^"]+)"', tag)
        text = None
        if described:
            target = re.search(
                rf'<p[^>]*id="{re.escape(described.group(1))}"[^>]*>([^<]*)</p>', html
            )
            text = target.group(1) if target else None
        found[box_id] = text
    return found


def test_each_list_checkbox_is_described_by_its_description(client, home_page, lists):
    MailingList.objects.filter(pk=lists[0].pk).update(description="Monthly essays.")
    MailingList.objects.filter(pk=lists[1].pk).update(description="")
    footer = described_checkboxes(client.get("/").content.decode())
    # The footer's form is shared by every page: its ids are fixed.
    assert footer == {
        "nl-footer-lists_0": "Monthly essays.",
        "nl-footer-lists_1": None,
    }
    # The same after an error, when the form is drawn again with the answers.
    again = described_checkboxes(sign_up(client, lists, email="nope").content.decode())
    assert {"nl-main-lists_0": "Monthly essays.", "nl-main-lists_1": None}.items() <= (
        again.items()
    )


def test_a_changed_consent_text_asks_the_visitor_to_read_it_again(
    client, home_page, lists
):
    fields = signup_form_fields(client.get("/").content.decode())
    NewsletterSettings.objects.update(consent_text="A new wording.")
    response = client.post(
        "/newsletter/subscribe/",
        {"email": "ada@example.com", "lists": [lists[0].pk], **fields},
    )
    assert response.status_code == 400
    assert "consent wording changed" in response.content.decode()
    assert "A new wording." in response.content.decode()
    assert Subscriber.objects.count() == 0


def test_sign_ups_are_rate_limited_per_ip(client, home_page, lists, settings):
    settings.NEWSLETTER_SIGNUP_RATE_LIMIT = 3
    for number in range(3):
        allowed = sign_up(client, lists, email=f"p{number}@example.com")
        assert allowed.status_code == 302
    blocked = sign_up(client, lists, email="late@example.com")
    assert blocked.status_code == 429
    assert "try again in an hour" in blocked.content.decode()
    assert not Subscriber.objects.filter(email="late@example.com").exists()
    other = sign_up(client, lists, email="late@example.com", ip="198.51.100.9")
    assert other.status_code == 302


def test_emails_to_one_address_are_capped_however_many_people_ask(
    client, home_page, lists, commit, settings
):
    settings.NEWSLETTER_EMAILS_PER_ADDRESS = 2
    with commit():
        answers = [
            sign_up(client, lists, email="ada@example.com", ip=f"192.0.2.{number}")
            for number in range(4)
        ]
        other = sign_up(client, lists, email="bo@example.com", ip="192.0.2.1")
    # Every visitor gets the same answer; only the inbox is spared.
    assert {response.status_code for response in [*answers, other]} == {302}
    recipients = [message.to[0] for message in mail.outbox]
    assert recipients.count("ada@example.com") == 2
    # The cap is per address: it never holds back mail to anyone else.
    assert recipients.count("bo@example.com") == 1


def test_behind_a_proxy_the_forwarded_address_is_the_client(
    client, home_page, lists, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    fields = signup_form_fields(client.get("/").content.decode())
    client.post(
        "/newsletter/subscribe/",
        {"email": "ada@example.com", "lists": [lists[0].pk], **fields},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.50",
    )
    assert ConsentRecord.objects.get().ip_address == "203.0.113.50"


def test_an_expired_confirmation_link_is_refused(
    client, home_page, lists, commit, settings
):
    with commit():
        sign_up(client, lists)
    confirm_url = next(u for u in links_in(mail.outbox[0].body) if "/confirm/" in u)
    settings.NEWSLETTER_CONFIRMATION_MAX_AGE = -1
    response = client.post(confirm_url)
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()
    assert not Subscription.objects.filter(status=SubscriptionStatus.CONFIRMED)


def test_the_sign_up_page_has_its_own_form_and_thanks(client, home_page, lists):
    page = NewsletterSignupPageFactory(
        parent=home_page, thank_you_text="<p>Look for our email.</p>"
    )
    html = client.get(page.url).content.decode()
    assert "Choose your emails" in html
    fields = signup_form_fields(html.split("<main")[1])
    assert fields["source"] == "page"
    response = client.post(
        "/newsletter/subscribe/",
        {"email": "ada@example.com", "lists": [lists[0].pk], **fields},
    )
    assert Subscriber.objects.get().source == "page"
    assert "Look for our email." in client.get(response["Location"]).content.decode()
    assert client.get("/newsletter/subscribe/")["Location"] == page.url


def test_the_template_tag_works_in_any_template(rf, home_page, lists):
    request = rf.get("/")
    html = Template(
        "{% load newsletter_tags %}"
        '{% newsletter_signup_form source="home" heading="Get the newsletter" %}'
        '{% newsletter_signup_form source="footer" %}'
    ).render(Context({"request": request}))
    assert "Get the newsletter" in html
    assert 'value="home"' in html
    # Two forms on one page keep their ids apart.
    assert 'id="nl-1-email"' in html
    assert 'id="nl-2-email"' in html


def test_subscribers_are_unique_without_regard_to_case(db):
    Subscriber.objects.create(email="ada@example.com", email_hash="x", source="t")
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscriber.objects.create(email="ADA@example.com", email_hash="y", source="t")
    assert email_digest(" ADA@Example.com ") == email_digest("ada@example.com")


def test_the_consent_history_cannot_be_rewritten(client, home_page, lists):
    sign_up(client, lists[:1])
    record = ConsentRecord.objects.get()
    record.source = "made-up"
    with pytest.raises(ValidationError):
        record.save()
    assert ConsentRecord.objects.get().source == "footer"
