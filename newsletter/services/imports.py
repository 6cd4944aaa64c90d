"""CSV import of people who agreed elsewhere, in three steps: parse the rows,
resolve them against the subscribers and suppressions already stored, write.

`subscribers_import` runs the three at once, the last two in one transaction,
for small lists (the demo); an uploaded file goes through `import_jobs`, a
chunk at a time in the background. An import never brings back anyone
suppressed or anyone who left a list.
"""

import datetime
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from wagtail.log_actions import log

from home.forms import has_control_characters

from ..models import (
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    ConsentAction,
    ConsentRecord,
    MailingList,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    Suppression,
    email_digest,
    name_problem,
    normalise_email,
)
from .subscriptions import Origin, consent_record

# Lookups go in chunks so that no query passes SQLite's limit on parameters.
CHUNK = 500

SKIP_INVALID = "not a valid email address"
SKIP_NAME = "name longer than 150 characters, on several lines, or with “=?”"
SKIP_REPEATED = "the same address appears earlier in the file"
SKIP_SUPPRESSED = "suppressed (bounced, complained or erased)"
SKIP_UNSUBSCRIBED = "unsubscribed from any list before; only they can subscribe again"
SKIP_ALREADY = "already subscribed to every chosen list"
# What happened to one person, besides the reasons for skipping them.
_ADDED = "added"
_UPDATED = "updated"


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

    def count(self, outcome: str) -> None:
        if outcome == _ADDED:
            self.added += 1
        elif outcome == _UPDATED:
            self.updated += 1
        else:
            self.skipped[outcome] += 1


def _chunks(items: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- Parse ----------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedRows:
    """The rows worth importing, by normalised address, and why others were not."""

    wanted: dict[str, str]
    skipped: Counter


def _row_problem(email: str, name: str) -> str | None:
    try:
        if len(email) > EMAIL_MAX_LENGTH or has_control_characters(email):
            raise ValidationError("invalid")
        validate_email(email)
    except ValidationError:
        return SKIP_INVALID
    if len(name) > NAME_MAX_LENGTH or name_problem(name):
        return SKIP_NAME
    return None


def parse(*, rows: Iterable[Mapping[str, str]]) -> ParsedRows:
    """Check each row on its own; the first row with an address wins."""
    wanted: dict[str, str] = {}
    skipped: Counter = Counter()
    for row in rows:
        email = normalise_email(row.get("email") or "")
        name = (row.get("name") or "").strip()
        problem = _row_problem(email, name)
        if problem is None and email in wanted:
            problem = SKIP_REPEATED
        if problem is None:
            wanted[email] = name
        else:
            skipped[problem] += 1
    return ParsedRows(wanted=wanted, skipped=skipped)


# -- Resolve --------------------------------------------------------------------


@dataclass(frozen=True)
class ImportPlan:
    """The parsed rows as the database stood when `resolve` looked them up."""

    wanted: dict[str, str]
    digests: dict[str, str]
    # Addresses not suppressed, in the file's order.
    allowed: list[str]
    # The subscribers already stored for them, locked until the commit.
    existing: dict[str, Subscriber]
    skipped: Counter

    @property
    def new_emails(self) -> list[str]:
        """The addresses nobody had when the plan was made."""
        return [email for email in self.allowed if email not in self.existing]


def _lock_subscribers(emails: Sequence[str]) -> dict[str, Subscriber]:
    found: dict[str, Subscriber] = {}
    for chunk in _chunks(emails):
        for subscriber in Subscriber.objects.select_for_update().filter(
            email__in=chunk
        ):
            found[subscriber.email] = subscriber
    return found


def resolve(*, parsed: ParsedRows) -> ImportPlan:
    """Leave out suppressed addresses and lock the subscribers already stored.

    Call it and `write` in one transaction.
    """
    emails = list(parsed.wanted)
    digests = {email: email_digest(email) for email in emails}
    suppressed: set[str] = set()
    for chunk in _chunks([digests[email] for email in emails]):
        suppressed.update(
            Suppression.objects.filter(email_hash__in=chunk).values_list(
                "email_hash", flat=True
            )
        )
    allowed = [email for email in emails if digests[email] not in suppressed]
    skipped = Counter(parsed.skipped)
    skipped[SKIP_SUPPRESSED] += len(emails) - len(allowed)
    return ImportPlan(
        wanted=parsed.wanted,
        digests=digests,
        allowed=allowed,
        existing=_lock_subscribers(allowed),
        skipped=skipped,
    )


# -- Write ----------------------------------------------------------------------


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


def _add_new_people(
    plan: ImportPlan,
) -> tuple[dict[str, Subscriber], dict[str, Subscriber]]:
    """Insert the plan's new addresses; returns the existing and the created."""
    new_emails = plan.new_emails
    taken = _insert_subscribers(
        [
            Subscriber(
                email=email,
                email_hash=plan.digests[email],
                name=plan.wanted[email],
                source="import",
            )
            for email in new_emails
        ]
    )
    # A sign-up of the same address may commit between the look-up and the
    # insert: that person is an existing subscriber like any other.
    existing = {**plan.existing, **_lock_subscribers(sorted(taken))}
    created: dict[str, Subscriber] = {}
    for chunk in _chunks([email for email in new_emails if email not in taken]):
        for subscriber in Subscriber.objects.filter(email__in=chunk):
            created[subscriber.email] = subscriber
    return existing, created


def _subscriptions_of(
    subscriber_ids: Sequence[int], list_ids: Sequence[int]
) -> tuple[dict[tuple[int, int], Subscription], set[int]]:
    """Lock the subscriptions of people already known, by (person, list).

    The chosen lists' to complete, and any unsubscribed one to leave the
    person alone; returns them and the people who left a list.
    """
    subscriptions: dict[tuple[int, int], Subscription] = {}
    left: set[int] = set()
    for chunk in _chunks(subscriber_ids):
        for subscription in Subscription.objects.select_for_update().filter(
            Q(mailing_list_id__in=list_ids) | Q(status=SubscriptionStatus.UNSUBSCRIBED),
            subscriber_id__in=chunk,
        ):
            if subscription.status == SubscriptionStatus.UNSUBSCRIBED:
                left.add(subscription.subscriber_id)
            key = (subscription.subscriber_id, subscription.mailing_list_id)
            subscriptions[key] = subscription
    return subscriptions, left


@dataclass
class _Writes:
    """The rows an import will write, gathered person by person."""

    mailing_lists: Sequence[MailingList]
    subscriptions: dict[tuple[int, int], Subscription]
    origin: Origin
    now: datetime.datetime
    to_create: list[Subscription] = field(default_factory=list)
    to_confirm: list[Subscription] = field(default_factory=list)
    records: list[ConsentRecord] = field(default_factory=list)
    names: list[Subscriber] = field(default_factory=list)

    def complete_lists(self, subscriber: Subscriber) -> bool:
        """Confirm the person on every chosen list; whether anything changed."""
        changed = False
        for mailing_list in self.mailing_lists:
            subscription = self.subscriptions.get((subscriber.pk, mailing_list.pk))
            if subscription is None:
                self.to_create.append(
                    Subscription(
                        subscriber=subscriber,
                        mailing_list=mailing_list,
                        status=SubscriptionStatus.CONFIRMED,
                        confirmed_at=self.now,
                    )
                )
            elif subscription.status == SubscriptionStatus.PENDING:
                subscription.status = SubscriptionStatus.CONFIRMED
                subscription.confirmed_at = self.now
                self.to_confirm.append(subscription)
            else:
                continue
            changed = True
            self.records.append(
                consent_record(
                    subscriber=subscriber,
                    action=ConsentAction.IMPORTED,
                    origin=self.origin,
                    mailing_list=mailing_list,
                )
            )
        return changed

    def complete_name(self, subscriber: Subscriber, name: str) -> bool:
        """Name someone who has no name yet; an import never renames anyone."""
        if not name or subscriber.name:
            return False
        subscriber.name = name
        self.names.append(subscriber)
        return True

    def save(self) -> None:
        # No ignore_conflicts: every subscriber is locked or new, so a conflict
        # would be a bug, and it must not leave a record of consent for a
        # subscription that was never written.
        Subscription.objects.bulk_create(self.to_create, batch_size=CHUNK)
        Subscription.objects.bulk_update(
            self.to_confirm, ["status", "confirmed_at"], batch_size=CHUNK
        )
        Subscriber.objects.bulk_update(self.names, ["name"], batch_size=CHUNK)
        ConsentRecord.objects.bulk_create(self.records, batch_size=CHUNK)


def _import_person(
    writes: _Writes,
    *,
    subscriber: Subscriber | None,
    name: str,
    is_new: bool,
    left: set[int],
) -> str:
    """Gather one person's writes; returns what happened to them."""
    if subscriber is None:
        # Taken by a sign-up and erased again before we could lock it.
        return SKIP_SUPPRESSED
    if subscriber.pk in left:
        # They left a list once; whatever staff were told, only they can come
        # back, and the form then asks them to confirm.
        return SKIP_UNSUBSCRIBED
    changed = writes.complete_lists(subscriber)
    if is_new:
        return _ADDED
    if writes.complete_name(subscriber, name) or changed:
        return _UPDATED
    return SKIP_ALREADY


def write(
    *,
    plan: ImportPlan,
    mailing_lists: Sequence[MailingList],
    consent_source: str,
) -> ImportResult:
    """Add the new people and confirm everyone on the chosen lists, in bulk.

    Someone who signed up since `resolve` looked is treated as existing.
    """
    result = ImportResult(skipped=Counter(plan.skipped))
    existing, created = _add_new_people(plan)
    subscriptions, left = _subscriptions_of(
        [subscriber.pk for subscriber in existing.values()],
        [mailing_list.pk for mailing_list in mailing_lists],
    )
    writes = _Writes(
        mailing_lists=mailing_lists,
        subscriptions=subscriptions,
        origin=Origin(source="import", detail=consent_source),
        now=timezone.now(),
    )
    for email in plan.allowed:
        result.count(
            _import_person(
                writes,
                subscriber=created.get(email) or existing.get(email),
                name=plan.wanted[email],
                is_new=email in created,
                left=left,
            )
        )
    writes.save()
    result.skipped = +result.skipped
    return result


def log_import(
    *,
    mailing_lists: Sequence[MailingList],
    consent_source: str,
    added: int,
    updated: int,
    skipped: Mapping[str, int],
    user=None,
) -> None:
    log(
        instance=mailing_lists[0],
        action="newsletter.import",
        user=user,
        data={
            "lists": [mailing_list.name for mailing_list in mailing_lists],
            "consent_source": consent_source,
            "added": added,
            "updated": updated,
            "skipped": dict(skipped),
        },
    )


def check_request(*, consent_source: str, mailing_lists: Sequence) -> str:
    consent_source = consent_source.strip()
    if not consent_source:
        raise ValidationError("Say where these people agreed to be mailed.")
    if not mailing_lists:
        raise ValidationError("Choose at least one list.")
    return consent_source


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
    consent_source = check_request(
        consent_source=consent_source, mailing_lists=mailing_lists
    )
    parsed = parse(rows=rows)
    with transaction.atomic():
        plan = resolve(parsed=parsed)
        result = write(
            plan=plan, mailing_lists=mailing_lists, consent_source=consent_source
        )
        log_import(
            mailing_lists=mailing_lists,
            consent_source=consent_source,
            added=result.added,
            updated=result.updated,
            skipped=result.skipped,
            user=user,
        )
    return result
