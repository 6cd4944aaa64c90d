"""The ceiling for bench/serve_pages.py: one Django view, nothing else.

Served by gunicorn exactly as the site is, so the difference between the two is
what the site's own work costs.
"""

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path

settings.configure(
    DEBUG=False,
    SECRET_KEY="ceiling-" + "k" * 50,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
)


def hello(request):
    return HttpResponse("<!DOCTYPE html><title>ok</title><p>ok</p>")


urlpatterns = [path("", hello)]
application = get_wsgi_application()
