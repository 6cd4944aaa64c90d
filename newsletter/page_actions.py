"""What the page editor offers on an issue: a test to oneself, and the way to its sends.

`wagtail_hooks` registers these; the test is sent by a task, after the save commits.
"""

from django.contrib import messages
from django.urls import reverse
from wagtail.admin.action_menu import ActionMenuItem
from wagtail.admin.widgets.button import Button

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
