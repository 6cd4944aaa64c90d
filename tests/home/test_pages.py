import pytest
from bs4 import BeautifulSoup
from django.views.defaults import server_error
from wagtail.models import Page
from wagtail.test.utils import WagtailPageTestCase
from wagtail.test.utils.form_data import nested_form_data, rich_text, streamfield

from home.models import ContentPage, HomePage
from inquiries.models import ContactPage, GroupTrainingRequestPage
from tests.home.factories import ContentPageFactory, HomePageFactory


class TestPageTree(WagtailPageTestCase):
    def test_home_page_goes_only_at_the_root(self):
        self.assertAllowedParentPageTypes(HomePage, {Page})
        self.assertCanCreateAt(Page, HomePage)
        self.assertCanNotCreateAt(ContentPage, HomePage)

    def test_content_pages_nest_under_home_and_each_other(self):
        self.assertAllowedParentPageTypes(ContentPage, {HomePage, ContentPage})
        # A request or contact form may sit under the page about it.
        self.assertAllowedSubpageTypes(
            ContentPage, {ContentPage, GroupTrainingRequestPage, ContactPage}
        )

    def test_an_editor_can_create_a_content_page_with_a_stream_body(self):
        home = HomePageFactory(parent=Page.get_first_root_node())
        self.login()
        self.assertCanCreate(
            home,
            ContentPage,
            nested_form_data(
                {
                    "title": "Code of conduct",
                    "slug": "code-of-conduct",
                    "introduction": "How we expect everyone to behave.",
                    "body": streamfield(
                        [
                            ("heading", {"text": "Scope", "level": "h2"}),
                            ("paragraph", rich_text("<p>All our events.</p>")),
                        ]
                    ),
                }
            ),
        )
        page = ContentPage.objects.get(slug="code-of-conduct")
        assert [block.block_type for block in page.body] == ["heading", "paragraph"]

    def test_a_call_to_action_needs_exactly_one_target(self):
        home = HomePageFactory(parent=Page.get_first_root_node())
        self.login()
        response = self.client.post(
            f"/admin/pages/add/home/contentpage/{home.pk}/",
            nested_form_data(
                {
                    "title": "Dates",
                    "slug": "dates",
                    "body": streamfield(
                        [("call_to_action", {"text": "Go", "page": "", "url": ""})]
                    ),
                }
            ),
        )
        assert response.status_code == 200
        assert b"Choose a page or enter a URL" in response.content
        assert not ContentPage.objects.filter(slug="dates").exists()


def html(response) -> BeautifulSoup:
    return BeautifulSoup(response.content, "html.parser")


def test_pages_render_with_title_description_and_sharing_tags(client, home_page):
    page = ContentPageFactory(
        parent=home_page,
        title="About us",
        search_description="Who we are.",
        show_in_menus=True,
    )
    doc = html(client.get(page.url))
    assert doc.title.string == "About us · Harbour Test Training"
    assert doc.find("meta", attrs={"name": "description"})["content"] == "Who we are."
    assert doc.find("link", rel="canonical")["href"] == page.full_url
    assert doc.find("meta", property="og:title")["content"] == "About us"
    assert doc.find("h1").string == "About us"


def test_navigation_lists_menu_pages_and_marks_the_current_one(client, home_page):
    about = ContentPageFactory(parent=home_page, title="About", show_in_menus=True)
    ContentPageFactory(parent=home_page, title="Privacy", show_in_menus=False)
    draft = ContentPageFactory(parent=home_page, title="Draft", show_in_menus=True)
    draft.unpublish()

    doc = html(client.get(about.url))
    nav = doc.find("nav", attrs={"aria-label": "Main"})
    assert [a.string for a in nav.select(".site-nav__list a")] == ["About"]
    assert nav.find("a")["aria-current"] == "page"
    footer_links = [a.string for a in doc.find("footer").find_all("a")]
    assert "Privacy" in footer_links
    assert "Draft" not in footer_links


def test_every_page_starts_with_a_skip_link_to_main(client, home_page):
    doc = html(client.get(home_page.url))
    skip = doc.body.find("a")
    assert skip["href"] == "#main"
    assert doc.find("main")["id"] == "main"


def test_footer_shows_the_site_settings(client, home_page):
    doc = html(client.get(home_page.url))
    footer = doc.find("footer")
    assert "1 Test Street" in footer.address.get_text()
    assert footer.find("a", href="mailto:hello@harbour.example")


@pytest.mark.django_db
def test_unknown_address_gets_the_friendly_404(client, home_page):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "We couldn’t find that page" in response.text


def test_500_page_renders_without_the_database(rf, settings):
    response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert b"Something went wrong" in response.content


def test_sitemap_lists_live_pages_only(client, home_page):
    live = ContentPageFactory(parent=home_page, slug="live-one")
    draft = ContentPageFactory(parent=home_page, slug="draft-one")
    draft.unpublish()
    body = client.get("/sitemap.xml").text
    assert live.full_url in body
    assert "draft-one" not in body


def test_robots_txt_points_at_the_sitemap(client, home_page):
    response = client.get("/robots.txt")
    assert response["Content-Type"].startswith("text/plain")
    assert "Sitemap: http://testserver/sitemap.xml" in response.text
    assert "Disallow: /admin/" in response.text
