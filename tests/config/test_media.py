"""Uploads and the icon: served with the cache lifetime their names allow."""

import pytest
from bs4 import BeautifulSoup
from wagtail_factories import DocumentFactory, ImageFactory

pytestmark = pytest.mark.django_db


def test_renditions_are_cached_for_a_month(client):
    rendition = ImageFactory().get_rendition("height-48")
    response = client.get(rendition.url)
    assert response.status_code == 200
    assert "max-age=2592000" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]


def test_original_images_are_cached_for_an_hour(client):
    image = ImageFactory()
    response = client.get(image.file.url)
    assert response.status_code == 200
    assert "max-age=3600" in response["Cache-Control"]


def test_document_files_are_only_served_through_wagtail(client):
    # /documents/<id>/<name> checks the collection's privacy; the file's own
    # address under /media/ would not.
    document = DocumentFactory()
    assert client.get(document.file.url).status_code == 404
    assert client.get(document.url).status_code == 200


def test_every_page_names_its_icon_and_favicon_ico_finds_it(client, home_page):
    page = BeautifulSoup(client.get(home_page.url).content, "html.parser")
    icon = page.find("link", rel="icon")["href"]
    assert icon.endswith(".svg")
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == icon
    served = client.get(icon)
    assert served.status_code == 200
    assert b"<svg" in b"".join(served.streaming_content)
