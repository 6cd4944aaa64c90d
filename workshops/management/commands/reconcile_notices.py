from django.core.management.base import BaseCommand

from workshops.services import notices_reconcile, waitlists_reconcile


class Command(BaseCommand):
    help = (
        "Send date-change notices a lost task left queued, and offer freed seats "
        "to waiting lists (lapsed offers pass on). Run it every 15 minutes beside "
        "reconcile_orders; it is safe to run twice."
    )

    def handle(self, *args, **options):
        sent = notices_reconcile()
        self.stdout.write(f"{sent} date-change notices sent.")
        counts = waitlists_reconcile()
        self.stdout.write(
            f"Waiting lists: {counts['sessions']} sessions checked, "
            f"{counts['offers']} seats offered."
        )
