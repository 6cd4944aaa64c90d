"""Realistic amounts of content for the benchmarks, on top of the demo content."""

from wagtail.rich_text import RichText

from home.models import ContentPage, HomePage

GUIDES = 60


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
