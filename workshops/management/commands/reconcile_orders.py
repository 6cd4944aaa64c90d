from django.core.management.base import BaseCommand

from workshops.services import orders_reconcile


class Command(BaseCommand):
    help = (
        "Settle orders whose Stripe webhook never arrived: close lapsed Checkout "
        "Sessions and free their seats, and look up payments still processing. "
        "Run it every 15 minutes (cron, Heroku Scheduler); it is safe to run twice."
    )

    def handle(self, *args, **options):
        counts = orders_reconcile()
        self.stdout.write(
            f"{counts['checked']} orders checked, {counts['changed']} changed, "
            f"{counts['unreachable']} left for next time (Stripe unreachable)."
        )
