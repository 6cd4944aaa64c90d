import factory
import wagtail_factories
from wagtail.rich_text import RichText

from newsletter.models import (
    MailingList,
    NewsletterArchivePage,
    NewsletterIssuePage,
    NewsletterSignupPage,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    email_digest,
)


class NewsletterSignupPageFactory(wagtail_factories.PageFactory):
    title = "Subscribe"
    slug = factory.Sequence(lambda n: f"subscribe-{n}")
    introduction = "Monthly essays on inclusive events."
    form_heading = "Choose your emails"
    body = factory.LazyFunction(lambda: RichText("<p>More about the lists.</p>"))

    class Meta:
        model = NewsletterSignupPage


class MailingListFactory(factory.django.DjangoModelFactory):
    name = factory.Sequence(lambda n: f"List {n}")
    description = "Now and then."
    is_public = True
    double_opt_in = True

    class Meta:
        model = MailingList


class SubscriberFactory(factory.django.DjangoModelFactory):
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    email_hash = factory.LazyAttribute(lambda o: email_digest(o.email))
    source = "footer"

    class Meta:
        model = Subscriber


class SubscriptionFactory(factory.django.DjangoModelFactory):
    subscriber = factory.SubFactory(SubscriberFactory)
    mailing_list = factory.SubFactory(MailingListFactory)
    status = SubscriptionStatus.CONFIRMED

    class Meta:
        model = Subscription


class NewsletterArchivePageFactory(wagtail_factories.PageFactory):
    title = "Diversity Deep Dives"
    slug = factory.Sequence(lambda n: f"newsletter-{n}")
    introduction = "One essay a month."

    class Meta:
        model = NewsletterArchivePage


class NewsletterIssuePageFactory(wagtail_factories.PageFactory):
    title = factory.Sequence(lambda n: f"Issue {n}")
    slug = factory.Sequence(lambda n: f"issue-{n}")
    preheader = "What to do in the first hour."
    introduction = "Most of what goes wrong goes wrong early."
    body = factory.LazyFunction(
        lambda: [
            ("heading", {"text": "Listen first", "level": "h2"}),
            (
                "paragraph",
                RichText('<p>Thank them, and <a href="/schedule/">practise</a>.</p>'),
            ),
        ]
    )

    class Meta:
        model = NewsletterIssuePage
