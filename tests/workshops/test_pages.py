import pytest
from bs4 import BeautifulSoup
from wagtail.test.utils import WagtailPageTestCase

from home.models import HomePage
from tests.testimonials.factories import TestimonialFactory
from tests.workshops.factories import WorkshopSessionFactory
from workshops.models import ScheduleIndexPage, WorkshopPage


class TestPageTree(WagtailPageTestCase):
    def test_the_schedule_sits_under_the_home_page_and_holds_workshops(self):
        self.assertAllowedParentPageTypes(ScheduleIndexPage, {HomePage})
        self.assertAllowedSubpageTypes(ScheduleIndexPage, {WorkshopPage})
        self.assertAllowedParentPageTypes(WorkshopPage, {ScheduleIndexPage})
        self.assertAllowedSubpageTypes(WorkshopPage, set())


@pytest.mark.django_db
def test_workshop_page_shows_logistics_dates_content_and_testimonials(client, workshop):
    WorkshopSessionFactory(workshop=workshop, audience_label="Americas")
    quoted = TestimonialFactory(quote="It changed how we run events.")
    withdrawn = TestimonialFactory(quote="Withdrawn words.", live=False)
    workshop.breaks = "Two 10-minute breaks"
    workshop.body = [
        (
            "learning_outcomes",
            {"heading": "What you will learn", "outcomes": ["Listen"]},
        ),
        (
            "topics",
            {
                "heading": "What we cover",
                "topics": [{"title": "Triage", "description": ""}],
            },
        ),
        (
            "practice_scenario",
            {"title": "The hallway", "situation": "A report arrives.", "practice": ""},
        ),
        ("testimonials", {"heading": "Voices", "testimonials": [quoted, withdrawn]}),
    ]
    workshop.save_revision().publish()

    doc = BeautifulSoup(client.get(workshop.url).content, "html.parser")
    facts = " ".join(doc.select_one(".facts").get_text().split())
    assert "210 minutes, two 10-minute breaks" in facts
    assert "Online, on Zoom" in facts
    assert "Up to 20 people" in facts
    assert "$350 per seat" in facts
    assert doc.select_one(".session__audience").string == "Americas"
    text = doc.get_text()
    assert "Practice scenario: The hallway" in text
    assert "It changed how we run events." in text
    assert "Withdrawn words." not in text
