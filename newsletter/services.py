"""Business actions on subscribers, their consent and suppressions.

Each action validates, locks, writes and records inside one transaction; emails
go out through `home.email.send_templated_email`, which waits for the commit.
"""

import datetime
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from anymail.signals import AnymailTrackingEvent
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from home import throttle
from home.email import send_templated_email
from home.forms import has_control_characters

from . import links
from .models import (
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    ConsentAction,
    ConsentRecord,
    ConsentText,
    Delivery,
    DeliveryState,
    IssueSend,
    MailingList,
    NewsletterIssuePage,
    ProviderEvent,
    SendStatus,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
    SuppressionReason,
    email_digest,
    normalise_email,
)
from .models.sending import ACTIVE_SEND_STATUSES, CANCELLED_DETAIL
from .tracking import Effect, effect_of, event_key

logger = logging.getLogger(__name__)

USER_AGENT_MAX_LENGTH = 500
# Lookups go in chunks so that no query passes SQLite's limit on parameters.
CHUNK = 500


@dataclass(frozen=True)
class Origin:
    """Where an action came from, as the consent history records it."""

    source: str
    ip_address: str | None = None
    user_agent: str = ""
    detail: str = ""


def _record(
    *,
    subscriber: Subscriber,
    action: str,
    origin: Origin,
    mailing_list: MailingList | None = None,
    consent_text: ConsentText | None = None,
) -> ConsentRecord:
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
        _record(
            subscriber=subscriber,
            action=ConsentAction.SUPPRESSION_LIFTED,
            origin=origin,
        ).save()
    if subscriber.soft_bounce_count:
        subscriber.soft_bounce_count = 0
        subscriber.save(update_fields=["soft_bounce_count", "updated_at"])


def subscriber_subscribe(
    *,
    email: str,
    name: str,
    mailing_lists: Sequence[MailingList],
    consent_text: str,
    origin: Origin,
) -> None:
    """Ask for subscriptions from a public form, whoever typed the address.

    Returns nothing on purpose: the caller must answer the same whether the
    address was new, pending, confirmed or suppressed. Lists with double opt-in,
    and every list for an erased address or for someone who unsubscribed from
    any list before, wait for a confirmation by email. An address that bounced
    or complained is left alone: no email, no record.
    """
    email = normalise_email(email)
    validate_email(email)
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError("The address is too long.")
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH or has_control_characters(name):
        raise ValidationError("The name must be one line of at most 150 characters.")
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
        # A form can be filled in by anyone, so it may name a person but never
        # rename one; the subscriber can change it on the preferences page.
        if not created and name and not subscriber.name:
            subscriber.name = name
            subscriber.save(update_fields=["name", "updated_at"])
        existing = {
            subscription.mailing_list_id: subscription
            for subscription in subscriber.subscriptions.select_for_update()
        }
        # A form can be filled in by anyone: someone who once left a list must
        # confirm from their inbox before any list mails them again, even a
        # list without double opt-in.
        must_confirm = suppression is not None or any(
            subscription.status == SubscriptionStatus.UNSUBSCRIBED
            for subscription in existing.values()
        )
        to_confirm: list[MailingList] = []
        subscribed: list[MailingList] = []
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
                to_confirm.append(mailing_list)
                action = ConsentAction.REQUESTED
            else:
                subscription.status = SubscriptionStatus.CONFIRMED
                subscription.confirmed_at = now
                subscribed.append(mailing_list)
                action = ConsentAction.SUBSCRIBED
            subscription.save()
            records.append(
                _record(
                    subscriber=subscriber,
                    action=action,
                    origin=origin,
                    mailing_list=mailing_list,
                    consent_text=text,
                )
            )
        ConsentRecord.objects.bulk_create(records)
        if subscribed:
            _send_welcome(subscriber, subscribed)
        if to_confirm:
            if _may_send_unasked_mail(subscriber):
                _send_confirmation(subscriber, to_confirm)
        elif not subscribed and _may_send_unasked_mail(subscriber):
            _send_already_subscribed(subscriber, list(mailing_lists))


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
                _record(
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


def _end_subscriptions(
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
        active = _end_subscriptions(subscriber, list_ids=list_ids, now=now)
        ConsentRecord.objects.bulk_create(
            _record(
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
) -> None:
    """Apply the preferences form: the ticked lists on, the other offered ones off.

    The personal link proves control of the mailbox, so a newly ticked list is
    confirmed at once, with the consent text the page showed. A pending list
    left unticked stays pending: the page shows it unticked because anyone may
    have asked for it, so leaving it so says nothing about it.
    """
    wanted = set(list_ids)
    offered = set(offered_list_ids) | wanted
    name = name.strip()
    if len(name) > NAME_MAX_LENGTH or has_control_characters(name):
        raise ValidationError("The name must be one line of at most 150 characters.")
    now = timezone.now()
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber_id)
        if subscriber.name != name:
            subscriber.name = name
            subscriber.save(update_fields=["name", "updated_at"])
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
                _record(
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


def suppression_ensure(
    *, email: str, reason: str, detail: str = ""
) -> tuple[Suppression, bool]:
    """Put an address's hash on the suppression list, touching nothing else.

    Idempotent; returns the suppression and whether it is new. For a subscriber
    about to be deleted, where writing their history would be pointless.
    """
    return Suppression.objects.get_or_create(
        email_hash=email_digest(email),
        defaults={"reason": reason, "detail": detail[:255]},
    )


def suppression_add(
    *, email: str, reason: str, origin: Origin
) -> tuple[Suppression, bool]:
    """Stop all mail to an address, now and after any later sign-up or import.

    Idempotent: a second call for the same address changes nothing. Returns the
    suppression and whether it is new.
    """
    digest = email_digest(email)
    now = timezone.now()
    with transaction.atomic():
        suppression, created = suppression_ensure(
            email=email, reason=reason, detail=origin.detail
        )
        subscriber = (
            Subscriber.objects.select_for_update().filter(email_hash=digest).first()
        )
        if subscriber is not None:
            active = _end_subscriptions(subscriber, list_ids=None, now=now)
            if created or active:
                _record(
                    subscriber=subscriber,
                    action=ConsentAction.SUPPRESSED,
                    origin=replace(
                        origin,
                        detail=f"{SuppressionReason(reason).label}. {origin.detail}",
                    ),
                ).save()
    return suppression, created


TRACKING_REASONS = {
    Effect.HARD_BOUNCE: SuppressionReason.HARD_BOUNCE,
    Effect.COMPLAINT: SuppressionReason.COMPLAINT,
    Effect.UNSUBSCRIBE: SuppressionReason.PROVIDER_UNSUBSCRIBE,
}


def tracking_event_process(*, event: AnymailTrackingEvent, esp_name: str) -> str:
    """Act once on a provider's tracking event; returns what happened, for logs.

    Hard bounces, complaints and provider-side unsubscribes suppress the address;
    soft bounces count towards NEWSLETTER_SOFT_BOUNCE_LIMIT; a delivery clears
    the count, since only consecutive failures say the mailbox is gone.
    """
    effect = effect_of(event)
    if effect is Effect.NONE or not event.recipient:
        return "ignored"
    email = normalise_email(str(event.recipient))
    digest = email_digest(email)
    if effect is Effect.DELIVERED:
        Subscriber.objects.filter(email_hash=digest, soft_bounce_count__gt=0).update(
            soft_bounce_count=0
        )
        return "delivered"
    key = event_key(event)
    origin = Origin(source="provider", detail=f"{esp_name} event {key}"[:255])
    with transaction.atomic():
        try:
            with transaction.atomic():
                ProviderEvent.objects.create(
                    esp_name=esp_name[:40], event_id=key, event_type=effect.value
                )
        except IntegrityError:
            return "duplicate"
        if effect in TRACKING_REASONS:
            suppression_add(email=email, reason=TRACKING_REASONS[effect], origin=origin)
            return effect.value
        updated = Subscriber.objects.filter(email_hash=digest).update(
            soft_bounce_count=F("soft_bounce_count") + 1
        )
        if not updated:
            return "soft_bounce_unknown_address"
        count = Subscriber.objects.get(email_hash=digest).soft_bounce_count
        if count >= settings.NEWSLETTER_SOFT_BOUNCE_LIMIT:
            suppression_add(
                email=email, reason=SuppressionReason.SOFT_BOUNCES, origin=origin
            )
            return "soft_bounce_limit"
    return effect.value


def subscriber_erase(*, subscriber: Subscriber, user=None) -> None:
    """Erase everything about one person, keeping only the hash that stops mail.

    The admin's history keeps entries about the subscriber; their labels held the
    address, so they are rewritten to the subscriber's number.
    """
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        suppression_ensure(
            email=subscriber.email,
            reason=SuppressionReason.ERASED,
            detail="Erased on request",
        )
        label = f"Subscriber #{subscriber.pk} (erased)"
        ModelLogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Subscriber),
            object_id=str(subscriber.pk),
        ).update(label=label)
        log(instance=subscriber, action="newsletter.erase", user=user, title=label)
        subscriber.delete()


@dataclass
class ImportResult:
    """What an import did: how many people were added, updated and skipped, and why."""

    added: int = 0
    updated: int = 0
    skipped: Counter = field(default_factory=Counter)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def skipped_reasons(self) -> list[tuple[str, int]]:
        return sorted(self.skipped.items(), key=lambda item: -item[1])


SKIP_INVALID = "not a valid email address"
SKIP_NAME = "name longer than 150 characters or on several lines"
SKIP_REPEATED = "the same address appears earlier in the file"
SKIP_SUPPRESSED = "suppressed (bounced, complained or erased)"
SKIP_UNSUBSCRIBED = "unsubscribed from any list before; only they can subscribe again"
SKIP_ALREADY = "already subscribed to every chosen list"


def _chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _lock_subscribers(emails: Sequence[str]) -> dict[str, Subscriber]:
    found: dict[str, Subscriber] = {}
    for chunk in _chunks(emails):
        for subscriber in Subscriber.objects.select_for_update().filter(
            email__in=chunk
        ):
            found[subscriber.email] = subscriber
    return found


def _insert_subscribers(subscribers: Sequence[Subscriber]) -> set[str]:
    """Insert new subscribers; returns the addresses a sign-up inserted first.

    One insert per chunk, in a savepoint. Only when a chunk collides with a
    sign-up that committed since the look-up is it inserted row by row, to
    learn which rows are someone else's.
    """
    taken: set[str] = set()
    for chunk in _chunks(subscribers):
        try:
            with transaction.atomic():
                Subscriber.objects.bulk_create(chunk)
        except IntegrityError:
            for subscriber in chunk:
                try:
                    with transaction.atomic():
                        subscriber.save(force_insert=True)
                except IntegrityError:
                    taken.add(subscriber.email)
    return taken


def subscribers_import(
    *,
    rows: Iterable[Mapping[str, str]],
    mailing_lists: Sequence[MailingList],
    consent_source: str,
    user=None,
) -> ImportResult:
    """Add people who agreed elsewhere, confirmed on the chosen lists.

    `consent_source` says where they agreed and is stored with each record.
    Suppressed addresses and anyone who has unsubscribed from any list are
    skipped, so an import never brings back someone who left. Safe to run
    twice: the second run adds nothing. Works in bulk: a handful of queries per
    500 rows.
    """
    consent_source = consent_source.strip()
    if not consent_source:
        raise ValidationError("Say where these people agreed to be mailed.")
    if not mailing_lists:
        raise ValidationError("Choose at least one list.")
    result = ImportResult()
    wanted: dict[str, str] = {}
    for row in rows:
        email = normalise_email(row.get("email") or "")
        name = (row.get("name") or "").strip()
        try:
            if len(email) > EMAIL_MAX_LENGTH or has_control_characters(email):
                raise ValidationError("invalid")
            validate_email(email)
        except ValidationError:
            result.skipped[SKIP_INVALID] += 1
            continue
        if len(name) > NAME_MAX_LENGTH or has_control_characters(name):
            result.skipped[SKIP_NAME] += 1
        elif email in wanted:
            result.skipped[SKIP_REPEATED] += 1
        else:
            wanted[email] = name

    origin = Origin(source="import", detail=consent_source)
    now = timezone.now()
    list_ids = [mailing_list.pk for mailing_list in mailing_lists]
    with transaction.atomic():
        emails = list(wanted)
        digests = {email: email_digest(email) for email in emails}
        suppressed: set[str] = set()
        for chunk in _chunks([digests[email] for email in emails]):
            suppressed.update(
                Suppression.objects.filter(email_hash__in=chunk).values_list(
                    "email_hash", flat=True
                )
            )
        allowed = [email for email in emails if digests[email] not in suppressed]
        result.skipped[SKIP_SUPPRESSED] += len(emails) - len(allowed)

        existing = _lock_subscribers(allowed)
        new_emails = [email for email in allowed if email not in existing]
        taken = _insert_subscribers(
            [
                Subscriber(
                    email=email,
                    email_hash=digests[email],
                    name=wanted[email],
                    source="import",
                )
                for email in new_emails
            ]
        )
        # A sign-up of the same address may commit between the look-up and the
        # insert: that person is an existing subscriber like any other.
        existing.update(_lock_subscribers(sorted(taken)))
        created: dict[str, Subscriber] = {}
        for chunk in _chunks([email for email in new_emails if email not in taken]):
            for subscriber in Subscriber.objects.filter(email__in=chunk):
                created[subscriber.email] = subscriber

        # Every subscription of the people already known: the chosen lists' to
        # complete, and any unsubscribed one to leave the person alone.
        subscriptions: dict[tuple[int, int], Subscription] = {}
        left: set[int] = set()
        existing_ids = [subscriber.pk for subscriber in existing.values()]
        for chunk in _chunks(existing_ids):
            for subscription in Subscription.objects.select_for_update().filter(
                Q(mailing_list_id__in=list_ids)
                | Q(status=SubscriptionStatus.UNSUBSCRIBED),
                subscriber_id__in=chunk,
            ):
                if subscription.status == SubscriptionStatus.UNSUBSCRIBED:
                    left.add(subscription.subscriber_id)
                key = (subscription.subscriber_id, subscription.mailing_list_id)
                subscriptions[key] = subscription

        to_create: list[Subscription] = []
        to_confirm: list[Subscription] = []
        records: list[ConsentRecord] = []
        names: list[Subscriber] = []
        for email in allowed:
            subscriber = created.get(email) or existing.get(email)
            if subscriber is None:
                # Taken by a sign-up and erased again before we could lock it.
                result.skipped[SKIP_SUPPRESSED] += 1
                continue
            if subscriber.pk in left:
                # They left a list once; whatever staff were told, only they
                # can come back, and the form then asks them to confirm.
                result.skipped[SKIP_UNSUBSCRIBED] += 1
                continue
            changed = False
            for mailing_list in mailing_lists:
                subscription = subscriptions.get((subscriber.pk, mailing_list.pk))
                if subscription is None:
                    to_create.append(
                        Subscription(
                            subscriber=subscriber,
                            mailing_list=mailing_list,
                            status=SubscriptionStatus.CONFIRMED,
                            confirmed_at=now,
                        )
                    )
                elif subscription.status == SubscriptionStatus.PENDING:
                    subscription.status = SubscriptionStatus.CONFIRMED
                    subscription.confirmed_at = now
                    to_confirm.append(subscription)
                else:
                    continue
                changed = True
                records.append(
                    _record(
                        subscriber=subscriber,
                        action=ConsentAction.IMPORTED,
                        origin=origin,
                        mailing_list=mailing_list,
                    )
                )
            if email in created:
                result.added += 1
                continue
            if wanted[email] and not subscriber.name:
                subscriber.name = wanted[email]
                names.append(subscriber)
                changed = True
            if changed:
                result.updated += 1
            else:
                result.skipped[SKIP_ALREADY] += 1

        # No ignore_conflicts: every subscriber above is locked or new, so a
        # conflict would be a bug, and it must not leave a record of consent
        # for a subscription that was never written.
        Subscription.objects.bulk_create(to_create, batch_size=CHUNK)
        Subscription.objects.bulk_update(
            to_confirm, ["status", "confirmed_at"], batch_size=CHUNK
        )
        Subscriber.objects.bulk_update(names, ["name"], batch_size=CHUNK)
        ConsentRecord.objects.bulk_create(records, batch_size=CHUNK)
        log(
            instance=mailing_lists[0],
            action="newsletter.import",
            user=user,
            data={
                "lists": [mailing_list.name for mailing_list in mailing_lists],
                "consent_source": consent_source,
                "added": result.added,
                "updated": result.updated,
                "skipped": dict(result.skipped),
            },
        )
    result.skipped = +result.skipped
    return result


# -- Sending issues -------------------------------------------------------------


def _enqueue_on_commit(task, *args, run_after=None) -> None:
    def enqueue() -> None:
        (task.using(run_after=run_after) if run_after else task).enqueue(*args)

    transaction.on_commit(enqueue)


def _enqueue_workers(send: IssueSend) -> None:
    from . import tasks

    for _ in range(max(settings.NEWSLETTER_PARALLEL_TASKS, 1)):
        _enqueue_on_commit(tasks.issue_send_work, send.pk)


def backend_can_schedule() -> bool:
    """Whether the task backend can run a task later (not the immediate one)."""
    from django_tasks import default_task_backend

    return default_task_backend.supports_defer


def issue_send_create(
    *,
    issue: NewsletterIssuePage,
    mailing_list: MailingList,
    user=None,
    scheduled_at: datetime.datetime | None = None,
) -> IssueSend:
    """Send a published issue to a list, now or at `scheduled_at`.

    The email and the recipients are fixed when the send starts, not here:
    a scheduled send goes out as the issue is published at that time.
    """
    now = timezone.now()
    if not issue.live:
        raise ValidationError("Publish the issue before sending it.")
    if scheduled_at is not None and scheduled_at <= now:
        scheduled_at = None
    if scheduled_at is not None and not backend_can_schedule():
        raise ValidationError(
            "This site's task backend cannot run work later; send it now instead."
        )
    with transaction.atomic():
        # The issue's row lock makes "one active send per issue" a clear message
        # rather than an integrity error when two people press at once.
        NewsletterIssuePage.objects.select_for_update().filter(pk=issue.pk).first()
        if IssueSend.objects.filter(
            issue=issue, status__in=ACTIVE_SEND_STATUSES
        ).exists():
            raise ValidationError(
                "This issue is already being sent or scheduled; wait for that "
                "send to finish or cancel it first."
            )
        send = IssueSend.objects.create(
            issue=issue,
            issue_title=issue.title,
            mailing_list=mailing_list,
            list_name=mailing_list.name,
            scheduled_at=scheduled_at or now,
            created_by=user,
        )
        log(
            instance=issue,
            action="newsletter.send_scheduled" if scheduled_at else "newsletter.send",
            user=user,
            data={"list": mailing_list.name, "send": send.pk},
        )
        from . import tasks

        _enqueue_on_commit(tasks.issue_send_start, send.pk, run_after=scheduled_at)
    return send


def _fix_recipients(send: IssueSend) -> int:
    """Write one queued ledger row per mailable subscriber, in the database itself.

    INSERT ... SELECT keeps a 100,000-person list out of the worker's memory;
    ON CONFLICT skips anyone this issue already reached, or may have reached,
    through another send. The unique index covers only such rows
    (`HOLDS_A_COPY`), so someone skipped or refused by an earlier send of the
    issue gets a fresh row here, and the old one stays as that send's record.
    """
    names = {
        "delivery": Delivery._meta.db_table,
        "subscription": Subscription._meta.db_table,
        "subscriber": Subscriber._meta.db_table,
        "suppression": Suppression._meta.db_table,
    }
    quoted = {key: connection.ops.quote_name(value) for key, value in names.items()}
    # Only quoted table names from the models are interpolated; values are bound.
    sql = (
        f"INSERT INTO {quoted['delivery']} (send_id, issue_id, subscriber_id) "  # noqa: S608
        f"SELECT %s, %s, sub.subscriber_id FROM {quoted['subscription']} sub "
        f"JOIN {quoted['subscriber']} person ON person.id = sub.subscriber_id "
        "WHERE sub.mailing_list_id = %s AND sub.status = %s "
        f"AND NOT EXISTS (SELECT 1 FROM {quoted['suppression']} x "
        "WHERE x.email_hash = person.email_hash) "
        "ORDER BY sub.subscriber_id "
        "ON CONFLICT DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                send.pk,
                send.issue_id,
                send.mailing_list_id,
                SubscriptionStatus.CONFIRMED,
            ],
        )
        return cursor.rowcount


def issue_send_start(*, send_id: int) -> bool:
    """Freeze the email and fix the recipients, then let the workers go.

    Safe to run twice: only a scheduled send whose time has come starts.
    """
    from . import providers, rendering

    now = timezone.now()
    with transaction.atomic():
        send = IssueSend.objects.select_for_update().filter(pk=send_id).first()
        if send is None or send.status != SendStatus.SCHEDULED:
            return False
        if send.scheduled_at > now + datetime.timedelta(seconds=1):
            # Run early (a backend's clock, a resumed worker): try again on time.
            from . import tasks

            _enqueue_on_commit(
                tasks.issue_send_start, send.pk, run_after=send.scheduled_at
            )
            return False
        issue = NewsletterIssuePage.objects.filter(pk=send.issue_id).live().first()
        if issue is None or send.mailing_list_id is None:
            send.status = SendStatus.CANCELLED
            send.pause_reason = "The issue was unpublished or the list deleted first."
            send.finished_at = now
            send.save(update_fields=["status", "pause_reason", "finished_at"])
            return False
        backend = settings.EMAIL_BACKEND
        profile = providers.profile_for(backend)
        placeholder = providers.placeholder_format(mode=profile.mode, profile=profile)
        rendered = rendering.issue_render(
            page=issue,
            placeholders={
                name: placeholder.format(name) for name in rendering.PERSONAL_FIELDS
            },
            mailing_list=send.mailing_list,
        )
        send.mode = profile.mode
        send.email_backend = backend
        send.batch_size = max(profile.batch_size, 1)
        send.revision_id = issue.live_revision_id
        send.subject = rendered.subject
        send.html = rendered.html
        send.text = rendered.text
        send.status = SendStatus.SENDING
        send.started_at = now
        send.heartbeat_at = now
        send.save()
        _fix_recipients(send)
        _enqueue_workers(send)
    return True


def issue_send_pause(*, send_id: int, reason: str = "", user=None) -> bool:
    """Stop the send; messages already with the provider finish.

    Rows a worker claimed but has not handed over go back to the queue: the
    worker's own move to `sending` then finds nothing to move.
    """
    with transaction.atomic():
        send = IssueSend.objects.select_for_update().filter(pk=send_id).first()
        if send is None or send.status != SendStatus.SENDING:
            return False
        send.status = SendStatus.PAUSED
        send.pause_reason = reason[:255] or "Paused by staff."
        send.save(update_fields=["status", "pause_reason"])
        send.deliveries.filter(state=DeliveryState.CLAIMED).update(
            state=DeliveryState.QUEUED, claim_token="", claimed_at=None
        )
        log(
            instance=send,
            action="newsletter.send_paused",
            user=user,
            data={"reason": send.pause_reason},
        )
    return True


def issue_send_resume(*, send_id: int, user=None) -> bool:
    """Carry on with a paused send, or restart the workers of one that stalled.

    Rows a dead worker left are settled by their lease (docs/conventions.md):
    claimed ones go back to the queue, ones with the provider become uncertain.
    """
    with transaction.atomic():
        send = IssueSend.objects.select_for_update().filter(pk=send_id).first()
        if send is None or send.status not in (SendStatus.PAUSED, SendStatus.SENDING):
            return False
        send.status = SendStatus.SENDING
        send.pause_reason = ""
        send.error_count = 0
        send.heartbeat_at = timezone.now()
        send.save(
            update_fields=["status", "pause_reason", "error_count", "heartbeat_at"]
        )
        log(instance=send, action="newsletter.send_resumed", user=user)
        _enqueue_workers(send)
    return True


def issue_send_cancel(*, send_id: int, user=None) -> bool:
    """Stop a send for good: whoever is not yet with the provider is skipped.

    That includes rows a worker has claimed but not handed over: its move to
    `sending` needs them still claimed, so they are never sent.
    """
    with transaction.atomic():
        send = IssueSend.objects.select_for_update().filter(pk=send_id).first()
        if send is None or not send.is_active:
            return False
        send.status = SendStatus.CANCELLED
        send.finished_at = timezone.now()
        send.save(update_fields=["status", "finished_at"])
        send.deliveries.filter(
            state__in=[DeliveryState.QUEUED, DeliveryState.CLAIMED]
        ).update(
            state=DeliveryState.SKIPPED,
            claim_token="",
            claimed_at=None,
            detail=CANCELLED_DETAIL,
        )
        log(instance=send, action="newsletter.send_cancelled", user=user)
    return True


def deliveries_resolve_uncertain(*, send_id: int, resend: bool, user=None) -> int:
    """Staff's decision on uncertain deliveries: send them again, or let them be.

    Resending risks a second copy for anyone the provider did take; the admin
    says so. Either way the rows keep blocking another send of the issue from
    reaching those people (`may_have_reached`). Returns how many rows changed.
    """
    with transaction.atomic():
        send = IssueSend.objects.select_for_update().get(pk=send_id)
        uncertain = send.deliveries.filter(state=DeliveryState.UNCERTAIN)
        if resend:
            _check_may_resend(send)
            changed = uncertain.update(
                state=DeliveryState.QUEUED,
                claim_token="",
                claimed_at=None,
                may_have_reached=True,
                detail="Queued again by staff after an uncertain attempt.",
            )
            if changed and send.status == SendStatus.FINISHED:
                send.status = SendStatus.SENDING
                send.finished_at = None
                send.save(update_fields=["status", "finished_at"])
            if changed and send.status == SendStatus.SENDING:
                _enqueue_workers(send)
        else:
            changed = uncertain.update(
                state=DeliveryState.FAILED,
                may_have_reached=True,
                detail="Uncertain; staff chose not to send again.",
            )
        log(
            instance=send,
            action="newsletter.uncertain_resolved",
            user=user,
            data={"resend": resend, "deliveries": changed},
        )
    return changed


def _check_may_resend(send: IssueSend) -> None:
    """Refuse to send a send's uncertain rows again when its state does not allow it."""
    if send.status == SendStatus.CANCELLED:
        raise ValidationError(
            "This send was cancelled: nothing of it is sent again. Mark its "
            "uncertain deliveries as not sent, or send the issue to the list anew."
        )
    if send.status == SendStatus.FINISHED and send.issue_id is not None:
        # Reopening it would make two active sends of one issue. The issue's
        # row lock orders this against issue_send_create.
        NewsletterIssuePage.objects.select_for_update().filter(pk=send.issue_id).first()
        if (
            IssueSend.objects.filter(
                issue_id=send.issue_id, status__in=ACTIVE_SEND_STATUSES
            )
            .exclude(pk=send.pk)
            .exists()
        ):
            raise ValidationError(
                "Another send of this issue is under way; send these again "
                "once it has finished."
            )


def issue_send_halt(*, send_id: int, error: str) -> bool:
    """Pause a send whose worker stopped on an unexpected error, saying why."""
    with transaction.atomic():
        IssueSend.objects.filter(pk=send_id).update(last_error=error)
        return issue_send_pause(
            send_id=send_id,
            reason=f"A sending worker stopped on an error; resume to carry on. {error}",
        )


def issue_send_test(*, page_id: int, revision_id: int | None, user_id: int) -> bool:
    """Send the issue, as last saved, to one member of staff, marked as a test."""
    from django.contrib.auth import get_user_model
    from wagtail.models import Revision

    from . import providers, rendering

    user = get_user_model().objects.filter(pk=user_id).first()
    page = NewsletterIssuePage.objects.filter(pk=page_id).first()
    if user is None or page is None or not user.email:
        return False
    revision = Revision.objects.filter(pk=revision_id).first() if revision_id else None
    if revision is not None and revision.object_id == str(page.pk):
        page = revision.as_object()
    placeholder = providers.SINGLE_PLACEHOLDER
    rendered = rendering.issue_render(
        page=page,
        placeholders={
            name: placeholder.format(name) for name in rendering.PERSONAL_FIELDS
        },
    )
    subscriber = Subscriber.objects.filter(email=normalise_email(user.email)).first()
    values = rendering.sample_values(name=user.first_name, subscriber=subscriber)
    message = EmailMultiAlternatives(
        subject=f"[Test] {rendered.subject}",
        body=rendering.PersonalTemplate(rendered.text, placeholder).fill(values),
        from_email=settings.DEFAULT_FROM_EMAIL,
        # No List-Unsubscribe: a mail client's one-click button on a test
        # would unsubscribe the editor from every list, or post to a sign-up
        # page. The links in the body are there to be looked at.
        to=[user.email],
    )
    message.attach_alternative(
        rendering.PersonalTemplate(rendered.html, placeholder).fill(values),
        "text/html",
    )
    message.send()
    log(instance=page, action="newsletter.test_sent", user=user)
    return True


def _delivery_for_event(event: AnymailTrackingEvent) -> Delivery | None:
    metadata = event.metadata or {}
    delivery_id = metadata.get("delivery")
    if delivery_id and str(delivery_id).isdigit():
        return Delivery.objects.filter(pk=int(delivery_id)).first()
    if event.message_id and event.recipient:
        return (
            Delivery.objects.filter(
                esp_message_id=str(event.message_id)[:255],
                subscriber__email_hash=email_digest(str(event.recipient)),
            )
            .order_by("-pk")
            .first()
        )
    return None


DELIVERY_EVENT_FIELDS = {
    Effect.DELIVERED: "delivered_at",
    Effect.HARD_BOUNCE: "bounced_at",
    Effect.SOFT_BOUNCE: "bounced_at",
    Effect.COMPLAINT: "complained_at",
    Effect.UNSUBSCRIBE: "unsubscribed_at",
}


def delivery_track_event(*, event: AnymailTrackingEvent, esp_name: str) -> str:
    """Note a tracking event on the issue delivery it is about.

    A delivery the provider reports on was accepted by it: a row that is
    uncertain, or queued or claimed again after it was (staff chose to resend),
    becomes sent, so the copy it stood for is not sent a second time. A
    complaint may pause the send (NEWSLETTER_COMPLAINT_*).
    """
    effect = effect_of(event)
    field_name = DELIVERY_EVENT_FIELDS.get(effect)
    if field_name is None:
        return "ignored"
    delivery = _delivery_for_event(event)
    if delivery is None:
        return "no_delivery"
    at = event.timestamp or timezone.now()
    with transaction.atomic():
        Delivery.objects.filter(
            pk=delivery.pk, **{f"{field_name}__isnull": True}
        ).update(**{field_name: at})
        # A claimed row's worker then finds nothing to hand over.
        Delivery.objects.filter(
            pk=delivery.pk,
            state__in=[
                DeliveryState.UNCERTAIN,
                DeliveryState.QUEUED,
                DeliveryState.CLAIMED,
            ],
        ).update(
            state=DeliveryState.SENT,
            claim_token="",
            esp_message_id=str(event.message_id or "")[:255],
            detail=f"Confirmed by a {esp_name} tracking event.",
        )
    if effect is Effect.COMPLAINT:
        _pause_on_complaints(send_id=delivery.send_id)
    return field_name


def _pause_on_complaints(*, send_id: int) -> None:
    from .selectors import send_figures

    figures = send_figures(send_id=send_id)
    base = max(
        figures["delivered"] or figures["sent"], settings.NEWSLETTER_COMPLAINT_BASE
    )
    if figures["complained"] / base > settings.NEWSLETTER_COMPLAINT_PAUSE_RATE:
        issue_send_pause(
            send_id=send_id,
            reason=f"Complaints passed {settings.NEWSLETTER_COMPLAINT_PAUSE_RATE:.1%} "
            f"of deliveries ({figures['complained']} so far).",
        )


def delivery_note_unsubscribe(*, delivery_id: int, subscriber_id: int) -> None:
    """Count an unsubscribe from an issue's own link in that issue's figures."""
    Delivery.objects.filter(
        pk=delivery_id, subscriber_id=subscriber_id, unsubscribed_at__isnull=True
    ).update(unsubscribed_at=timezone.now())
