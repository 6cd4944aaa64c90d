from playwright.sync_api import expect

from home.models import HomePage
from tests.browser.conftest import sign_in


def test_an_editor_signs_in_and_publishes_a_change_to_the_home_page(
    page, demo_site, django_user_model
):
    sign_in(page, django_user_model)
    page.goto(f"/admin/pages/{demo_site.pk}/edit/")
    new_intro = "Practical, humane incident response, taught live by people who do it."
    page.get_by_role("textbox", name="Introduction").fill(new_intro)
    page.get_by_role("button", name="More actions").click()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("has been published")).to_be_visible()

    assert HomePage.objects.get().introduction == new_intro
    page.goto("/")
    expect(page.locator(".lede")).to_have_text(new_intro)


def test_an_editor_changes_the_footer_through_site_settings(
    page, demo_site, django_user_model
):
    sign_in(page, django_user_model)
    page.goto("/admin/settings/home/sitesettings/")
    page.get_by_role("textbox", name="Postal address").fill(
        "PO Box 77\nAstoria, OR 97103"
    )
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("updated")).to_be_visible()

    page.goto("/")
    expect(page.get_by_role("contentinfo").locator("address")).to_contain_text(
        "PO Box 77"
    )
