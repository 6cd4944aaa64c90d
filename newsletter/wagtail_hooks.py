"""Registers the newsletter with the Wagtail admin, and does nothing else.

The menu is in `viewsets`, the dashboard panel in `panels`, the issue editor's
test action and buttons in `page_actions`, who may see what in `permissions`.
"""

from wagtail import hooks
from wagtail.snippets.models import register_snippet

from . import admin_views, page_actions, permissions
from .panels import SubscriberGrowthPanel
from .viewsets import NewsletterViewSetGroup

LOG_ACTIONS = (
    ("newsletter.import", "Import subscribers", "Imported subscribers from CSV"),
    ("newsletter.erase", "Erase subscriber", "Erased a subscriber's data"),
    ("newsletter.links_revoked", "Sign out of links", "Revoked every personal link"),
    ("newsletter.send", "Send issue", "Started sending the issue to a list"),
    ("newsletter.send_scheduled", "Schedule issue", "Scheduled the issue for a list"),
    ("newsletter.send_paused", "Pause send", "Paused sending"),
    ("newsletter.send_resumed", "Resume send", "Resumed sending"),
    ("newsletter.send_cancelled", "Cancel send", "Cancelled sending"),
    (
        "newsletter.uncertain_resolved",
        "Settle uncertain",
        "Settled uncertain deliveries",
    ),
    ("newsletter.test_sent", "Send test", "Sent a test of the issue"),
    ("newsletter.dates_announced", "Announce dates", "Announced new workshop dates"),
)

register_snippet(NewsletterViewSetGroup)


@hooks.register("construct_homepage_panels")
def add_growth_panel(request, panels):
    if permissions.may_see_growth(request.user):
        panels.append(SubscriberGrowthPanel())


@hooks.register("register_log_actions")
def register_log_actions(actions):
    for action, label, message in LOG_ACTIONS:
        actions.register_action(action, label, message)


@hooks.register("register_page_action_menu_item")
def register_send_test_menu_item():
    return page_actions.SendTestMenuItem()


# After Wagtail's own snippet bulk delete (order 0), so it takes its place.
hooks.register("register_bulk_action", admin_views.SubscriberBulkDelete, order=100)
hooks.register("before_delete_snippet", admin_views.refuse_bulk_subscriber_delete)
hooks.register("after_edit_page", page_actions.send_test_after_save)
hooks.register("register_page_header_buttons", page_actions.issue_header_buttons)
hooks.register("after_publish_page", page_actions.offer_dates_announcement)
