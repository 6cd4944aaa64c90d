"""The sign-up page in the page tree, and the newsletter's demo content."""

import io
import threading

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection
from wagtail.models import Page, Site
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import nested_form_data, rich_text

from home.models import ContentPage, HomePage
from newsletter.models import (
    MailingList,
    NewsletterSettings,
    NewsletterSignupPage,
    Subscriber,
    Subscription,
)
from newsletter.services import Origin, subscriber_subscribe
from tests.home.factories import HomePageFactory
from tests.newsletter.factories import NewsletterSignupPageFactory


class TestSignupPageTree(WagtailPageTestCase):
    def test_the_sign_up_page_lives_once_under_the_home_page(self):
        self.assertAllowedParentPageTypes(NewsletterSignupPage, {HomePage})
        self.assertAllowedSubpageTypes(NewsletterSignupPage, set())
        self.assertCanNotCreateAt(ContentPage, NewsletterSignupPage)

    def test_an_editor_can_create_it_once(self):
        home = HomePageFactory(parent=Page.get_first_root_node())
        self.login()
        self.assertCanCreate(
            home,
            NewsletterSignupPage,
            nested_form_data(
                {
                    "title": "Newsletter",
                    "slug": "newsletter-signup",
                    "introduction": "Monthly essays.",
                    "form_heading": "Subscribe",
                    "body": rich_text("<p>About the lists.</p>"),
                    "thank_you_text": rich_text(""),
                }
            ),
        )
        assert not NewsletterSignupPage.can_create_at(home)

    def test_it_renders(self):
        home = HomePageFactory(parent=Page.get_first_root_node())
        Site.objects.filter(is_default_site=True).update(root_page=home)
        page = NewsletterSignupPageFactory(parent=home)
        self.assertPageIsRenderable(page)


@pytest.mark.django_db
def test_demo_content_has_the_lists_the_page_and_the_wording():
    call_command("load_demo", stdout=io.StringIO())
    snapshot = (
        list(MailingList.objects.values_list("name", "is_public", "double_opt_in")),
        list(NewsletterSignupPage.objects.values_list("slug", "live")),
        list(NewsletterSettings.objects.values_list("consent_text", flat=True)),
    )
    assert snapshot[0] == [
        ("Diversity Deep Dives", True, True),
        ("Workshop dates", True, True),
    ]
    assert snapshot[1] == [("subscribe", True)]
    assert "Tidewell Training" in snapshot[2][0]
    call_command("load_demo", stdout=io.StringIO())
    assert snapshot == (
        list(MailingList.objects.values_list("name", "is_public", "double_opt_in")),
        list(NewsletterSignupPage.objects.values_list("slug", "live")),
        list(NewsletterSettings.objects.values_list("consent_text", flat=True)),
    )


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sign_ups_of_one_address_at_once_make_one_subscriber(lists):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite takes one writer at a time; the race needs PostgreSQL.")
    barrier = threading.Barrier(4)
    errors = []

    def sign_up(number: int) -> None:
        try:
            barrier.wait()
            subscriber_subscribe(
                email="Race@Example.com",
                name="",
                mailing_lists=lists,
                consent_text="I agree.",
                origin=Origin(source=f"thread-{number}"),
            )
        except Exception as error:
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Subscriber.objects.count() == 1
    assert Subscription.objects.count() == len(lists)
