import pytest
from bs4 import BeautifulSoup
from django.template import Context, Template

from testimonials import models
from tests.testimonials.factories import TestimonialFactory

pytestmark = pytest.mark.django_db


def render(source: str, **context) -> BeautifulSoup:
    html = Template("{% load testimonials_tags %}" + source).render(Context(context))
    return BeautifulSoup(html, "html.parser")


def test_by_tag_shows_the_newest_live_ones_with_that_tag():
    TestimonialFactory(quote="Old conference words", tags=["conferences"])
    TestimonialFactory(quote="Open source words", tags=["open source"])
    TestimonialFactory(quote="Withdrawn", tags=["conferences"], live=False)
    TestimonialFactory(quote="New conference words", tags=["Conferences"])
    doc = render("{% live_testimonials tag='conferences' count=5 %}")
    quotes = [q.get_text(strip=True) for q in doc.select(".testimonial__quote")]
    assert quotes == ["New conference words", "Old conference words"]


def test_a_testimonial_names_the_person_role_and_organisation():
    TestimonialFactory(person_name="Ada", role="Chair", organisation="Conf")
    doc = render("{% live_testimonials %}")
    assert " ".join(doc.figcaption.get_text(" ").split()) == "Ada Chair, Conf"


def test_nothing_at_all_is_rendered_without_testimonials():
    assert render("{% live_testimonials tag='none' %}").get_text().strip() == ""


def test_staff_list_search_and_filter_testimonials(admin_client, run_tasks):
    TestimonialFactory(person_name="Marisol", live=True, tags=["conferences"])
    TestimonialFactory(person_name="Dev", live=False)
    run_tasks()  # the search index is updated by a background task
    listing = admin_client.get("/admin/snippets/testimonials/testimonial/")
    assert b"Marisol" in listing.content and b"Dev" in listing.content
    found = admin_client.get(
        "/admin/snippets/testimonials/testimonial/", {"q": "Marisol"}
    )
    assert b"Marisol" in found.content and b"Dev" not in found.content
    withdrawn = admin_client.get(
        "/admin/snippets/testimonials/testimonial/", {"live": "false"}
    )
    assert b"Dev" in withdrawn.content and b"Marisol" not in withdrawn.content
    tagged = admin_client.get(
        "/admin/snippets/testimonials/testimonial/", {"tag": "conferences"}
    )
    assert b"Marisol" in tagged.content and b"Dev" not in tagged.content


def test_staff_add_a_testimonial_and_bad_input_is_refused(admin_client):
    url = "/admin/snippets/testimonials/testimonial/add/"
    response = admin_client.post(url, {"quote": "", "person_name": "", "tags": ""})
    assert response.status_code == 200
    assert b"This field is required" in response.content
    assert not models.Testimonial.objects.exists()
    admin_client.post(
        url,
        {"quote": "Useful.", "person_name": "Kim", "tags": "meetups", "live": "on"},
    )
    testimonial = models.Testimonial.objects.get()
    assert list(testimonial.tags.names()) == ["meetups"]
