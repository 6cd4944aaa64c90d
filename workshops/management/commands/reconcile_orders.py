from django.core.management.base import BaseCommand

from workshops.services import orders_reconcile, refunds_retry


class Command(BaseCommand):
    help = (
        "Settle orders whose Stripe webhook never arrived: close lapsed Checkout "
        "Sessions and free their seats, look up payments still processing, and "
        "send refunds still pending. "
        "Run it every 15 minutes (cron, Heroku Scheduler); it is safe to run twice."
    )

    def handle(self, *args, **options):
        counts = orders_reconcile()
        self.stdout.write(
            f"{counts['checked']} orders checked, {counts['changed']} changed, "
            f"{counts['unreachable']} left for next time (Stripe unreachable)."
        )
        refunds = refunds_retry()
        self.stdout.write(
            f"Refunds: {refunds['succeeded']} sent, {refunds['failed']} refused, "
            f"{refunds['pending']} still pending (Stripe unreachable)."
        )
