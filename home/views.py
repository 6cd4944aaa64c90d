from django.core.paginator import Paginator
from django.shortcuts import render
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
