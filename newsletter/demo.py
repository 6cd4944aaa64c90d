"""Demo content for the newsletter: lists, the sign-up page, the consent text,
the archive of Diversity Deep Dives with three issues, one of them already sent.

Original writing for the fictional Tidewell Training. Running it twice changes
nothing: what exists is left as it is.
"""

import datetime
from typing import TextIO

from anymail.signals import AnymailTrackingEvent
from django.test import override_settings
from django.utils import timezone
from wagtail.models import Site
from wagtail.rich_text import RichText

from home.models import HomePage
from testimonials.models import Testimonial

from . import services
from .models import (
    DEFAULT_CONSENT_TEXT,
    Delivery,
    DeliveryState,
    IssueSend,
    MailingList,
    NewsletterArchivePage,
    NewsletterIssuePage,
    NewsletterSettings,
    NewsletterSignupPage,
    Subscriber,
    Subscription,
)

LISTS = [
    {
        "name": "Diversity Deep Dives",
        "description": "Our free newsletter: one practical essay a month on "
        "inclusive events and fair incident response.",
        "is_public": True,
        "double_opt_in": True,
    },
    {
        "name": "Workshop dates",
        "description": "A short note when new workshop dates are published, a "
        "few times a year.",
        "is_public": True,
        "double_opt_in": True,
        "announces_new_dates": True,
    },
]
# Fictional subscribers of "Workshop dates" who said when they can attend:
# (email, name, zone, from, until); no hours means every date.
DATES_READERS = [
    ("kiri.tane@example.com", "Kiri Tane", "Pacific/Auckland", 8, 18),
    ("ana.lima@example.com", "Ana Lima", "America/Sao_Paulo", 9, 17),
    ("farah.haddad@example.com", "Farah Haddad", "Europe/Berlin", 17, 23),
    ("sam.okoro@example.com", "Sam Okoro", "", None, None),
]

CONSENT_TEXT = (
    "By subscribing you agree that Tidewell Training may email you the lists "
    "you chose. We record when and how you agreed, and never share your "
    "address. Every email has a link to change your choices or unsubscribe in "
    "one click; our privacy page explains the rest."
)


def load(*, stdout: TextIO) -> None:
    for spec in LISTS:
        MailingList.objects.get_or_create(name=spec["name"], defaults=spec)
    home = HomePage.objects.first()
    if home is not None:
        ensure_signup_page(home)
        site = Site.objects.filter(root_page=home).first()
        if site is not None:
            ensure_consent_text(site)
        archive = ensure_archive(home)
        issues = [ensure_issue(archive, spec) for spec in ISSUES]
        ensure_sent(issues[0], MailingList.objects.get(name=LISTS[0]["name"]))
    ensure_dates_readers(MailingList.objects.get(name=LISTS[1]["name"]))
    stdout.write(
        f"{len(LISTS)} mailing lists, the sign-up page and the newsletter "
        f"archive with {len(ISSUES)} issues ready.\n"
    )


def ensure_dates_readers(mailing_list: MailingList) -> None:
    """Subscribers of the dates list in four zones, three with hours: the editor's
    "Announce N new dates" shows a different count beside each session."""
    if Subscription.objects.filter(mailing_list=mailing_list).exists():
        return
    services.subscribers_import(
        rows=[{"email": email, "name": name} for email, name, *_ in DATES_READERS],
        mailing_lists=[mailing_list],
        consent_source="Demo data: fictional subscribers of Workshop dates",
    )
    for email, _, zone, start, end in DATES_READERS:
        Subscriber.objects.filter(email=email).update(
            time_zone=zone, attend_from=start, attend_until=end
        )


def ensure_signup_page(home: HomePage) -> NewsletterSignupPage:
    existing = NewsletterSignupPage.objects.first()
    if existing is not None:
        return existing
    return home.add_child(
        instance=NewsletterSignupPage(
            title="Subscribe to Diversity Deep Dives",
            slug="subscribe",
            search_description="A free monthly newsletter on inclusive events "
            "and Code of Conduct incident response, from Tidewell Training.",
            introduction="Once a month, one practical essay on running "
            "inclusive events and responding to Code of Conduct reports with "
            "care. Free, and easy to leave.",
            form_heading="Choose your emails",
            body=RichText(
                "<p>Recent essays covered writing a response template your "
                "volunteers will actually use, what to say to the person who "
                "was reported, and how to rest after a hard week on duty.</p>"
                "<p>We confirm every sign-up by email, so nobody can subscribe "
                "you without your say.</p>"
            ),
            thank_you_text=RichText(
                "<p>Open the email from Tidewell Training and press the "
                "button on the page it links to. The link works for a week; if "
                "nothing arrives in a few minutes, look in your spam folder.</p>"
            ),
        )
    )


def ensure_consent_text(site: Site) -> None:
    settings = NewsletterSettings.for_site(site)
    # Only the built-in wording is replaced; an editor's own stays.
    if settings.consent_text == DEFAULT_CONSENT_TEXT:
        settings.consent_text = CONSENT_TEXT
        settings.save()


def _paragraph(*paragraphs: str) -> tuple[str, RichText]:
    return ("paragraph", RichText("".join(f"<p>{text}</p>" for text in paragraphs)))


ISSUES = [
    {
        "title": "The first hour after a report",
        "slug": "the-first-hour-after-a-report",
        "days_ago": 45,
        "live": True,
        "email_subject": "Diversity Deep Dives: the first hour after a report",
        "preheader": "Three things to do before you decide anything.",
        "search_description": "What a responder does in the first hour after a "
        "Code of Conduct report: listen, write it down, make the person safe.",
        "introduction": "Most of what goes wrong with a Code of Conduct report "
        "goes wrong early, before anyone has decided anything. This month: "
        "what the first hour is for, and what it is not for.",
        "body": lambda: [
            ("heading", {"text": "Listen before you plan", "level": "h2"}),
            _paragraph(
                "The person in front of you has just spent courage you did not "
                "see. Thank them, find somewhere quieter, and let them tell it "
                "in their own order. Questions can wait until they have "
                "finished.",
                "Resist the urge to reassure them about outcomes. "
                "<em>We will take this seriously</em> is a promise you can "
                "keep; <em>they will be removed</em> is one you cannot yet.",
            ),
            ("heading", {"text": "Write it down the same day", "level": "h2"}),
            _paragraph(
                "Notes taken within hours are the backbone of a fair "
                "decision. Record what was said in their words, when and "
                "where it happened, and who else was there. Keep your own "
                "opinions in a separate place, clearly marked.",
            ),
            (
                "quote",
                {
                    "quote": "The report that went best for us was the one "
                    "where the responder said very little and wrote down "
                    "everything.",
                    "attribution": "An organiser of a regional tech meetup",
                },
            ),
            ("heading", {"text": "Safety first, decisions later", "level": "h2"}),
            _paragraph(
                "If anyone is at risk right now, act on that: a change of "
                "room, a buddy, a word with venue security. Everything else, "
                "including talking to the person reported, can wait for the "
                "response team.",
            ),
            ("testimonials", {"heading": "", "testimonials": _testimonials(1)}),
            ("upcoming_sessions", {"heading": "Practise it with us", "count": 3}),
        ],
    },
    {
        "title": "Designing an event people can leave safely",
        "slug": "designing-an-event-people-can-leave-safely",
        "days_ago": 14,
        "live": True,
        "email_subject": "",
        "preheader": "Exits, quiet rooms and the walk to the station.",
        "search_description": "Inclusive event design: quiet rooms, clear "
        "exits, and getting home safely after the evening social.",
        "introduction": "Inclusion is often discussed as who gets in the door. "
        "This issue is about the other half: how people leave a session, a "
        "conversation or a venue without having to explain themselves.",
        "body": lambda: [
            ("heading", {"text": "A room with nothing in it", "level": "h2"}),
            _paragraph(
                "A quiet room with chairs, water and no schedule is the "
                "cheapest accessibility feature an event can offer. Put it on "
                "the map, and tell people in the opening remarks that using it "
                "needs no reason.",
            ),
            ("heading", {"text": "The evening social", "level": "h2"}),
            _paragraph(
                "Most reports we hear about happen after the programme ends. "
                "Offer a social without alcohol at its centre, end it at a "
                "stated time, and share safe routes to public transport.",
                "Ask two volunteers to stay until the last guest leaves, "
                "and make sure people know who they are.",
            ),
            (
                "call_to_action",
                {
                    "text": "Read our sample Code of Conduct",
                    "page": None,
                    "url": "https://tidewell.example/code-of-conduct/",
                    "style": "primary",
                },
            ),
        ],
    },
    {
        "title": "What your volunteers need before day one",
        "slug": "what-your-volunteers-need-before-day-one",
        "days_ago": 0,
        "live": False,
        "email_subject": "",
        "preheader": "A one-page briefing beats an hour of slides.",
        "search_description": "Briefing event volunteers on Code of Conduct "
        "response before the event starts.",
        "introduction": "A draft for next month: how to brief volunteers so "
        "that the first report they take is not also the first time they "
        "hear the process.",
        "body": lambda: [
            _paragraph(
                "Give every volunteer one page: who is on the response team, "
                "how to reach them, and the three sentences to say when "
                "someone asks for help.",
            ),
        ],
    },
]


def _testimonials(count: int) -> list[Testimonial]:
    return list(Testimonial.objects.filter(live=True).order_by("pk")[:count])


def ensure_archive(home: HomePage) -> NewsletterArchivePage:
    existing = NewsletterArchivePage.objects.first()
    if existing is not None:
        return existing
    return home.add_child(
        instance=NewsletterArchivePage(
            title="Diversity Deep Dives",
            slug="newsletter",
            show_in_menus=True,
            search_description="Every issue of Diversity Deep Dives, Tidewell "
            "Training's monthly newsletter on inclusive events and incident "
            "response.",
            introduction="One practical essay a month on running inclusive "
            "events and responding to Code of Conduct reports with care. "
            "Every issue we have sent is here.",
        )
    )


def ensure_issue(archive: NewsletterArchivePage, spec: dict) -> NewsletterIssuePage:
    existing = NewsletterIssuePage.objects.filter(slug=spec["slug"]).first()
    if existing is not None:
        return existing
    issue = NewsletterIssuePage(
        title=spec["title"],
        slug=spec["slug"],
        issue_date=timezone.localdate() - datetime.timedelta(days=spec["days_ago"]),
        email_subject=spec["email_subject"],
        preheader=spec["preheader"],
        search_description=spec["search_description"],
        introduction=spec["introduction"],
        body=spec["body"](),
        live=spec["live"],
    )
    archive.add_child(instance=issue)
    revision = issue.save_revision()
    if spec["live"]:
        revision.publish()
    return NewsletterIssuePage.objects.get(pk=issue.pk)


DEMO_READERS = [
    ("ines.varga@example.org", "Ines"),
    ("kwame.mensah@example.org", "Kwame"),
    ("sol.bergstrom@example.net", "Sol"),
    ("priya.raman@example.com", ""),
    ("ada.fitzgerald@example.org", "Ada"),
    ("lu.chen@example.net", "Lu"),
]


def ensure_sent(issue: NewsletterIssuePage, mailing_list: MailingList) -> None:
    """Send the first issue to a few fictional readers, so figures show something.

    The send runs through the real pipeline into Django's dummy backend, which
    accepts and drops every message (fictional people need no mail, and the
    console stays readable); then a few tracking events are played back.
    """
    if IssueSend.objects.filter(issue=issue).exists():
        return
    services.subscribers_import(
        rows=[{"email": email, "name": name} for email, name in DEMO_READERS],
        mailing_lists=[mailing_list],
        consent_source="Demo data: fictional readers of Diversity Deep Dives",
    )
    sent_at = timezone.now() - datetime.timedelta(days=44)
    send = IssueSend.objects.create(
        issue=issue,
        issue_title=issue.title,
        mailing_list=mailing_list,
        list_name=mailing_list.name,
        scheduled_at=sent_at,
    )
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        NEWSLETTER_PARALLEL_TASKS=0,
    ):
        services.issue_send_start(send_id=send.pk)
        services.issue_send_work(send_id=send.pk, seconds=60)
    IssueSend.objects.filter(pk=send.pk).update(
        started_at=sent_at, finished_at=sent_at + datetime.timedelta(seconds=3)
    )
    deliveries = list(
        Delivery.objects.filter(send=send, state=DeliveryState.SENT).select_related(
            "subscriber"
        )
    )
    for delivery in deliveries[:-1]:
        services.delivery_track_event(
            event=AnymailTrackingEvent(
                event_type="delivered",
                recipient=delivery.subscriber.email,
                metadata={"delivery": str(delivery.pk)},
                timestamp=sent_at + datetime.timedelta(minutes=1),
            ),
            esp_name="Demo",
        )
    leaver = deliveries[-1]
    services.subscriber_unsubscribe(
        subscriber_id=leaver.subscriber_id,
        list_ids=[mailing_list.pk],
        origin=services.Origin(source="one-click", detail="Demo data"),
    )
    services.delivery_note_unsubscribe(
        delivery_id=leaver.pk, subscriber_id=leaver.subscriber_id
    )
