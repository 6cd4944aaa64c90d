"""Consent and subscriptions: sign-ups, confirmations, preferences, unsubscribes,
suppressions and erasure, each recorded in the person's consent history.

Each action validates, locks, writes and records inside one transaction; emails
go out through `home.email.send_templated_email`, which waits for the commit.
"""

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from wagtail.log_actions import log

from home import throttle
from home.email import send_templated_email

from .. import links
from ..announcing import Availability
from ..models import (
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    ConsentAction,
    ConsentRecord,
    ConsentText,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    email_digest,
    name_problem,
    new_link_key,
    normalise_email,
)

USER_AGENT_MAX_LENGTH = 500


@dataclass(frozen=True)
class Origin:
    """Where an action came from, as the consent history records it."""

    source: str
    ip_address: str | None = None
    user_agent: str = ""
    detail: str = ""


def consent_record(
    *,
    subscriber: Subscriber,
    action: str,
    origin: Origin,
    mailing_list: MailingList | None = None,
    consent_text: ConsentText | None = None,
) -> ConsentRecord:
    """An unsaved entry of a person's consent history, for the caller to save."""
    return ConsentRecord(
        subscriber=subscriber,
        mailing_list=mailing_list,
        list_name=mailing_list.name if mailing_list else "",
        action=action,
        ip_address=origin.ip_address,
        user_agent=origin.user_agent[:USER_AGENT_MAX_LENGTH],
        source=origin.source[:40],
        source_detail=origin.detail[:255],
        consent_text=consent_text,
    )


def consent_text_for(*, text: str) -> ConsentText:
    """The stored version of this exact wording, created the first time it is used."""
    digest = ConsentText.digest_of(text)
    consent_text, _ = ConsentText.objects.get_or_create(
        digest=digest, defaults={"text": text}
    )
    return consent_text


# Suppressions that say nothing against the mailbox: a person erased at their
# own request may come back through a form by confirming from their inbox. A
# bounce, a complaint or an unsubscribe at the provider means the address gets
# no mail from us again, confirmation requests included.
CONFIRMABLE_SUPPRESSIONS = frozenset({SuppressionReason.ERASED})


def _lock_or_create_subscriber(
    *, email: str, name: str, source: str
) -> tuple[Subscriber, bool]:
    subscriber = Subscriber.objects.select_for_update().filter(email=email).first()
    if subscriber is not None:
        return subscriber, False
    try:
        # A savepoint, so that losing the race to another sign-up of the same
        # address leaves this transaction usable.
        with transaction.atomic():
            subscriber = Subscriber.objects.create(
                email=email, email_hash=email_digest(email), name=name, source=source
            )
        return subscriber, True
    except IntegrityError:
        return Subscriber.objects.select_for_update().get(email=email), False


def _may_send_unasked_mail(subscriber: Subscriber) -> bool:
    """Whether a form may trigger one more email to this address now.

    Anyone can type anyone's address into a form; this caps how often that sends
    a confirmation (or an "already subscribed" note) to one inbox.
    """
    return throttle.allow(
        f"mail:{subscriber.email_hash}",
        limit=settings.NEWSLETTER_EMAILS_PER_ADDRESS,
        window=settings.NEWSLETTER_SIGNUP_RATE_WINDOW,
    )


def _email_context(subscriber: Subscriber, lists: Sequence[MailingList]) -> dict:
    return {
        "subscriber": subscriber,
        "lists": lists,
        "preferences_url": links.preferences_url(subscriber),
    }


def _send_confirmation(subscriber: Subscriber, lists: Sequence[MailingList]) -> None:
    context = _email_context(subscriber, lists)
    context["confirm_url"] = links.confirm_url(subscriber, [ml.pk for ml in lists])
    context["valid_days"] = max(
        1, settings.NEWSLETTER_CONFIRMATION_MAX_AGE // (24 * 60 * 60)
    )
    send_templated_email(
        template="newsletter/emails/confirm", to=[subscriber.email], context=context
    )


def _send_welcome(subscriber: Subscriber, lists: Sequence[MailingList]) -> None:
    list_ids = [ml.pk for ml in lists]
    context = _email_context(subscriber, lists)
    context["unsubscribe_url"] = links.unsubscribe_url(subscriber, list_ids)
    send_templated_email(
        template="newsletter/emails/welcome",
        to=[subscriber.email],
        context=context,
        headers=links.unsubscribe_headers(subscriber, list_ids),
    )


def _send_already_subscribed(
    subscriber: Subscriber, lists: Sequence[MailingList]
) -> None:
    send_templated_email(
        template="newsletter/emails/already_subscribed",
        to=[subscriber.email],
        context=_email_context(subscriber, lists),
    )


def _lift_suppression(*, subscriber: Subscriber, origin: Origin) -> None:
    """A confirmation by the address's owner is fresh consent: it ends a suppression.

    Only actions that prove control of the mailbox call this (a confirmation
    link, a personal preferences link); a form or an import never does.
    """
    deleted, _ = Suppression.objects.filter(email_hash=subscriber.email_hash).delete()
    if deleted:
        consent_record(
            subscriber=subscriber,
            action=ConsentAction.SUPPRESSION_LIFTED,
            origin=origin,
        ).save()
    if subscriber.soft_bounce_count:
        subscriber.soft_bounce_count = 0
        subscriber.save(update_fields=["soft_bounce_count", "updated_at"])


def _clean_email(email: str) -> str:
    email = normalise_email(email)
    validate_email(email)
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError("The address is too long.")
    return email


def _clean_name(name: str) -> str:
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            f"Keep the name to {NAME_MAX_LENGTH} characters or fewer."
        )
    problem = name_problem(name)
    if problem:
        raise ValidationError(problem)
    return name


@dataclass
class _SignupOutcome:
    """The lists a sign-up confirmed at once and those that wait for the inbox."""

    subscribed: list[MailingList] = field(default_factory=list)
    to_confirm: list[MailingList] = field(default_factory=list)


def _request_subscriptions(
    *,
    subscriber: Subscriber,
    mailing_lists: Sequence[MailingList],
    must_confirm: bool,
    text: ConsentText,
    origin: Origin,
    now: datetime.datetime,
) -> _SignupOutcome:
    """Write the locked subscriber's subscriptions a form asked for, and their history.

    A list already confirmed is left as it is.
    """
    existing = {
        subscription.mailing_list_id: subscription
        for subscription in subscriber.subscriptions.select_for_update()
    }
    # A form can be filled in by anyone: someone who once left a list must
    # confirm from their inbox before any list mails them again, even a
    # list without double opt-in.
    must_confirm = must_confirm or any(
        subscription.status == SubscriptionStatus.UNSUBSCRIBED
        for subscription in existing.values()
    )
    outcome = _SignupOutcome()
    records = []
    for mailing_list in mailing_lists:
        subscription = existing.get(mailing_list.pk) or Subscription(
            subscriber=subscriber, mailing_list=mailing_list
        )
        if subscription.pk and subscription.status == SubscriptionStatus.CONFIRMED:
            continue
        subscription.consent_text = text
        if mailing_list.double_opt_in or must_confirm:
            subscription.status = SubscriptionStatus.PENDING
            outcome.to_confirm.append(mailing_list)
            action = ConsentAction.REQUESTED
        else:
            subscription.status = SubscriptionStatus.CONFIRMED
            subscription.confirmed_at = now
            outcome.subscribed.append(mailing_list)
            action = ConsentAction.SUBSCRIBED
        subscription.save()
        records.append(
            consent_record(
                subscriber=subscriber,
                action=action,
                origin=origin,
                mailing_list=mailing_list,
                consent_text=text,
            )
        )
    ConsentRecord.objects.bulk_create(records)
    return outcome


def _answer_signup(
    subscriber: Subscriber,
    mailing_lists: Sequence[MailingList],
    outcome: _SignupOutcome,
) -> None:
    """Send the one email a sign-up calls for, within the per-address limit."""
    if outcome.subscribed:
        _send_welcome(subscriber, outcome.subscribed)
    if outcome.to_confirm:
        if _may_send_unasked_mail(subscriber):
            _send_confirmation(subscriber, outcome.to_confirm)
    elif not outcome.subscribed and _may_send_unasked_mail(subscriber):
        _send_already_subscribed(subscriber, list(mailing_lists))


def subscriber_subscribe(
    *,
    email: str,
    name: str,
    mailing_lists: Sequence[MailingList],
    consent_text: str,
    origin: Origin,
    availability: Availability | None = None,
) -> None:
    """Ask for subscriptions from a public form, whoever typed the address.

    Returns nothing on purpose: the caller must answer the same whether the
    address was new, pending, confirmed or suppressed. Lists with double opt-in,
    and every list for an erased address or for someone who unsubscribed from
    any list before, wait for a confirmation by email. An address that bounced
    or complained is left alone: no email, no record.
    """
    email = _clean_email(email)
    name = _clean_name(name)
    if not mailing_lists:
        raise ValidationError("Choose at least one list.")
    now = timezone.now()
    with transaction.atomic():
        suppression = Suppression.objects.filter(email_hash=email_digest(email)).first()
        if suppression and suppression.reason not in CONFIRMABLE_SUPPRESSIONS:
            return
        text = consent_text_for(text=consent_text)
        subscriber, created = _lock_or_create_subscriber(
            email=email, name=name, source=origin.source
        )
        # A form can be filled in by anyone, so it names only a person it
        # creates, never one already known (whose issues would then greet them
        # with a stranger's words); they set it on the preferences page. So
        # with the hours they can attend.
        if created and availability is not None:
            _set_availability(subscriber, availability)
        outcome = _request_subscriptions(
            subscriber=subscriber,
            mailing_lists=mailing_lists,
            must_confirm=suppression is not None,
            text=text,
            origin=origin,
            now=now,
        )
        _answer_signup(subscriber, mailing_lists, outcome)


def subscriber_confirm(
    *, subscriber_id: int, list_ids: Sequence[int], origin: Origin
) -> list[MailingList]:
    """Confirm the pending subscriptions a confirmation link names.

    Returns the lists confirmed now; none when the link was used already or the
    person unsubscribed since, so pressing the button twice sends one welcome.
    """
    now = timezone.now()
    with transaction.atomic():
        subscriber = (
            Subscriber.objects.select_for_update().filter(pk=subscriber_id).first()
        )
        if subscriber is None:
            return []
        pending = list(
            subscriber.subscriptions.select_for_update()
            .filter(mailing_list_id__in=list_ids, status=SubscriptionStatus.PENDING)
            .select_related("mailing_list")
            .order_by("mailing_list__name")
        )
        if not pending:
            return []
        records = []
        for subscription in pending:
            subscription.status = SubscriptionStatus.CONFIRMED
            subscription.confirmed_at = now
            records.append(
                consent_record(
                    subscriber=subscriber,
                    action=ConsentAction.CONFIRMED,
                    origin=origin,
                    mailing_list=subscription.mailing_list,
                    consent_text=subscription.consent_text,
                )
            )
        Subscription.objects.bulk_update(pending, ["status", "confirmed_at"])
        ConsentRecord.objects.bulk_create(records)
        _lift_suppression(subscriber=subscriber, origin=origin)
        lists = [subscription.mailing_list for subscription in pending]
        _send_welcome(subscriber, lists)
    return lists


def end_subscriptions(
    subscriber: Subscriber, *, list_ids: Sequence[int] | None, now
) -> list[Subscription]:
    """Unsubscribe a locked subscriber from the lists (all when None) still open.

    Returns the subscriptions that changed, with their lists, for the history.
    """
    active = subscriber.subscriptions.select_for_update().exclude(
        status=SubscriptionStatus.UNSUBSCRIBED
    )
    if list_ids is not None:
        active = active.filter(mailing_list_id__in=list_ids)
    active = list(active.select_related("mailing_list"))
    for subscription in active:
        subscription.status = SubscriptionStatus.UNSUBSCRIBED
        subscription.unsubscribed_at = now
    Subscription.objects.bulk_update(active, ["status", "unsubscribed_at"])
    return active


def subscriber_sign_out_links(*, subscriber_id: int, origin: Origin) -> bool:
    """Revoke every personal link sent so far: a new link key for the person.

    For a person who forwarded an email, or fears an old one reached someone
    else. Newer emails carry links with the new key. False if there is no one.
    """
    with transaction.atomic():
        subscriber = (
            Subscriber.objects.select_for_update().filter(pk=subscriber_id).first()
        )
        if subscriber is None:
            return False
        subscriber.link_key = new_link_key()
        subscriber.save(update_fields=["link_key", "updated_at"])
        log(
            instance=subscriber,
            action="newsletter.links_revoked",
            data={"source": origin.source},
        )
    return True


def subscriber_unsubscribe(
    *, subscriber_id: int, list_ids: Sequence[int] | None, origin: Origin
) -> int:
    """Unsubscribe at once from the given lists, or from all when `list_ids` is None.

    Returns how many subscriptions changed; zero when there was nothing to do,
    which is still a success for the person asking.
    """
    now = timezone.now()
    with transaction.atomic():
        subscriber = (
            Subscriber.objects.select_for_update().filter(pk=subscriber_id).first()
        )
        if subscriber is None:
            return 0
        active = end_subscriptions(subscriber, list_ids=list_ids, now=now)
        ConsentRecord.objects.bulk_create(
            consent_record(
                subscriber=subscriber,
                action=ConsentAction.UNSUBSCRIBED,
                origin=origin,
                mailing_list=subscription.mailing_list,
            )
            for subscription in active
        )
    return len(active)


def subscriber_update_preferences(
    *,
    subscriber_id: int,
    name: str,
    list_ids: Iterable[int],
    offered_list_ids: Iterable[int],
    consent_text: str,
    origin: Origin,
    availability: Availability | None = None,
) -> None:
    """Apply the preferences form: the ticked lists on, the other offered ones off.

    The personal link proves control of the mailbox, so a newly ticked list is
    confirmed at once, with the consent text the page showed. A pending list
    left unticked stays pending: the page shows it unticked because anyone may
    have asked for it, so leaving it so says nothing about it.
    """
    wanted = set(list_ids)
    offered = set(offered_list_ids) | wanted
    name = _clean_name(name)
    now = timezone.now()
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber_id)
        if subscriber.name != name:
            subscriber.name = name
            subscriber.save(update_fields=["name", "updated_at"])
        if availability is not None:
            _set_availability(subscriber, availability)
        existing = {
            subscription.mailing_list_id: subscription
            for subscription in subscriber.subscriptions.select_for_update()
        }
        lists = MailingList.objects.in_bulk(offered)
        text = consent_text_for(text=consent_text) if wanted else None
        records = []
        for list_id in sorted(offered):
            mailing_list = lists.get(list_id)
            if mailing_list is None:
                continue
            subscription = existing.get(list_id) or Subscription(
                subscriber=subscriber, mailing_list=mailing_list
            )
            is_new = subscription.pk is None
            status = None if is_new else subscription.status
            if list_id in wanted and status != SubscriptionStatus.CONFIRMED:
                subscription.status = SubscriptionStatus.CONFIRMED
                subscription.confirmed_at = now
                subscription.consent_text = text
                action = ConsentAction.CONFIRMED
            elif list_id not in wanted and status == SubscriptionStatus.CONFIRMED:
                subscription.status = SubscriptionStatus.UNSUBSCRIBED
                subscription.unsubscribed_at = now
                action = ConsentAction.UNSUBSCRIBED
            else:
                continue
            subscription.save()
            records.append(
                consent_record(
                    subscriber=subscriber,
                    action=action,
                    origin=origin,
                    mailing_list=mailing_list,
                    consent_text=text if action == ConsentAction.CONFIRMED else None,
                )
            )
        ConsentRecord.objects.bulk_create(records)
        if any(record.action == ConsentAction.CONFIRMED for record in records):
            _lift_suppression(subscriber=subscriber, origin=origin)


def _set_availability(subscriber: Subscriber, availability: Availability) -> None:
    """Their zone and hours, for announcements of new dates; unknown zones dropped."""
    zone = availability.time_zone if availability.zone else ""
    hours = availability.has_hours
    subscriber.time_zone = zone
    subscriber.attend_from = availability.attend_from if hours else None
    subscriber.attend_until = availability.attend_until if hours else None
    subscriber.save(
        update_fields=["time_zone", "attend_from", "attend_until", "updated_at"]
    )
