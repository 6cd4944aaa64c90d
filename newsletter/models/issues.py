"""Issues of the newsletter as Wagtail pages, under one archive page."""

from django.core.paginator import Page as DjangoPage
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Count, Window
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import StreamField
from wagtail.search import index

from home.models import BasePage
from home.selectors import public_pages

from ..blocks import IssueStreamBlock

ISSUES_PER_PAGE = 10


class NewsletterArchivePage(RoutablePageMixin, BasePage):
    """Every published issue, newest first, with RSS and Atom feeds."""

    introduction = models.TextField(
        max_length=400,
        blank=True,
        help_text="One or two sentences above the list of issues: what the "
        "newsletter is about and how often it arrives.",
    )

    content_panels = [*BasePage.content_panels, FieldPanel("introduction")]
    search_fields = [*BasePage.search_fields, index.SearchField("introduction")]

    parent_page_types = ["home.HomePage"]
    subpage_types = ["newsletter.NewsletterIssuePage"]
    max_count = 1

    class Meta:
        verbose_name = "newsletter archive page"

    def issues(self):
        return public_pages(NewsletterIssuePage.objects.child_of(self).live()).order_by(
            "-issue_date", "-pk"
        )

    def issues_page(self, number: str) -> DjangoPage:
        """One page of issues, as `Paginator.get_page` gives it, in one query.

        The issues and how many there are in all come together (a window
        count); a page past the last, or not a number, is read as the
        paginator would read it.
        """
        paginator = Paginator(self.issues(), ISSUES_PER_PAGE)
        if not (number.isdigit() and int(number) >= 1):
            return paginator.get_page(number)
        wanted = int(number)
        bottom = (wanted - 1) * ISSUES_PER_PAGE
        rows = list(
            self.issues().annotate(total=Window(Count("pk")))[
                bottom : bottom + ISSUES_PER_PAGE
            ]
        )
        if not rows:
            return paginator.get_page(number)
        paginator.count = rows[0].total
        return paginator._get_page(rows, wanted, paginator)

    def get_context(self, request: HttpRequest, *args, **kwargs) -> dict:
        context = super().get_context(request, *args, **kwargs)
        number = request.GET.get("page", "1")
        # What a cached fragment of the list is keyed by: anything but a page
        # number reads as the first page, as the paginator reads it.
        context["issues_page"] = number if number.isdigit() else "1"
        # Lazy: the list may come from a cached fragment and need no query.
        context["issues"] = SimpleLazyObject(lambda: self.issues_page(number))
        context["feed_urls"] = {
            name: self.reverse_subpage(name) for name in ("rss", "atom")
        }
        return context

    @path("feed/", name="rss")
    def rss_feed(self, request: HttpRequest) -> HttpResponse:
        # feeds and rendering read these models: imported once the app has loaded.
        from ..feeds import IssueRssFeed

        return IssueRssFeed(self)(request)

    @path("feed/atom/", name="atom")
    def atom_feed(self, request: HttpRequest) -> HttpResponse:
        # As above: feeds imports this module.
        from ..feeds import IssueAtomFeed

        return IssueAtomFeed(self)(request)


class NewsletterIssuePage(BasePage):
    """One issue: a web page in the archive, and the email sent from the same blocks."""

    issue_date = models.DateField(
        default=timezone.localdate,
        help_text="The date the issue is published under, in the archive and feed.",
    )
    email_subject = models.CharField(
        max_length=150,
        blank=True,
        help_text="The subject line of the email. Leave empty to use the title.",
    )
    preheader = models.CharField(
        max_length=150,
        blank=True,
        help_text="The line inboxes show after the subject. One sentence that "
        "makes people want to open it; not repeated in the email itself.",
    )
    introduction = models.TextField(
        max_length=600,
        blank=True,
        help_text="The opening paragraph, under the greeting in the email and "
        "under the title on the web.",
    )
    body = StreamField(
        IssueStreamBlock(),
        help_text="The issue itself. Every block is also drawn for email "
        "clients; preview it with the 'Email' preview mode.",
    )

    content_panels = [
        *BasePage.content_panels,
        FieldPanel("issue_date"),
        MultiFieldPanel(
            [FieldPanel("email_subject"), FieldPanel("preheader")],
            heading="Email",
        ),
        FieldPanel("introduction"),
        FieldPanel("body"),
    ]
    search_fields = [
        *BasePage.search_fields,
        index.SearchField("introduction"),
        index.SearchField("body"),
        index.FilterField("issue_date"),
    ]

    parent_page_types = ["newsletter.NewsletterArchivePage"]
    subpage_types: list[str] = []

    preview_modes = [("", "Web page"), ("email", "Email")]

    class Meta:
        verbose_name = "newsletter issue"
        permissions = [
            ("send_test_issue", "Can send a test of a newsletter issue to themselves"),
            ("send_issue", "Can send a newsletter issue to a mailing list"),
        ]

    @property
    def subject(self) -> str:
        return self.email_subject or self.title

    def serve_preview(self, request: HttpRequest, mode_name: str) -> HttpResponse:
        if mode_name == "email":
            # rendering imports this module; models load before it can.
            from ..rendering import issue_preview_html

            return HttpResponse(issue_preview_html(page=self, user=request.user))
        return super().serve_preview(request, mode_name)
