from django.conf import settings
from django.urls import include, path, re_path
from django.views.generic import TemplateView
from django.views.static import serve
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.contrib.sitemaps.views import sitemap
from wagtail.documents import urls as wagtaildocs_urls

from home import views as search_views

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("newsletter/", include("newsletter.urls")),
    # Provider tracking webhooks (bounces, complaints, unsubscribes), protected
    # by ANYMAIL["WEBHOOK_SECRET"] as basic auth.
    path("anymail/", include("anymail.urls")),
    path("documents/", include(wagtaildocs_urls)),
    path("", include("workshops.urls")),
    path("search/", search_views.search, name="search"),
    path("sitemap.xml", sitemap, name="sitemap"),
    path(
        "robots.txt",
        TemplateView.as_view(template_name="robots.txt", content_type="text/plain"),
        name="robots_txt",
    ),
]

# In production, media normally come from object storage or the proxy; SERVE_MEDIA
# lets a one-machine install serve its uploads itself.
if settings.DEBUG or settings.SERVE_MEDIA:
    media_prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns += [
        re_path(
            rf"^{media_prefix}(?P<path>.*)$",
            serve,
            {"document_root": settings.MEDIA_ROOT},
        )
    ]

urlpatterns += [path("", include(wagtail_urls))]
