from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

WORKERS = {
    "django_tasks_db.DatabaseBackend": ("db_worker", {}),
    "django_tasks_rq.RQBackend": (
        "rqworker",
        {"job_class": "django_tasks_rq.Job", "with_scheduler": True},
    ),
}


class Command(BaseCommand):
    help = (
        "Run the background worker of the configured task backend "
        "(TASKS_BACKEND): db_worker for 'database', rqworker for 'rq'."
    )

    def handle(self, *args, **options):
        backend = settings.TASKS["default"]["BACKEND"]
        if backend not in WORKERS:
            raise CommandError(f"{backend} runs tasks itself; it needs no worker.")
        command, worker_options = WORKERS[backend]
        queues = settings.TASKS["default"].get("QUEUES", ["default"])
        positional = queues if command == "rqworker" else []
        call_command(command, *positional, **worker_options)
