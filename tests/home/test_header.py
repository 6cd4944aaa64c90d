"""The site header: the logo sharp on phone screens."""

import pytest
from bs4 import BeautifulSoup
from wagtail.images.models import Image
from wagtail_factories import ImageFactory

from home.models import SiteSettings

pytestmark = pytest.mark.django_db


def header_logo(client, page):
    html = BeautifulSoup(client.get(page.url).content, "html.parser")
    return html.select_one("header .brand__logo")


def set_logo(image: Image) -> None:
    SiteSettings.objects.update(logo=image)


def test_the_logo_has_a_twice_as_sharp_source_for_dense_screens(client, home_page):
    set_logo(ImageFactory(file__width=400, file__height=200))
    logo = header_logo(client, home_page)
    one_x, two_x = (candidate.split() for candidate in logo["srcset"].split(", "))
    assert one_x == [logo["src"], "1x"]
    assert two_x[1] == "2x"
    assert (logo["width"], logo["height"]) == ("96", "48")
    image = Image.objects.get()
    assert two_x[0] == image.get_rendition("height-96").url


def test_a_logo_too_small_for_2x_is_shown_as_it_is(client, home_page):
    set_logo(ImageFactory(file__width=80, file__height=40))
    logo = header_logo(client, home_page)
    assert not logo.has_attr("srcset")
    assert (logo["width"], logo["height"]) == ("80", "40")
