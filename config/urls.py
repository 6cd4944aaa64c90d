from django.conf import settings
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.utils.cache import patch_cache_control
from django.views.generic import TemplateView
from django.views.static import serve
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls

from home import views as search_views


def favicon(request):
    """The icon, under the name browsers and crawlers ask for unprompted."""
    # Not permanent: the static file's hashed name changes with the icon.
    response = redirect(static("img/favicon.svg"))
    patch_cache_control(response, public=True, max_age=24 * 60 * 60)
    return response


urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("newsletter/", include("newsletter.urls")),
    # Provider tracking webhooks (bounces, complaints, unsubscribes), protected
    # by ANYMAIL["WEBHOOK_SECRET"] as basic auth.
    path("anymail/", include("anymail.urls")),
    path("documents/", include(wagtaildocs_urls)),
    path("", include("workshops.urls")),
    path("search/", search_views.search, name="search"),
    # Forms on cached pages fetch their token here (site/static/js/csrf.js).
    path("csrf/", search_views.csrf_token, name="csrf_token"),
    path("sitemap.xml", sitemap, name="sitemap"),
    path("favicon.ico", favicon, name="favicon"),
    path(
        "robots.txt",
        TemplateView.as_view(template_name="robots.txt", content_type="text/plain"),
        name="robots_txt",
    ),
]

# A rendition is named after its original's file and its filter, and a new file
# for an image never takes its old name, so a rendition's address changes when
# the picture does. A name freed by a deleted image can come back with another
# upload, so a month rather than "immutable"; originals for an hour.
RENDITION_MAX_AGE = 30 * 24 * 60 * 60
ORIGINAL_MAX_AGE = 60 * 60


def serve_media(request, path: str):
    """An uploaded image, with the cache lifetime its name allows."""
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    max_age = RENDITION_MAX_AGE if path.startswith("images/") else ORIGINAL_MAX_AGE
    patch_cache_control(response, public=True, max_age=max_age)
    return response


# In production, media normally come from object storage or the proxy; SERVE_MEDIA
# lets a one-machine install serve its uploads itself. Only images: documents
# go through Wagtail's /documents/ view, which applies their collection's
# privacy (the W-9 is private), so their files are never served by name.
if settings.DEBUG or settings.SERVE_MEDIA:
    media_prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns += [
        re_path(
            rf"^{media_prefix}(?P<path>(?:images|original_images)/.+)$",
            serve_media,
        )
    ]

urlpatterns += [path("", include(wagtail_urls))]
