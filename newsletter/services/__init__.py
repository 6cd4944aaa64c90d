"""Business actions of the newsletter, one module per subject.

- `subscriptions`: sign-ups, confirmations, preferences and unsubscribes, with
  the consent history each one writes.
- `suppressions`: addresses that get no more mail, and erasure.
- `imports`: the CSV import, as parse, resolve and write.
- `import_jobs`: an uploaded CSV imported in the background, a chunk at a time.
- `sends`: sending an issue to a list, and a test to a member of staff.
- `tracking`: what a provider's tracking events do.
- `announcements`: new workshop dates told to the dates list, each date once.

Callers import from here (`services.subscriber_subscribe`); the modules import
from one another only in that order, `tracking` last.
"""

from .announcements import (
    AnnouncementPlan,
    announcement_candidates,
    announcement_plan,
    announcement_send,
    dates_list,
)
from .import_jobs import (
    subscribers_import_continue,
    subscribers_import_discard,
    subscribers_import_fail,
    subscribers_import_resume,
    subscribers_import_start,
)
from .imports import (
    SKIP_ALREADY,
    SKIP_INVALID,
    SKIP_NAME,
    SKIP_REPEATED,
    SKIP_SUPPRESSED,
    SKIP_UNSUBSCRIBED,
    ImportResult,
    subscribers_import,
)
from .sends import (
    backend_can_schedule,
    deliveries_resolve_uncertain,
    issue_send_cancel,
    issue_send_create,
    issue_send_finish,
    issue_send_halt,
    issue_send_pause,
    issue_send_resume,
    issue_send_start,
    issue_send_test,
    issue_send_test_request,
    issue_send_work,
)
from .subscriptions import (
    CONFIRMABLE_SUPPRESSIONS,
    Origin,
    consent_text_for,
    subscriber_confirm,
    subscriber_sign_out_links,
    subscriber_subscribe,
    subscriber_unsubscribe,
    subscriber_update_preferences,
)
from .suppressions import subscriber_erase, suppression_add, suppression_ensure
from .tracking import (
    delivery_note_unsubscribe,
    delivery_track_event,
    tracking_event_process,
)

__all__ = [
    "AnnouncementPlan",
    "announcement_candidates",
    "announcement_plan",
    "announcement_send",
    "dates_list",
    "CONFIRMABLE_SUPPRESSIONS",
    "SKIP_ALREADY",
    "SKIP_INVALID",
    "SKIP_NAME",
    "SKIP_REPEATED",
    "SKIP_SUPPRESSED",
    "SKIP_UNSUBSCRIBED",
    "ImportResult",
    "Origin",
    "backend_can_schedule",
    "consent_text_for",
    "deliveries_resolve_uncertain",
    "delivery_note_unsubscribe",
    "delivery_track_event",
    "issue_send_cancel",
    "issue_send_create",
    "issue_send_finish",
    "issue_send_halt",
    "issue_send_pause",
    "issue_send_resume",
    "issue_send_start",
    "issue_send_test",
    "issue_send_test_request",
    "issue_send_work",
    "subscriber_confirm",
    "subscriber_erase",
    "subscriber_subscribe",
    "subscriber_sign_out_links",
    "subscriber_unsubscribe",
    "subscriber_update_preferences",
    "subscribers_import",
    "subscribers_import_continue",
    "subscribers_import_discard",
    "subscribers_import_fail",
    "subscribers_import_resume",
    "subscribers_import_start",
    "suppression_add",
    "suppression_ensure",
    "tracking_event_process",
]
