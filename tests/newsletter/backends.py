"""Anymail's test backend, made to fail the way providers fail, by address.

An address containing `refused` gets the whole call refused with a 400 (as
Mailgun does for one bad address in a batch); `inactive` is refused by the
provider's suppression list (every recipient `rejected`); `timeout` times out
after the request went out; `unreachable` never connects (until a test ends
the outage); `busy` gets one 503 and then goes through. `CALLS` counts the
calls that reached the "provider".
"""

import requests
import urllib3
from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.exceptions import AnymailRequestsAPIError
from anymail.message import AnymailRecipientStatus
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

BUSY_SEEN: set[str] = set()
CALLS: list[list[str]] = []
OUTAGE = {"over": False}


def api_error(status: int, text: str) -> AnymailRequestsAPIError:
    response = requests.Response()
    response.status_code = status
    response.reason = text
    response._content = b'{"message": "%s"}' % text.encode()
    return AnymailRequestsAPIError(text, response=response)


class ScriptedBackend(AnymailTestBackend):
    """Fails or succeeds by address, like a real provider would."""

    def post_to_esp(self, payload, message):
        emails = payload.recipient_emails
        CALLS.append(list(emails))
        if any("refused" in email for email in emails):
            raise api_error(400, "Invalid 'to' address")
        if any("timeout" in email for email in emails):
            raise AnymailRequestsAPIError("Timed out") from requests.ReadTimeout()
        if any("unreachable" in email for email in emails) and not OUTAGE["over"]:
            reason = urllib3.exceptions.NewConnectionError(None, "refused")
            error = requests.ConnectionError(
                urllib3.exceptions.MaxRetryError(None, "/", reason=reason)
            )
            raise AnymailRequestsAPIError("No connection") from error
        busy = [email for email in emails if "busy" in email]
        if busy and not BUSY_SEEN.issuperset(busy):
            BUSY_SEEN.update(busy)
            raise api_error(503, "Service unavailable")
        if all("inactive" in email for email in emails):
            return {
                "recipient_status": {
                    email: AnymailRecipientStatus(message_id=None, status="rejected")
                    for email in emails
                }
            }
        return super().post_to_esp(payload, message)


class FakeClock:
    """A clock that moves only when the worker waits, or the provider stalls."""

    def __init__(self):
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


# The TimedBackend's clock, when each message went out by it, and after which
# message (counted from 1) the provider takes a second to answer.
CLOCK = FakeClock()
SENT_AT: list[float] = []
STALL_AFTER: int | None = None


def start_timing(*, stall_after: int | None = None) -> FakeClock:
    """A fresh clock for the TimedBackend and the worker to share."""
    global CLOCK, STALL_AFTER
    CLOCK, STALL_AFTER = FakeClock(), stall_after
    SENT_AT.clear()
    return CLOCK


class TimedBackend(LocmemBackend):
    """Django's in-memory backend, noting on CLOCK when each message went out."""

    def send_messages(self, messages):
        for _ in messages:
            SENT_AT.append(CLOCK.monotonic())
            if len(SENT_AT) == STALL_AFTER:
                CLOCK.sleep(1.0)
        return super().send_messages(messages)
