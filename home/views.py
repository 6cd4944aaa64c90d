from django.core.paginator import Paginator
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from wagtail.models import Page, Site

from .search import clean_query

RESULTS_PER_PAGE = 10


def search(request):
    """Search the site's live, public pages."""
    raw_query = request.GET.get("q", "")[:500]
    query = clean_query(raw_query)
    results = Page.objects.none()
    if query:
        pages = Page.objects.live().public().specific()
        site = Site.find_for_request(request)
        if site is not None:
            pages = pages.descendant_of(site.root_page, inclusive=True)
        results = pages.search(query)
    paginator = Paginator(results, RESULTS_PER_PAGE)
    return render(
        request,
        "home/search.html",
        {
            "query": raw_query.replace("\x00", ""),
            "results": paginator.get_page(request.GET.get("page")),
        },
    )


@never_cache
@require_GET
def csrf_token(request):
    """A CSRF token for a form on a cached page, which carries none of its own.

    Never cached, and sets the CSRF cookie the token belongs to; the JSON holds
    nothing the visitor sent, so there is nothing for BREACH to reflect.
    """
    return JsonResponse({"token": get_token(request)})
