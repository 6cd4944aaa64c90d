"""Realistic amounts of content for the benchmarks, on top of the demo content."""

from datetime import time, timedelta

from django.utils import timezone
from wagtail.rich_text import RichText

from home.models import ContentPage, HomePage
from testimonials.models import Testimonial
from workshops.models import WorkshopPage, WorkshopSession

GUIDES = 60
SESSIONS = 60
TESTIMONIALS = 30
ZONES = ["America/New_York", "Europe/London", "Australia/Sydney", "Asia/Kolkata"]


def seed_pages() -> None:
    """A 'Guides' section of 60 long content pages under the home page."""
    home = HomePage.objects.get()
    guides = home.add_child(
        instance=ContentPage(
            title="Guides",
            slug="guides",
            show_in_menus=True,
            introduction="Short guides for people on duty.",
            body=[("paragraph", RichText("<p>Guides for responders.</p>"))],
        )
    )
    for number in range(GUIDES):
        guides.add_child(
            instance=ContentPage(
                title=f"Guide {number}",
                slug=f"guide-{number}",
                introduction="Taking a report calmly and writing down what you heard.",
                body=[
                    ("heading", {"text": "Before", "level": "h2"}),
                    ("paragraph", RichText("<p>" + "Listen first. " * 80 + "</p>")),
                    (
                        "quote",
                        {
                            "quote": "Write it down the same day.",
                            "attribution": "A lead",
                        },
                    ),
                    ("heading", {"text": "After", "level": "h2"}),
                    ("paragraph", RichText("<p>" + "Follow up kindly. " * 80 + "</p>")),
                ],
            )
        )


def seed_schedule() -> None:
    """A busy year: 60 more sessions and 30 more testimonials on the main workshop."""
    workshop = WorkshopPage.objects.get(slug="responding-to-reports")
    start = timezone.localdate()
    for number in range(SESSIONS):
        workshop.sessions.add(
            WorkshopSession(
                date=start + timedelta(days=5 + number * 6),
                start_time=time(9 + number % 8),
                end_time=time(12 + number % 8, 30),
                time_zone=ZONES[number % len(ZONES)],
                audience_label="Benchmark",
            )
        )
    quotes = [
        Testimonial.objects.create(
            quote=f"Practical and humane, number {number}.",
            person_name=f"Participant {number}",
            organisation="A community",
        )
        for number in range(TESTIMONIALS)
    ]
    workshop.body.append(
        ("testimonials", {"heading": "More voices", "testimonials": quotes})
    )
    workshop.save_revision().publish()


def seed_sessions_to(total: int) -> int:
    """Sessions on the main workshop until the site has `total`, past and future.

    Written in bulk (their UTC times set as save() would), as years of
    published dates would have accumulated; returns how many there are now.
    """
    workshop = WorkshopPage.objects.get(slug="responding-to-reports")
    missing = total - WorkshopSession.objects.count()
    today = timezone.localdate()
    sessions = []
    for number in range(max(missing, 0)):
        # Every other one in the past: a schedule that has run for years.
        offset = 3 + (number // 2) * 4
        session = WorkshopSession(
            workshop=workshop,
            date=today + timedelta(days=offset if number % 2 else -offset),
            start_time=time(8 + number % 9),
            end_time=time(11 + number % 9, 30),
            time_zone=ZONES[number % len(ZONES)],
            audience_label="Benchmark",
        )
        session.starts_at, session.ends_at = session.local_start, session.local_end
        sessions.append(session)
    WorkshopSession.objects.bulk_create(sessions)
    return WorkshopSession.objects.count()
