"""What public responses carry: their security policy, compression, a kind 404."""

import gzip
import re

import pytest
from csp.middleware import CSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory
from django.views.decorators.cache import never_cache

from config.middleware import PublicGZipMiddleware

pytestmark = pytest.mark.django_db


def policy(response) -> dict[str, list[str]]:
    directives = [d.split() for d in response["Content-Security-Policy"].split(";")]
    return {name: values for name, *values in (d for d in directives if d)}


def test_public_pages_carry_a_strict_content_security_policy(client, home_page):
    response = client.get(home_page.url)
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    # The booking form's answer is a redirect to Stripe Checkout.
    assert directives["form-action"] == ["'self'", "https://checkout.stripe.com"]


def test_a_nonce_is_added_when_a_template_asks_for_one(rf):
    request = rf.get("/")

    def view(request):
        return HttpResponse(f'<script nonce="{request.csp_nonce}"></script>')

    response = CSPMiddleware(view)(request)
    nonce = re.search(r'nonce="([^"]+)"', response.content.decode())[1]
    assert f"'nonce-{nonce}'" in policy(response)["script-src"]


def test_the_wagtail_admin_keeps_its_own_inline_scripts(client, home_page):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response


def test_a_public_page_is_compressed(client, home_page):
    response = client.get(home_page.url, HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response["Vary"]
    assert b"<!DOCTYPE html>" in gzip.decompress(response.content)


def test_nothing_is_compressed_for_someone_with_a_session(
    client, home_page, django_user_model
):
    client.force_login(django_user_model.objects.create_user("reader"))
    response = client.get(home_page.url, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert not response.has_header("Content-Encoding")


def test_admin_pages_are_not_compressed(client, home_page):
    response = client.get("/admin/login/", HTTP_ACCEPT_ENCODING="gzip")
    assert not response.has_header("Content-Encoding")


@pytest.mark.parametrize(
    ("method", "decorate"),
    [("post", lambda view: view), ("get", never_cache)],
    ids=["a POST's answer", "a private page"],
)
def test_answers_that_may_hold_a_secret_are_not_compressed(method, decorate):
    body = "<p>Your order</p>" * 100

    @decorate
    def view(request):
        return HttpResponse(body)

    request = getattr(RequestFactory(), method)(
        "/orders/x/", HTTP_ACCEPT_ENCODING="gzip"
    )
    response = PublicGZipMiddleware(view)(request)
    assert not response.has_header("Content-Encoding")
    assert response.content.decode() == body


@pytest.mark.parametrize("path", ["/no-such-page/", "/no-such-file.php"])
def test_with_debug_on_a_missing_page_shows_the_sites_own_404(
    client, settings, home_page, path
):
    settings.DEBUG = True
    response = client.get(path)
    assert response.status_code == 404
    content = response.content.decode()
    assert "We couldn’t find that page" in content
    assert "URLconf" not in content


def test_django_s_technical_404_is_one_setting_away(client, settings, home_page):
    settings.DEBUG = True
    settings.DEBUG_TECHNICAL_404 = True
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "DEBUG = True" in response.content.decode()


def test_page_previews_are_left_to_the_admin(client, home_page, django_user_model):
    # The admin frames a preview; frame-ancestors 'none' would blank it.
    client.force_login(django_user_model.objects.create_superuser("editor"))
    response = client.get(f"/admin/pages/{home_page.pk}/view_draft/")
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response
