import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from wagtail.models import Page, Site

from home.models import ContentPage, HomePage, SiteSettings

pytestmark = pytest.mark.django_db


def load_demo(*args) -> str:
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def snapshot() -> dict:
    return {
        "pages": sorted(Page.objects.values_list("url_path", flat=True)),
        "sites": list(Site.objects.values("hostname", "port", "root_page_id")),
        "settings": list(SiteSettings.objects.values()),
    }


def test_demo_replaces_the_welcome_page_with_a_home_page(settings):
    settings.BASE_URL = "http://localhost:8123"
    load_demo()
    site = Site.objects.get(is_default_site=True)
    assert isinstance(site.root_page.specific, HomePage)
    assert (site.hostname, site.port) == ("localhost", 8123)
    assert not Page.objects.filter(title__startswith="Welcome").exists()
    assert ContentPage.objects.live().count() == 4
    site_settings = SiteSettings.for_site(site)
    assert site_settings.organisation_name == "Tidewell Training"
    assert site_settings.logo and site_settings.w9_document
    assert site_settings.w9_document.file.read().startswith(b"%PDF-1.4")


def test_loading_twice_changes_nothing():
    load_demo()
    before = snapshot()
    load_demo()
    assert snapshot() == before


def test_if_empty_leaves_an_existing_site_alone():
    load_demo()
    ContentPage.objects.get(slug="privacy").delete()
    assert "not loaded" in load_demo("--if-empty")
    assert not ContentPage.objects.filter(slug="privacy").exists()


def test_demo_admin_only_in_debug(settings):
    settings.DEBUG = False
    assert "Sign in" not in load_demo()
    assert not get_user_model().objects.exists()

    settings.DEBUG = True
    assert "as 'admin' with password 'admin'" in load_demo()
    assert get_user_model().objects.get().is_superuser


def test_every_demo_page_renders(client):
    load_demo()
    for page in Page.objects.live().specific().filter(depth__gt=1):
        response = client.get(page.url)
        assert response.status_code == 200, page.url


def test_the_home_page_offers_the_newsletter_in_its_body(client):
    load_demo()
    html = client.get("/").content.decode()
    assert 'class="nl-signup nl-signup--home"' in html
    assert 'name="source" value="home"' in html
