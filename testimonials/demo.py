"""Demo testimonials for the fictional Tidewell Training: invented people and words."""

from typing import TextIO

from home.demo import demo_image

from .models import Testimonial

TESTIMONIALS = [
    {
        "person_name": "Marisol Ortega",
        "role": "Volunteer chair",
        "organisation": "Riverbend Tech Days",
        "quote": "Before the workshop our plan was 'someone senior will handle "
        "it'. Now four of us can take a report, and we know who decides what.",
        "tags": ["conferences"],
        "photo": True,
    },
    {
        "person_name": "Dev Pillai",
        "role": "Maintainer",
        "organisation": "an open-source data library",
        "quote": "The scenario about a long-time contributor was uncomfortable in "
        "exactly the right way. We rewrote our enforcement guide the next week.",
        "tags": ["open source"],
    },
    {
        "person_name": "Hanna K.",
        "role": "Community manager",
        "organisation": "a language-learning forum",
        "quote": "I expected slides. We practised instead, in small groups, until "
        "the words came without thinking.",
        "tags": ["online communities"],
    },
    {
        "person_name": "Tomasz Wróbel",
        "role": "Meetup organiser",
        "organisation": "Kraków Frontend Evenings",
        "quote": "The template for writing up a report is the part I use most. "
        "It keeps my own opinions out of the record.",
        "tags": ["conferences", "meetups"],
    },
    {
        "person_name": "Aroha Ngata",
        "role": "Programme lead",
        "organisation": "Southern Makers Festival",
        "quote": "The Australian-time session meant our whole team could attend "
        "without anyone being up at 3 a.m.",
        "tags": ["conferences"],
    },
    {
        "person_name": "J. Okafor",
        "role": "Moderator",
        "organisation": "a gaming community",
        "quote": "Clear, kind and practical. I left knowing when to act alone and "
        "when to wait for the team.",
        "tags": ["online communities"],
        "live": False,
    },
]


def load(*, stdout: TextIO) -> None:
    for spec in TESTIMONIALS:
        spec = dict(spec)
        tags = spec.pop("tags")
        with_photo = spec.pop("photo", False)
        if Testimonial.objects.filter(person_name=spec["person_name"]).exists():
            continue
        testimonial = Testimonial(**spec)
        if with_photo:
            testimonial.photo = demo_image(
                f"Portrait of {spec['person_name']}", draw_portrait, (240, 240)
            )
        testimonial.save()
        testimonial.tags.set(tags)
        testimonial.save()
    stdout.write(f"{len(TESTIMONIALS)} testimonials ready.\n")


def draw_portrait(pen, size) -> None:
    """An abstract figure: the demo ships no photographs of real people."""
    width, height = size
    pen.rectangle((0, 0, width, height), fill="#d9c8ee")
    pen.ellipse(
        (width * 0.3, height * 0.18, width * 0.7, height * 0.58), fill="#4a1f73"
    )
    pen.ellipse(
        (width * 0.12, height * 0.62, width * 0.88, height * 1.3), fill="#0b6e4f"
    )
