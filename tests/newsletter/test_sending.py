"""Sending an issue: batch calls, personal links, and exactly one copy each."""

from collections import Counter
from html import escape as html_escape

import django_rq
import pytest
from anymail.signals import AnymailTrackingEvent
from django.conf import settings as django_settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tasks import default_task_backend
from django_tasks_db.models import DBTaskResult

from newsletter import links, sending, services, tasks
from newsletter.models import (
    Delivery,
    DeliveryState,
    SendMode,
    SendStatus,
    SubscriptionStatus,
)
from newsletter.selectors import recipient_count, send_figures
from tests.newsletter.factories import (
    MailingListFactory,
    SubscriberFactory,
    SubscriptionFactory,
)
from tests.newsletter.send_helpers import run, start, states


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, no except clause catches it."""


def kill_at(point: str, *, occurrence: int = 1, before=None):
    """A crash hook that 'kills' the worker the n-th time it reaches `point`."""
    seen = Counter()

    def hook(name: str) -> None:
        if name == point:
            seen[name] += 1
            if seen[name] == occurrence:
                if before is not None:
                    before()
                raise Killed(point)

    return hook


def received() -> Counter:
    """How many copies each address got, from the backend's outbox."""
    return Counter(address for message in mail.outbox for address in message.to)


def test_batch_calls_carry_merge_fields_headers_and_personal_links(
    batch_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 2
    readers = make_readers(*(f"reader{n}@example.com" for n in range(5)))

    send = start(issue, deep_dives)
    assert run(send) is sending.WorkResult.FINISHED

    assert send.mode == SendMode.BATCH
    assert "%recipient.unsubscribe_url%" in send.html
    assert "%recipient.greeting_html%" in send.html
    assert [len(message.to) for message in mail.outbox] == [2, 2, 1]
    deliveries = {d.subscriber_id: d for d in send.deliveries.all()}
    by_email = {reader.email: reader for reader in readers}
    for message in mail.outbox:
        params = message.anymail_test_params
        assert params["is_batch_send"]
        assert message.extra_headers["List-Unsubscribe-Post"] == (
            "List-Unsubscribe=One-Click"
        )
        assert set(params["merge_data"]) == set(message.to)
        for email in message.to:
            reader = by_email[email]
            delivery = deliveries[reader.pk]
            data = params["merge_data"][email]
            assert data["greeting"] == f"Hello {reader.name},"
            token = data["unsubscribe_url"].rstrip("/").rsplit("/", 1)[1]
            link = links.read_unsubscribe_token(token)
            assert (link.subscriber_id, link.list_ids, link.delivery_id) == (
                reader.pk,
                (deep_dives.pk,),
                delivery.pk,
            )
            assert params["merge_headers"][email] == {
                "List-Unsubscribe": f"<{data['unsubscribe_url']}>"
            }
            assert params["merge_metadata"][email] == {"delivery": str(delivery.pk)}
            assert delivery.state == DeliveryState.SENT
            assert delivery.esp_message_id != ""
    assert received() == Counter({reader.email: 1 for reader in readers})
    send.refresh_from_db()
    assert send.status == SendStatus.FINISHED


def test_the_issue_unsubscribe_link_works_in_one_click_and_counts(
    batch_backend, issue, make_readers, deep_dives, client
):
    (reader,) = make_readers("ada@example.com")
    send = start(issue, deep_dives)
    run(send)
    url = mail.outbox[0].anymail_test_params["merge_data"]["ada@example.com"][
        "unsubscribe_url"
    ]

    response = client.post(url, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    subscription = reader.subscriptions.get()
    assert subscription.status == SubscriptionStatus.UNSUBSCRIBED
    assert send_figures(send_id=send.pk)["unsubscribed"] == 1


def test_single_mode_writes_each_persons_links_into_their_own_message(
    issue, make_readers, deep_dives, settings
):
    # The test settings' locmem backend, like SMTP, has no merge fields.
    readers = make_readers("ines@example.com", "kwame@example.com")
    send = start(issue, deep_dives)
    run(send)

    assert send.mode == SendMode.SINGLE
    assert len(mail.outbox) == 2
    for message, reader in zip(
        sorted(mail.outbox, key=lambda m: m.to[0]), readers, strict=True
    ):
        assert message.to == [reader.email]
        header = message.extra_headers["List-Unsubscribe"]
        unsubscribe_url = header.strip("<>")
        html = message.alternatives[0][0]
        assert unsubscribe_url in message.body
        assert unsubscribe_url in html
        assert f"Hello {reader.name}," in message.body
        assert "%%nl." not in html + message.body
        link = links.read_unsubscribe_token(unsubscribe_url.rstrip("/").rsplit("/")[-1])
        assert link.subscriber_id == reader.pk
    assert states(send) == Counter({DeliveryState.SENT: 2})


def test_an_unsubscribe_during_a_send_stops_mail_for_the_rest_of_it(
    batch_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 2
    readers = make_readers(*(f"reader{n}@example.com" for n in range(6)))
    send = start(issue, deep_dives)

    def leave_midway(name: str) -> None:
        if name == "claimed" and not mail.outbox:
            services.subscriber_unsubscribe(
                subscriber_id=readers[4].pk,
                list_ids=[deep_dives.pk],
                origin=services.Origin(source="one-click"),
            )
            services.suppression_add(
                email=readers[5].email,
                reason="complaint",
                origin=services.Origin(source="provider"),
            )

    run(send, checkpoint=leave_midway)

    assert received() == Counter({reader.email: 1 for reader in readers[:4]})
    skipped = send.deliveries.filter(state=DeliveryState.SKIPPED)
    assert set(skipped.values_list("subscriber_id", flat=True)) == {
        readers[4].pk,
        readers[5].pk,
    }


@pytest.mark.parametrize("point", ["claimed", "after_call"])
def test_a_crash_then_a_resume_sends_everyone_exactly_one_copy(
    batch_backend, issue, make_readers, deep_dives, settings, point
):
    settings.NEWSLETTER_BATCH_SIZE = 2
    readers = make_readers(*(f"reader{n}@example.com" for n in range(7)))
    send = start(issue, deep_dives)
    with pytest.raises(Killed):
        run(send, checkpoint=kill_at(point, occurrence=2))

    # Later, the lease of the dead worker's claims has passed; staff resume.
    settings.NEWSLETTER_CLAIM_LEASE = 0
    assert services.issue_send_resume(send_id=send.pk)
    assert run(send) is sending.WorkResult.FINISHED

    assert received() == Counter({reader.email: 1 for reader in readers})
    counts = states(send)
    if point == "claimed":
        # Claimed but never handed over: queued again and sent once.
        assert counts == Counter({DeliveryState.SENT: 7})
    else:
        # The provider took the batch, the worker died before writing it down:
        # uncertain, and not sent again.
        assert counts == Counter({DeliveryState.SENT: 5, DeliveryState.UNCERTAIN: 2})


def test_a_crash_just_before_the_call_is_uncertain_until_staff_decide(
    batch_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 2
    readers = make_readers(*(f"reader{n}@example.com" for n in range(4)))
    send = start(issue, deep_dives)
    with pytest.raises(Killed):
        run(send, checkpoint=kill_at("before_call", occurrence=2))
    settings.NEWSLETTER_CLAIM_LEASE = 0
    services.issue_send_resume(send_id=send.pk)
    run(send)
    assert states(send)[DeliveryState.UNCERTAIN] == 2
    assert sum(received().values()) == 2

    # Staff look at the provider's log, see nothing went out, and resend.
    assert services.deliveries_resolve_uncertain(send_id=send.pk, resend=True) == 2
    run(send)

    assert received() == Counter({reader.email: 1 for reader in readers})
    send.refresh_from_db()
    assert send.status == SendStatus.FINISHED


def test_a_timed_out_call_is_uncertain_and_never_retried(
    scripted_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 1
    make_readers("a@example.com", "timeout@example.com", "c@example.com")
    send = start(issue, deep_dives)
    run(send)
    services.issue_send_resume(send_id=send.pk)
    run(send)

    delivery = send.deliveries.get(subscriber__email="timeout@example.com")
    assert delivery.state == DeliveryState.UNCERTAIN
    assert "ReadTimeout" in delivery.detail or "Timed out" in delivery.detail
    assert received() == Counter({"a@example.com": 1, "c@example.com": 1})


def test_one_refused_address_fails_alone_and_the_rest_of_its_batch_goes(
    scripted_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 4
    make_readers("a@example.com", "b@example.com", "refused@example.com", "d@x.org")
    send = start(issue, deep_dives)
    run(send)

    refused = send.deliveries.get(subscriber__email="refused@example.com")
    assert refused.state == DeliveryState.FAILED
    assert received() == Counter({"a@example.com": 1, "b@example.com": 1, "d@x.org": 1})


def test_recipients_all_refused_by_the_provider_are_recorded_as_failed(
    scripted_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 2
    make_readers("inactive1@example.com", "inactive2@example.com")
    send = start(issue, deep_dives)
    assert run(send) is sending.WorkResult.FINISHED

    assert set(send.deliveries.values_list("state", "esp_status")) == {
        (DeliveryState.FAILED, "rejected")
    }


def test_errors_past_the_threshold_pause_the_send(
    scripted_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 1
    settings.NEWSLETTER_ERROR_PAUSE_THRESHOLD = 2
    make_readers("timeout1@example.com", "timeout2@example.com", "c@example.com")
    send = start(issue, deep_dives)

    assert run(send) is sending.WorkResult.STOPPED

    send.refresh_from_db()
    assert send.status == SendStatus.PAUSED
    assert "2 provider calls failed" in send.pause_reason
    assert states(send)[DeliveryState.QUEUED] == 1
    assert not mail.outbox


def test_complaints_past_the_rate_pause_the_send(
    batch_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_COMPLAINT_BASE = 10
    readers = make_readers(*(f"reader{n}@example.com" for n in range(4)))
    send = start(issue, deep_dives)
    send.deliveries.update(state=DeliveryState.SENT)
    delivery = send.deliveries.get(subscriber=readers[0])

    services.delivery_track_event(
        event=AnymailTrackingEvent(
            event_type="complained",
            recipient=readers[0].email,
            metadata={"delivery": str(delivery.pk)},
        ),
        esp_name="Mailgun",
    )

    send.refresh_from_db()
    assert send.status == SendStatus.PAUSED
    assert "Complaints passed 0.3%" in send.pause_reason


def test_tracking_events_fill_the_figures_and_settle_uncertain_rows(
    batch_backend, issue, make_readers, deep_dives
):
    readers = make_readers("a@example.com", "b@example.com", "c@example.com")
    send = start(issue, deep_dives)
    run(send)
    first, second, third = (send.deliveries.get(subscriber=r) for r in readers)
    Delivery.objects.filter(pk=third.pk).update(state=DeliveryState.UNCERTAIN)

    def event(kind, delivery, reader, **extra):
        services.delivery_track_event(
            event=AnymailTrackingEvent(
                event_type=kind, recipient=reader.email, **extra
            ),
            esp_name="Mailgun",
        )

    event("delivered", first, readers[0], metadata={"delivery": str(first.pk)})
    # No metadata: found by the provider's message id and the address.
    event("bounced", second, readers[1], message_id=second.esp_message_id)
    event("delivered", third, readers[2], metadata={"delivery": str(third.pk)})

    figures = send_figures(send_id=send.pk)
    assert (figures["delivered"], figures["bounced"], figures["uncertain"]) == (2, 1, 0)
    third.refresh_from_db()
    assert third.state == DeliveryState.SENT


def test_the_email_is_frozen_when_the_send_starts(
    batch_backend, issue, make_readers, deep_dives
):
    make_readers("a@example.com")
    send = start(issue, deep_dives)
    issue.title = "A later title"
    issue.save_revision().publish()

    run(send)

    assert mail.outbox[0].subject == "The first hour"
    assert "A later title" not in mail.outbox[0].alternatives[0][0]
    send.refresh_from_db()
    assert send.revision_id is not None and "The first hour" in send.html


def test_nobody_gets_an_issue_twice_through_two_lists(
    batch_backend, issue, make_readers, deep_dives
):
    other = MailingListFactory(name="Workshop dates")
    both, only_deep = make_readers("both@example.com", "deep@example.com")
    SubscriptionFactory(subscriber=both, mailing_list=other)
    (only_other,) = make_readers("other@example.com", mailing_list=other)
    run(start(issue, deep_dives))

    assert recipient_count(issue=issue, mailing_list=other) == 1
    second = start(issue, other)
    run(second)

    assert received() == Counter(
        {"both@example.com": 1, "deep@example.com": 1, "other@example.com": 1}
    )
    assert list(second.deliveries.values_list("subscriber_id", flat=True)) == [
        only_other.pk
    ]


def test_pause_resume_and_cancel(
    batch_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 1
    make_readers(*(f"reader{n}@example.com" for n in range(4)))
    send = start(issue, deep_dives)

    def pause_after_first(name):
        if name == "after_call":
            services.issue_send_pause(send_id=send.pk)

    assert run(send, checkpoint=pause_after_first) is sending.WorkResult.STOPPED
    assert len(mail.outbox) == 1

    assert services.issue_send_resume(send_id=send.pk)

    def checkpoint(name):
        return name == "after_call" and services.issue_send_cancel(send_id=send.pk)

    run(send, checkpoint=checkpoint)

    send.refresh_from_db()
    assert send.status == SendStatus.CANCELLED
    assert len(mail.outbox) == 2
    assert states(send) == Counter({DeliveryState.SENT: 2, DeliveryState.SKIPPED: 2})


def test_a_cancel_stops_rows_a_worker_has_already_claimed(
    batch_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 3
    make_readers(*(f"reader{n}@example.com" for n in range(6)))
    send = start(issue, deep_dives)

    # The worker has claimed its first batch when staff press Cancel.
    def checkpoint(name):
        return name == "claimed" and services.issue_send_cancel(send_id=send.pk)

    assert run(send, checkpoint=checkpoint) is sending.WorkResult.STOPPED

    # "Nobody else will receive this send": not even the batch in hand.
    assert not mail.outbox
    assert states(send) == Counter({DeliveryState.SKIPPED: 6})


def test_a_pause_gives_back_rows_a_worker_has_already_claimed(
    batch_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 3
    readers = make_readers(*(f"reader{n}@example.com" for n in range(6)))
    send = start(issue, deep_dives)

    def checkpoint(name):
        return name == "claimed" and services.issue_send_pause(send_id=send.pk)

    assert run(send, checkpoint=checkpoint) is sending.WorkResult.STOPPED

    assert not mail.outbox
    assert states(send) == Counter({DeliveryState.QUEUED: 6})
    assert services.issue_send_resume(send_id=send.pk)
    assert run(send) is sending.WorkResult.FINISHED
    assert received() == Counter({reader.email: 1 for reader in readers})


def test_single_mode_stops_within_a_batch_when_paused(
    issue, make_readers, deep_dives, settings
):
    # The locmem backend sends one message each, in chunks of 16.
    settings.NEWSLETTER_BATCH_SIZE = 40
    readers = make_readers(*(f"reader{n}@example.com" for n in range(40)))
    send = start(issue, deep_dives)

    def checkpoint(name):
        return name == "after_call" and services.issue_send_pause(send_id=send.pk)

    assert run(send, checkpoint=checkpoint) is sending.WorkResult.STOPPED

    assert len(mail.outbox) == 16
    assert states(send) == Counter({DeliveryState.SENT: 16, DeliveryState.QUEUED: 24})
    assert services.issue_send_resume(send_id=send.pk)
    assert run(send) is sending.WorkResult.FINISHED
    assert received() == Counter({reader.email: 1 for reader in readers})


def test_single_mode_checks_who_left_before_every_chunk(
    issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 40
    readers = make_readers(*(f"reader{n}@example.com" for n in range(40)))
    send = start(issue, deep_dives)

    def leave_during_the_first_chunk(name: str) -> None:
        if name == "before_call" and not mail.outbox:
            services.subscriber_unsubscribe(
                subscriber_id=readers[30].pk,
                list_ids=[deep_dives.pk],
                origin=services.Origin(source="one-click"),
            )

    assert (
        run(send, checkpoint=leave_during_the_first_chunk)
        is sending.WorkResult.FINISHED
    )

    assert readers[30].email not in received()
    assert len(mail.outbox) == 39
    assert send.deliveries.get(subscriber=readers[30]).state == DeliveryState.SKIPPED


def test_a_scheduled_send_waits_for_its_time(batch_backend, issue, deep_dives):
    later = timezone.now() + timezone.timedelta(hours=2)
    send = services.issue_send_create(
        issue=issue, mailing_list=deep_dives, scheduled_at=later
    )

    assert not services.issue_send_start(send_id=send.pk)
    send.refresh_from_db()
    assert send.status == SendStatus.SCHEDULED
    assert not send.html


def deferred_work(send_id: int) -> list:
    """When queued issue_send_work tasks for this send are to run, per backend."""
    backend = django_settings.TASKS["default"]["BACKEND"]
    if backend == "django_tasks_db.DatabaseBackend":
        return [
            task.run_after
            for task in DBTaskResult.objects.filter(
                task_path__endswith="issue_send_work", run_after__isnull=False
            )
            if task.args_kwargs["args"] == [send_id]
        ]

    queue = django_rq.get_queue("default")
    registry = queue.scheduled_job_registry
    # Other tests' work may still be scheduled in the shared Redis.
    return [
        registry.get_scheduled_time(job.id)
        for job in map(queue.fetch_job, registry.get_job_ids())
        if job is not None and list(job.args) == [send_id]
    ]


def test_a_worker_with_nothing_left_checks_back_when_the_others_lease_ends(
    batch_backend, issue, make_readers, deep_dives, settings
):
    if not default_task_backend.supports_defer:
        pytest.skip("This task backend cannot run work later.")
    make_readers("a@example.com", "b@example.com")
    send = start(issue, deep_dives)
    # Another worker holds every row, then goes silent.
    sending.claim(send=send, size=10)
    expected = sending.oldest_claim_expiry(send_id=send.pk)

    assert tasks.issue_send_work.call(send.pk) == "waiting"

    (run_after,) = deferred_work(send.pk)
    assert abs((run_after - expected).total_seconds()) < 1
    # When it runs, the dead worker's rows go back to the queue and are sent.
    settings.NEWSLETTER_CLAIM_LEASE = 0
    assert tasks.issue_send_work.call(send.pk) == "finished"
    assert received() == Counter({"a@example.com": 1, "b@example.com": 1})


def test_a_worker_that_crashes_pauses_the_send_and_says_why(
    batch_backend, issue, make_readers, deep_dives
):
    make_readers("a@example.com")
    send = start(issue, deep_dives)

    def full_disk(name: str) -> None:
        raise RuntimeError("the disk is full")

    assert run(send, checkpoint=full_disk) is sending.WorkResult.ERROR

    send.refresh_from_db()
    assert send.status == SendStatus.PAUSED
    assert "worker stopped on an error" in send.pause_reason
    assert "the disk is full" in send.last_error


def test_one_active_send_per_issue(batch_backend, issue, deep_dives):
    services.issue_send_create(issue=issue, mailing_list=deep_dives)
    with pytest.raises(Exception, match="already being sent"):
        services.issue_send_create(issue=issue, mailing_list=deep_dives)


def test_a_cancelled_send_can_be_sent_again_to_those_it_skipped(
    batch_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 2
    readers = make_readers(*(f"reader{n}@example.com" for n in range(5)))
    first = start(issue, deep_dives)

    def checkpoint(name):
        return name == "after_call" and services.issue_send_cancel(send_id=first.pk)

    run(first, checkpoint=checkpoint)
    assert states(first) == Counter({DeliveryState.SENT: 2, DeliveryState.SKIPPED: 3})

    # The list is put right and the issue sent to it again.
    assert recipient_count(issue=issue, mailing_list=deep_dives) == 3
    second = start(issue, deep_dives)
    assert run(second) is sending.WorkResult.FINISHED

    assert received() == Counter({reader.email: 1 for reader in readers})
    assert states(second) == Counter({DeliveryState.SENT: 3})
    # The first send's record of whom it skipped stays as it was.
    assert states(first) == Counter({DeliveryState.SENT: 2, DeliveryState.SKIPPED: 3})


def test_leaving_one_list_mid_send_does_not_cost_the_issue_on_another(
    batch_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 1
    other = MailingListFactory(name="Workshop dates")
    make_readers("first@example.com")
    (both,) = make_readers("both@example.com")
    SubscriptionFactory(subscriber=both, mailing_list=other)
    send = start(issue, deep_dives)

    def leave_deep_dives(name: str) -> None:
        if name == "claimed" and not mail.outbox:
            services.subscriber_unsubscribe(
                subscriber_id=both.pk,
                list_ids=[deep_dives.pk],
                origin=services.Origin(source="one-click"),
            )

    run(send, checkpoint=leave_deep_dives)
    assert send.deliveries.get(subscriber=both).state == DeliveryState.SKIPPED

    # Still on Workshop dates: that send reaches them.
    assert recipient_count(issue=issue, mailing_list=other) == 1
    run(start(issue, other))
    assert received() == Counter({"first@example.com": 1, "both@example.com": 1})


def test_someone_who_may_have_the_issue_is_never_sent_it_again(
    batch_backend, issue, make_readers, deep_dives
):
    other = MailingListFactory(name="Workshop dates")
    (reader,) = make_readers("ada@example.com")
    SubscriptionFactory(subscriber=reader, mailing_list=other)
    first = start(issue, deep_dives)
    run(first)
    first.deliveries.update(state=DeliveryState.UNCERTAIN)
    mail.outbox.clear()
    # Staff decide not to risk a second copy.
    assert services.deliveries_resolve_uncertain(send_id=first.pk, resend=False) == 1

    assert recipient_count(issue=issue, mailing_list=other) == 0
    second = start(issue, other)
    run(second)
    assert not mail.outbox
    assert not second.deliveries.exists()


def test_a_tracking_event_for_a_row_queued_again_stops_the_second_copy(
    batch_backend, issue, make_readers, deep_dives
):
    make_readers("a@example.com", "b@example.com")
    send = start(issue, deep_dives)
    run(send)
    send.deliveries.update(state=DeliveryState.UNCERTAIN)
    mail.outbox.clear()
    assert services.deliveries_resolve_uncertain(send_id=send.pk, resend=True) == 2
    late = send.deliveries.get(subscriber__email="a@example.com")

    # The provider's "delivered" for the first attempt arrives before a worker
    # gets to the row.
    services.delivery_track_event(
        event=AnymailTrackingEvent(
            event_type="delivered",
            recipient="a@example.com",
            metadata={"delivery": str(late.pk)},
        ),
        esp_name="Mailgun",
    )
    run(send)

    assert received() == Counter({"b@example.com": 1})
    late.refresh_from_db()
    assert late.state == DeliveryState.SENT


def test_uncertain_rows_of_a_cancelled_send_are_not_sent_again(
    batch_backend, issue, make_readers, deep_dives
):
    make_readers("a@example.com")
    send = start(issue, deep_dives)
    send.deliveries.update(state=DeliveryState.UNCERTAIN)
    services.issue_send_cancel(send_id=send.pk)

    with pytest.raises(ValidationError, match="cancelled"):
        services.deliveries_resolve_uncertain(send_id=send.pk, resend=True)

    run(send)
    assert not mail.outbox
    assert states(send) == Counter({DeliveryState.UNCERTAIN: 1})


def test_uncertain_rows_wait_while_another_send_of_the_issue_is_active(
    batch_backend, issue, make_readers, deep_dives
):
    other = MailingListFactory(name="Workshop dates")
    make_readers("a@example.com")
    make_readers("b@example.com", mailing_list=other)
    first = start(issue, deep_dives)
    run(first)
    first.deliveries.update(state=DeliveryState.UNCERTAIN)
    services.issue_send_create(issue=issue, mailing_list=other)

    with pytest.raises(ValidationError, match="Another send of this issue"):
        services.deliveries_resolve_uncertain(send_id=first.pk, resend=True)

    first.refresh_from_db()
    assert first.status == SendStatus.FINISHED
    assert states(first) == Counter({DeliveryState.UNCERTAIN: 1})


NAMES = ["Zoë <b>&amp;</b> O'Brien", "%recipient.unsubscribe_url%", "100% & <3"]


def test_names_go_into_a_batch_as_text_and_escaped_html(
    batch_backend, issue, deep_dives
):
    for number, name in enumerate(NAMES):
        reader = SubscriberFactory(email=f"reader{number}@example.com", name=name)
        SubscriptionFactory(subscriber=reader, mailing_list=deep_dives)
    run(start(issue, deep_dives))

    (message,) = mail.outbox
    data = message.anymail_test_params["merge_data"]
    for number, name in enumerate(NAMES):
        values = data[f"reader{number}@example.com"]
        assert values["greeting"] == f"Hello {name},"
        assert values["greeting_html"] == f"Hello {html_escape(name)},"
    # The frozen email refers to the escaped field where it is HTML.
    html = message.alternatives[0][0]
    assert "%recipient.greeting_html%" in html
    assert "%recipient.greeting%" not in html


def test_names_go_into_single_messages_as_text_and_escaped_html(issue, deep_dives):
    for number, name in enumerate(NAMES):
        reader = SubscriberFactory(email=f"reader{number}@example.com", name=name)
        SubscriptionFactory(subscriber=reader, mailing_list=deep_dives)
    run(start(issue, deep_dives))

    by_address = {message.to[0]: message for message in mail.outbox}
    for number, name in enumerate(NAMES):
        message = by_address[f"reader{number}@example.com"]
        html = message.alternatives[0][0]
        assert f"Hello {name}," in message.body
        assert f"Hello {html_escape(name)}," in html
        assert f"Hello {name}," not in html or name == html_escape(name)
        # A name that looks like a merge field stays a name: filled in once.
        assert "%%nl." not in html + message.body
        unsubscribe = message.extra_headers["List-Unsubscribe"].strip("<>")
        assert unsubscribe in html
