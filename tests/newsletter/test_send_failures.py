"""How a send reads a provider's failures: nobody mailed twice, nobody lost.

What a failed call means decides what becomes of everyone in it: a success we
could not read may have gone out (uncertain, never resent); an error about our
account or the message as a whole sent nothing and will fail the same way for
everyone (pause, everyone back in the queue untouched); an error naming an
address is that address's (failed); "not now" is queued again.
"""

import datetime
import smtplib
import threading
from collections import Counter

import pytest
import requests
from anymail.exceptions import (
    AnymailAPIError,
    AnymailInvalidAddress,
    AnymailRequestsAPIError,
    AnymailSerializationError,
)
from django.core import mail
from django.utils import timezone

from newsletter import sending, services
from newsletter.models import DeliveryState, SendStatus
from newsletter.sending import Failure, Recipient, calls, classify
from newsletter.sending.clock import Pacer
from tests.newsletter import backends
from tests.newsletter.send_helpers import run, start, states
from tests.newsletter.smtp_standin import SMTPStandIn

ADA = Recipient(1, 1, "ada@example.com", "Ada")
BOB = Recipient(2, 2, "bob@example.com", "Bob")


# -- What each failure means ------------------------------------------------------


def answered(status: int, body: bytes = b"{}") -> AnymailRequestsAPIError:
    response = requests.Response()
    response.status_code = status
    response.reason = "Scripted"
    response._content = body
    return AnymailRequestsAPIError("Scripted answer", response=response)


@pytest.mark.parametrize(
    ("status", "body", "failure"),
    [
        # Mailgun without "Queued", Brevo without a message id, invalid JSON:
        # the provider said yes in a way we cannot read.
        (200, b'{"id": "<1@x>", "message": "Thanks"}', Failure.UNREADABLE),
        (201, b"<html>not json</html>", Failure.UNREADABLE),
        # ... except Mailgun's answer at a wrong API address.
        (200, b"Mailgun Magnificent API", Failure.CONFIG),
        (408, b"{}", Failure.UNCERTAIN),
        (500, b"{}", Failure.UNCERTAIN),
        (504, b"<html>Gateway Time-out</html>", Failure.UNCERTAIN),
        # A proxy's 502 may follow the work done behind it.
        (502, b"<html>Bad Gateway</html>", Failure.UNCERTAIN),
        (503, b"{}", Failure.RETRY),
        (429, b"{}", Failure.RETRY),
        (401, b'{"message": "Invalid private key"}', Failure.CONFIG),
        (403, b'{"message": "Domain is disabled"}', Failure.CONFIG),
        (404, b'{"message": "Domain not found"}', Failure.CONFIG),
        (413, b"{}", Failure.CONFIG),
        (
            400,
            b'{"message": "\'to\' parameter is not a valid address. please check '
            b'documentation"}',
            Failure.REFUSED,
        ),
        (400, b'{"message": "ada@example.com is on no list of ours"}', Failure.REFUSED),
        (
            400,
            b'{"message": "\'from\' parameter is not a valid address"}',
            Failure.CONFIG,
        ),
        (422, b'{"ErrorCode": 400, "Message": "Sender signature not defined"}', None),
    ],
)
def test_http_answers(status, body, failure):
    assert classify(answered(status, body), [ADA, BOB]) is (failure or Failure.CONFIG)


def aws(code: str, message: str, status: int = 400) -> AnymailAPIError:
    """What anymail raises for a boto ClientError: its parsed answer, no status."""
    return AnymailAPIError(
        f"An error occurred ({code}): {message}",
        response={
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
    )


class EndpointConnectionError(Exception):
    """Stands for botocore's, which is only installed with the SES backend."""


def never_connected() -> AnymailAPIError:
    try:
        raise AnymailAPIError("Could not connect") from EndpointConnectionError()
    except AnymailAPIError as error:
        return error


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (aws("Throttling", "Maximum sending rate exceeded."), Failure.RETRY),
        (aws("TooManyRequestsException", "Too many requests", 429), Failure.RETRY),
        (aws("Throttling", "Daily message quota exceeded."), Failure.CONFIG),
        (aws("AccountSendingPausedException", "Sending paused"), Failure.CONFIG),
        (aws("SendingPausedException", "Sending paused"), Failure.CONFIG),
        (aws("MailFromDomainNotVerifiedException", "Not verified"), Failure.CONFIG),
        (
            aws(
                "MessageRejected",
                "Email address is not verified. The following identities failed "
                "the check in region EU-WEST-1: ada@example.com",
            ),
            Failure.REFUSED,
        ),
        (aws("MessageRejected", "Message rejected: content refused"), Failure.CONFIG),
        (aws("InternalFailure", "Internal failure", 500), Failure.UNCERTAIN),
        (never_connected(), Failure.RETRY),
    ],
)
def test_amazon_ses_errors_are_read_by_their_code(error, failure):
    assert classify(error, [ADA]) is failure


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        # smtplib says this before writing a byte on a closed connection.
        (smtplib.SMTPServerDisconnected("please run connect() first"), Failure.RETRY),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), None),
        (
            smtplib.SMTPRecipientsRefused({"ada@example.com": (450, b"Try later")}),
            Failure.RETRY,
        ),
        (
            smtplib.SMTPRecipientsRefused({"ada@example.com": (421, b"Closing")}),
            Failure.RETRY,
        ),
        (
            smtplib.SMTPRecipientsRefused({"ada@example.com": (550, b"No such user")}),
            Failure.REFUSED,
        ),
        (smtplib.SMTPSenderRefused(421, b"Closing", "news@x"), Failure.RETRY),
        (smtplib.SMTPSenderRefused(553, b"Not allowed", "news@x"), Failure.CONFIG),
        (smtplib.SMTPDataError(554, b"Refused as spam"), Failure.CONFIG),
        (smtplib.SMTPDataError(451, b"Try later"), Failure.RETRY),
        (smtplib.SMTPAuthenticationError(535, b"Bad login"), Failure.CONFIG),
        (ConnectionRefusedError(), Failure.RETRY),
    ],
)
def test_smtp_errors(error, failure):
    assert classify(error, [ADA]) is (failure or Failure.UNCERTAIN)


def test_errors_building_the_message_name_the_address_or_the_message():
    bad_address = AnymailInvalidAddress("Invalid email address 'ada@example.com'")
    bad_sender = AnymailInvalidAddress("Invalid email address 'news@'")
    assert classify(bad_address, [ADA, BOB]) is Failure.REFUSED
    assert classify(bad_sender, [ADA, BOB]) is Failure.CONFIG
    assert classify(AnymailSerializationError("Decimal"), [ADA]) is Failure.CONFIG


# -- Through anymail's Mailgun backend, against the stand-in ---------------------


def test_a_success_we_cannot_read_is_uncertain_and_sent_once(
    mailgun, issue, make_readers, deep_dives
):
    readers = make_readers(*(f"reader{n}@example.com" for n in range(8)))
    # Mailgun took the batch but worded its answer in a way anymail rejects.
    mailgun.always = (200, b'{"id": "<1@standin>", "message": "Thank you"}', True)
    send = start(issue, deep_dives)

    assert run(send) is sending.WorkResult.STOPPED

    assert len(mailgun.calls) == 1
    assert mailgun.recipients == Counter({r.email: 1 for r in readers[:4]})
    assert states(send) == Counter(
        {DeliveryState.UNCERTAIN: 4, DeliveryState.QUEUED: 4}
    )
    send.refresh_from_db()
    assert send.status == SendStatus.PAUSED
    assert "could not read" in send.pause_reason


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, b"Forbidden"),
        (403, b'{"message": "Domain example.com is disabled"}'),
        (404, b'{"message": "Domain not found: tidewell.example"}'),
        (413, b'{"message": "Request too large"}'),
        (400, b'{"message": "\'subject\' parameter is missing"}'),
    ],
)
def test_an_error_about_our_account_or_message_pauses_and_loses_nobody(
    mailgun, issue, make_readers, deep_dives, status, body
):
    make_readers(*(f"reader{n}@example.com" for n in range(8)))
    mailgun.always = (status, body, False)
    send = start(issue, deep_dives)

    assert run(send) is sending.WorkResult.STOPPED

    # One call, not one per address: nobody is failed for our mistake.
    assert len(mailgun.calls) == 1
    assert set(send.deliveries.values_list("state", "attempts")) == {
        (DeliveryState.QUEUED, 0)
    }
    send.refresh_from_db()
    assert send.status == SendStatus.PAUSED
    assert f"{status}" in send.pause_reason

    # The settings are put right; staff resume; everyone gets one copy.
    mailgun.always = None
    assert services.issue_send_resume(send_id=send.pk)
    assert run(send) is sending.WorkResult.FINISHED
    assert mailgun.stats()["distinct"] == 8
    assert mailgun.stats()["duplicates"] == 0


def test_a_batch_refused_alike_in_every_part_is_the_message_not_an_address(
    mailgun, issue, make_readers, deep_dives
):
    make_readers(*(f"reader{n}@example.com" for n in range(8)))
    mailgun.always = (
        400,
        b'{"message": "\'to\' parameter is not a valid address. please check '
        b'documentation"}',
        False,
    )
    send = start(issue, deep_dives)

    assert run(send) is sending.WorkResult.STOPPED

    # The batch, its two halves, one person from each half alone: then it
    # stops splitting.
    assert [len(call) for call in mailgun.calls] == [4, 2, 2, 1, 1]
    assert set(send.deliveries.values_list("state", "attempts")) == {
        (DeliveryState.QUEUED, 0)
    }
    send.refresh_from_db()
    assert send.status == SendStatus.PAUSED
    assert "refused alike" in send.pause_reason


# (0, 5): the first person of the batch is one of them, so the first probe
# is refused alike, yet the second goes through: addresses, not the message.
@pytest.mark.parametrize("positions", [(1, 6), (0, 5)])
def test_a_refused_address_in_each_half_fails_alone(
    scripted_backend, issue, make_readers, deep_dives, settings, positions
):
    settings.NEWSLETTER_BATCH_SIZE = 8
    emails = [f"reader{n}@example.com" for n in range(8)]
    first, second = positions
    emails[first], emails[second] = "refused1@example.com", "refused2@example.com"
    make_readers(*emails)
    send = start(issue, deep_dives)

    assert run(send) is sending.WorkResult.FINISHED

    failed = send.deliveries.filter(state=DeliveryState.FAILED)
    assert set(failed.values_list("subscriber__email", flat=True)) == {
        "refused1@example.com",
        "refused2@example.com",
    }
    received = Counter(a for m in mail.outbox for a in m.to)
    assert received == Counter({e: 1 for e in emails if "refused" not in e})


def test_a_crash_while_splitting_keeps_what_the_provider_already_took(
    scripted_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 4
    make_readers("a@example.com", "b@example.com", "c@example.com", "refused@x.org")
    send = start(issue, deep_dives)
    # Calls: the batch (refused), its first half (taken), then the second
    # half: the worker dies as that call returns.
    hits = Counter()

    def die_on_third_call(name: str) -> None:
        if name == "after_call":
            hits[name] += 1
            if hits[name] == 3:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(send, checkpoint=die_on_third_call)
    settings.NEWSLETTER_CLAIM_LEASE = 0
    sending.expire_stale_claims(send_id=send.pk)

    # The half the provider took is written down as sent, not left uncertain.
    assert states(send) == Counter({DeliveryState.SENT: 2, DeliveryState.UNCERTAIN: 2})


def test_an_outage_pauses_the_send_and_fails_nobody(
    scripted_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 1
    settings.NEWSLETTER_ERROR_PAUSE_THRESHOLD = 3
    make_readers("busy@example.com", "unreachable@example.com")
    send = start(issue, deep_dives)

    assert run(send) is sending.WorkResult.STOPPED

    busy = send.deliveries.get(subscriber__email="busy@example.com")
    unreachable = send.deliveries.get(subscriber__email="unreachable@example.com")
    assert (busy.state, busy.attempts) == (DeliveryState.SENT, 1)
    # Never handed over, so never failed: queued for when the provider is back.
    assert unreachable.state == DeliveryState.QUEUED
    assert unreachable.attempts == 2
    send.refresh_from_db()
    assert send.status == SendStatus.PAUSED
    assert "3 provider calls failed" in send.pause_reason
    assert "queued again" in send.pause_reason

    backends.OUTAGE["over"] = True
    assert services.issue_send_resume(send_id=send.pk)
    assert run(send) is sending.WorkResult.FINISHED
    received = Counter(a for m in mail.outbox for a in m.to)
    assert received == Counter({"busy@example.com": 1, "unreachable@example.com": 1})


# -- Single mode ----------------------------------------------------------------


def test_single_mode_stops_a_failing_batch_at_the_threshold(
    scripted_backend, issue, make_readers, deep_dives, settings
):
    # A provider that hangs: every call times out after taking the request.
    settings.NEWSLETTER_SEND_MODE = "single"
    settings.NEWSLETTER_BATCH_SIZE = 40
    settings.NEWSLETTER_ERROR_PAUSE_THRESHOLD = 3
    make_readers(*(f"timeout{n}@example.com" for n in range(40)))
    send = start(issue, deep_dives)

    assert run(send) is sending.WorkResult.STOPPED

    assert len(backends.CALLS) == 3
    assert states(send) == Counter(
        {DeliveryState.UNCERTAIN: 3, DeliveryState.QUEUED: 37}
    )
    send.refresh_from_db()
    assert send.status == SendStatus.PAUSED


def test_single_mode_refused_by_everyone_pauses_instead_of_failing_all(
    issue, make_readers, deep_dives, settings, smtp
):
    # A relay that refuses every recipient: it is refusing us, not them.
    settings.NEWSLETTER_BATCH_SIZE = 40
    settings.NEWSLETTER_ERROR_PAUSE_THRESHOLD = 3
    for number in range(1, 41):
        smtp.plan[number] = ("rcpt", 554, "Relay access denied", False)
    make_readers(*(f"reader{n}@example.com" for n in range(40)))
    send = start(issue, deep_dives)

    assert run(send) is sending.WorkResult.STOPPED

    # Nobody is failed for it: all still queued, with the three tries counted.
    assert smtp.mails == 3
    assert states(send) == Counter({DeliveryState.QUEUED: 40})
    assert sum(send.deliveries.values_list("attempts", flat=True)) == 3
    send.refresh_from_db()
    assert send.status == SendStatus.PAUSED
    assert "Relay access denied" in send.pause_reason


def test_single_mode_hands_over_when_its_time_is_up(
    issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 40  # chunks of 16 with the locmem backend
    readers = make_readers(*(f"reader{n}@example.com" for n in range(40)))
    send = start(issue, deep_dives)
    # Writing down the first chunk takes the rest of the task's time, on a
    # clock the test moves.
    clock = backends.FakeClock()
    slow = Counter()

    def slow_first_record(name: str) -> None:
        if name == "after_call" and not slow:
            slow[name] += 1
            clock.sleep(1.1)

    result = run(send, seconds=1, checkpoint=slow_first_record, clock=clock)
    assert result is sending.WorkResult.MORE

    # The rest of the batch never went: queued again, not kept claimed.
    assert len(mail.outbox) == 16
    assert states(send) == Counter({DeliveryState.SENT: 16, DeliveryState.QUEUED: 24})
    assert run(send) is sending.WorkResult.FINISHED
    received = Counter(a for m in mail.outbox for a in m.to)
    assert received == Counter({r.email: 1 for r in readers})


@pytest.mark.parametrize("stall_after", [None, 3], ids=["steady", "after-a-stall"])
def test_a_rate_limit_spreads_a_batch_and_never_bursts(
    issue, make_readers, deep_dives, settings, stall_after
):
    # Amazon SES allows so many messages a second, not a burst of a batch, and
    # not a burst to catch up after the provider was slow to answer.
    settings.EMAIL_BACKEND = "tests.newsletter.backends.TimedBackend"
    settings.NEWSLETTER_MAX_PER_SECOND = 20
    settings.NEWSLETTER_BATCH_SIZE = 10
    clock = backends.start_timing(stall_after=stall_after)
    make_readers(*(f"reader{n}@example.com" for n in range(10)))
    send = start(issue, deep_dives)

    run(send, clock=clock)

    sent_at = backends.SENT_AT
    assert len(sent_at) == 10
    # No window holds more than the rate: any n messages span (n - 1) / 20 s.
    for first in range(len(sent_at)):
        for last in range(first + 1, len(sent_at)):
            span = sent_at[last] - sent_at[first]
            assert span >= (last - first) / 20 - 1e-9, (first, last, sent_at)


def test_threads_sharing_a_pacer_each_wait_for_a_moment_of_their_own():
    """The pool's threads book moments 1/rate apart, however many ask at once."""

    class StandingClock:
        """A clock that stands still and notes when each caller would wake."""

        def __init__(self):
            self.woken: list[float] = []

        def monotonic(self) -> float:
            return 0.0

        def sleep(self, seconds: float) -> None:
            self.woken.append(seconds)

    clock = StandingClock()
    pacer = Pacer(20, clock)
    barrier = threading.Barrier(8)

    def send() -> None:
        barrier.wait()
        pacer.wait()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # One goes at once; the other seven each wait for their own moment.
    assert sorted(round(moment, 6) for moment in clock.woken) == [
        round(n / 20, 6) for n in range(1, 8)
    ]


# -- SMTP ---------------------------------------------------------------------------


@pytest.fixture
def smtp(settings):
    server = SMTPStandIn().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


def test_after_an_smtp_421_the_connection_is_opened_again(
    issue, make_readers, deep_dives, smtp
):
    readers = make_readers(*(f"reader{n}@example.com" for n in range(5)))
    # The second message: "421 closing", and the server hangs up.
    smtp.plan[2] = ("mail", 421, "Too busy, closing connection", True)
    send = start(issue, deep_dives)

    assert run(send) is sending.WorkResult.FINISHED

    assert Counter(smtp.recipients()) == Counter({r.email: 1 for r in readers})
    assert states(send) == Counter({DeliveryState.SENT: 5})
    assert smtp.connections == 2


def test_an_smtp_4xx_for_a_recipient_is_asked_again(
    issue, make_readers, deep_dives, smtp
):
    readers = make_readers("a@example.com", "b@example.com", "c@example.com")
    smtp.plan[2] = ("rcpt", 450, "Mailbox busy, try later", False)
    send = start(issue, deep_dives)

    assert run(send) is sending.WorkResult.FINISHED

    assert Counter(smtp.recipients()) == Counter({r.email: 1 for r in readers})
    assert states(send) == Counter({DeliveryState.SENT: 3})


# -- Stopping, leases and the order of claims -------------------------------------


def test_a_cancel_while_a_batch_is_split_sends_nobody_else(
    scripted_backend, issue, make_readers, deep_dives, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 4
    make_readers("a@example.com", "b@example.com", "c@example.com", "refused@x.org")
    send = start(issue, deep_dives)

    # Staff cancel while the first call, which the provider refuses, is out.
    def cancel_after_first_call(name: str) -> None:
        if name == "after_call" and len(backends.CALLS) == 1:
            services.issue_send_cancel(send_id=send.pk)

    assert run(send, checkpoint=cancel_after_first_call) is sending.WorkResult.STOPPED

    # The split stops: nobody gets the issue after "Cancelled", and nobody
    # is left queued in a cancelled send, which would keep them out of the
    # next send of the issue.
    assert len(backends.CALLS) == 1
    assert mail.outbox == []
    assert states(send) == Counter({DeliveryState.SKIPPED: 4})


def test_rows_given_back_after_a_cancel_are_skipped_not_queued(
    batch_backend, issue, make_readers, deep_dives
):
    make_readers("a@example.com", "b@example.com")
    send = start(issue, deep_dives)
    token, recipients = sending.claim(send=send, size=10)
    sending.mark_sending(send=send, token=token, recipients=recipients)
    services.issue_send_cancel(send_id=send.pk)

    # The call came back "provably not taken" after the cancel.
    sending.record(
        token=token,
        outcomes=dict.fromkeys((r.delivery_id for r in recipients), sending.UNTOUCHED),
    )

    assert states(send) == Counter({DeliveryState.SKIPPED: 2})


def test_the_lease_starts_again_at_the_hand_over(
    batch_backend, issue, make_readers, deep_dives, settings
):
    make_readers("a@example.com")
    send = start(issue, deep_dives)
    token, recipients = sending.claim(send=send, size=10)
    # The batch was claimed long ago (a slow batch before it), handed over now.
    send.deliveries.update(claimed_at=timezone.now() - datetime.timedelta(seconds=600))
    sending.mark_sending(send=send, token=token, recipients=recipients)

    sending.expire_stale_claims(send_id=send.pk)

    assert states(send) == Counter({DeliveryState.SENDING: 1})


def test_a_late_answer_does_not_requeue_a_row_taken_for_dead(
    batch_backend, issue, make_readers, deep_dives, settings
):
    make_readers("a@example.com")
    send = start(issue, deep_dives)
    token, recipients = sending.claim(send=send, size=10)
    sending.mark_sending(send=send, token=token, recipients=recipients)
    settings.NEWSLETTER_CLAIM_LEASE = 0
    sending.expire_stale_claims(send_id=send.pk)  # now uncertain: staff decide

    # The slow call then fails in a way that proves nothing went.
    sending.record(
        token=token,
        outcomes={recipients[0].delivery_id: sending.Outcome(DeliveryState.QUEUED)},
    )

    # Still uncertain: once staff may be deciding, only they move it.
    assert states(send) == Counter({DeliveryState.UNCERTAIN: 1})


def test_rows_put_off_by_the_provider_go_to_the_back_of_the_queue(
    batch_backend, issue, make_readers, deep_dives
):
    make_readers("greylisted@example.com", "b@example.com", "c@example.com")
    send = start(issue, deep_dives)
    send.deliveries.filter(subscriber__email="greylisted@example.com").update(
        attempts=2
    )

    _, recipients = sending.claim(send=send, size=2)

    assert [r.email for r in recipients] == ["b@example.com", "c@example.com"]


def test_single_mode_through_a_pool_pauses_on_our_error_and_loses_nobody(
    postmark, issue, make_readers, deep_dives
):
    make_readers(*(f"reader{n}@example.com" for n in range(100)))
    postmark.always = (401, b'{"ErrorCode": 10, "Message": "Bad token"}', False)
    send = start(issue, deep_dives)

    assert run(send) is sending.WorkResult.STOPPED

    # The four threads' first messages, perhaps a few more in the moment it
    # takes them to hear: never the rest of the chunk already handed out.
    assert 1 <= len(postmark.calls) <= 8
    assert set(send.deliveries.values_list("state", "attempts")) == {
        (DeliveryState.QUEUED, 0)
    }
    send.refresh_from_db()
    assert send.status == SendStatus.PAUSED
    assert "401" in send.pause_reason


def test_a_message_the_pool_starts_after_a_pausing_answer_is_not_sent():
    # The pool may be running the next chunk while the worker waits for the
    # last of this one; the first answer that pauses the send stops them.
    stop = threading.Event()
    stop.set()

    assert calls.send_one(None, None, None, stop) is calls.NOT_SENT


def test_amazon_ses_is_asked_once_per_call(settings):
    # boto3 would otherwise resend a timed-out call by itself.
    settings.ANYMAIL = {
        "AMAZON_SES_CLIENT_PARAMS": {
            "region_name": "eu-west-1",
            "config": {"connect_timeout": 5, "retries": {"max_attempts": 9}},
        }
    }

    options = sending.connection_options("anymail.backends.amazon_sesv2.EmailBackend")

    assert options == {
        "client_params": {
            "region_name": "eu-west-1",
            "config": {"connect_timeout": 5, "retries": {"total_max_attempts": 1}},
        }
    }
    assert sending.connection_options("anymail.backends.mailgun.EmailBackend") == {}
