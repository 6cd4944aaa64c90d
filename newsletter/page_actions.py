"""What the page editor offers on an issue: a test to oneself, and the way to its sends.

`wagtail_hooks` registers these; the test is sent by a task, after the save commits.
"""

from django.contrib import messages
from django.urls import reverse
from wagtail.admin import messages as wagtail_messages
from wagtail.admin.action_menu import ActionMenuItem
from wagtail.admin.widgets.button import Button

from workshops.models import WorkshopPage

from . import permissions, services
from .models import NewsletterIssuePage

SEND_TEST_ACTION = "action-newsletter-test"


def is_issue(page) -> bool:
    return page is not None and isinstance(page.specific, NewsletterIssuePage)


class SendTestMenuItem(ActionMenuItem):
    """Save the draft, then email it to the editor, in one press."""

    name = SEND_TEST_ACTION
    label = "Save draft and send a test to me"
    icon_name = "mail"
    order = 30

    def is_shown(self, context):
        return (
            context["view"] == "edit"
            and not context.get("locked_for_user")
            and is_issue(context.get("page"))
            and permissions.may_send_test(context["request"].user)
        )


def send_test_after_save(request, page):
    """After an edit saved by the test button, queue the test for the editor."""
    if SEND_TEST_ACTION not in request.POST or not is_issue(page):
        return None
    user = request.user
    if not permissions.may_send_test(user):
        return None
    if not user.email:
        messages.error(request, "Add an email address to your account to get tests.")
        return None
    services.issue_send_test_request(
        page_id=page.pk, revision_id=page.latest_revision_id, user_id=user.pk
    )
    messages.success(
        request, f"A test of this issue as just saved is on its way to {user.email}."
    )
    return None


def issue_header_buttons(page, user, view_name, next_url=None):
    """An issue's header buttons: send it to a list, and see every send."""
    if not is_issue(page):
        return
    if permissions.may_send(user):
        yield Button(
            "Send to a list…",
            url=reverse("newsletter_sends:create", args=[page.pk]),
            icon_name="mail",
            priority=5,
        )
    if permissions.may_view(user):
        yield Button(
            "Sends and figures",
            url=reverse("newsletter_sends:index"),
            icon_name="list-ul",
            priority=6,
        )


def offer_dates_announcement(request, page):
    """After a workshop page goes live: say how many new dates can be announced."""
    if not isinstance(page.specific, WorkshopPage) or not permissions.may_send(
        request.user
    ):
        return
    if services.dates_list() is None:
        return
    count = len(services.announcement_candidates())
    if count:
        # Wagtail's messages take buttons: the editor goes straight to the count
        # of recipients and the confirmation.
        wagtail_messages.info(
            request,
            f"{count} published date{'s' if count != 1 else ''} not announced yet.",
            buttons=[
                wagtail_messages.button(
                    reverse("newsletter_sends:announce_dates"),
                    f"Announce {count} new date{'s' if count != 1 else ''}",
                )
            ],
        )
