"""An uploaded CSV imported in the background, a chunk of addresses at a time.

`subscribers_import_start` keeps the file's rows on a `SubscriberImport` and
queues the task; `subscribers_import_continue` resolves and writes each chunk
in a transaction of its own with the count of addresses done, so a large file
never holds the database for long, the admin shows its progress, and a worker
that dies is followed by one that carries on where it stopped.
"""

from collections import Counter
from collections.abc import Mapping, Sequence

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from home.tasks import enqueue_on_commit

from .. import tasks
from ..models import ImportStatus, MailingList, SubscriberImport
from .imports import ParsedRows, check_request, log_import, parse, resolve, write


def subscribers_import_start(
    *,
    rows: Sequence[Mapping[str, str]],
    mailing_lists: Sequence[MailingList],
    consent_source: str,
    file_name: str = "",
    user=None,
) -> SubscriberImport:
    """Keep an uploaded file's rows and queue the task that imports them."""
    consent_source = check_request(
        consent_source=consent_source, mailing_lists=mailing_lists
    )
    with transaction.atomic():
        job = SubscriberImport.objects.create(
            created_by=user,
            file_name=file_name[:255],
            consent_source=consent_source,
            rows=[[row.get("email") or "", row.get("name") or ""] for row in rows],
            row_count=len(rows),
        )
        job.mailing_lists.set(mailing_lists)
        enqueue_on_commit(tasks.subscribers_import_run, job.pk)
    return job


def subscribers_import_continue(*, import_id: int, chunks: int | None = None) -> bool:
    """Import the next `chunks` chunks of a file (all, by default); True when done.

    Each chunk is resolved and written in a transaction of its own, with the
    count of addresses done, under the import's row lock: two workers never
    write one chunk, and a worker that dies leaves the next to carry on.
    """
    job = SubscriberImport.objects.filter(pk=import_id).first()
    if job is None or job.status in (ImportStatus.FINISHED, ImportStatus.FAILED):
        return True
    parsed = parse(rows=({"email": email, "name": name} for email, name in job.rows))
    emails = list(parsed.wanted)
    size = max(settings.NEWSLETTER_IMPORT_CHUNK, 1)
    while chunks is None or chunks > 0:
        if not _import_chunk(
            import_id=import_id, parsed=parsed, emails=emails, size=size
        ):
            break
        if chunks is not None:
            chunks -= 1
    return _import_finish(import_id=import_id, parsed=parsed)


def _import_chunk(
    *, import_id: int, parsed: ParsedRows, emails: list[str], size: int
) -> bool:
    """Write the next chunk of addresses; False when none is left."""
    with transaction.atomic():
        job = SubscriberImport.objects.select_for_update().get(pk=import_id)
        chunk = emails[job.done : job.done + size]
        if not chunk:
            return False
        plan = resolve(
            parsed=ParsedRows(
                wanted={email: parsed.wanted[email] for email in chunk},
                skipped=Counter(),
            )
        )
        result = write(
            plan=plan,
            mailing_lists=list(job.mailing_lists.all()),
            consent_source=job.consent_source,
        )
        job.status = ImportStatus.RUNNING
        job.total = len(emails)
        job.done += len(chunk)
        job.added += result.added
        job.updated += result.updated
        job.skipped = dict(Counter(job.skipped) + result.skipped)
        job.save()
    return True


def _import_finish(*, import_id: int, parsed: ParsedRows) -> bool:
    """Once every address is written: the file's own skips, the log, no rows kept."""
    with transaction.atomic():
        job = SubscriberImport.objects.select_for_update().get(pk=import_id)
        if job.status == ImportStatus.FINISHED:
            return True
        if job.done < len(parsed.wanted):
            return False
        job.skipped = dict(Counter(job.skipped) + parsed.skipped)
        job.status = ImportStatus.FINISHED
        job.total = len(parsed.wanted)
        job.finished_at = timezone.now()
        job.rows = []
        job.save()
        mailing_lists = list(job.mailing_lists.all())
        if mailing_lists:
            log_import(
                mailing_lists=mailing_lists,
                consent_source=job.consent_source,
                added=job.added,
                updated=job.updated,
                skipped=job.skipped,
                user=job.created_by,
            )
    return True


def subscribers_import_fail(*, import_id: int, error: str) -> None:
    """Stop an import that raised, keeping what it wrote and saying why.

    Its rows stay, so staff can resume it once the cause is gone, or discard it.
    """
    SubscriberImport.objects.filter(pk=import_id).exclude(
        status=ImportStatus.FINISHED
    ).update(status=ImportStatus.FAILED, error=error[:2000])


def subscribers_import_resume(*, import_id: int) -> bool:
    """Queue again an import that failed or lost its worker; it carries on."""
    with transaction.atomic():
        job = SubscriberImport.objects.select_for_update().filter(pk=import_id).first()
        if job is None or not job.is_stalled(now=timezone.now()):
            return False
        job.status = ImportStatus.QUEUED
        job.error = ""
        job.save()
        enqueue_on_commit(tasks.subscribers_import_run, job.pk)
    return True


def subscribers_import_discard(*, import_id: int) -> bool:
    """Give up an unfinished import: what it wrote stays, its rows are dropped."""
    with transaction.atomic():
        job = SubscriberImport.objects.select_for_update().filter(pk=import_id).first()
        if job is None or job.status == ImportStatus.FINISHED or not job.rows:
            return False
        job.status = ImportStatus.FAILED
        job.error = job.error or "Discarded by staff before it finished."
        job.rows = []
        job.save()
    return True
