from importlib import import_module
from importlib.util import find_spec

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from home.models import HomePage

# From the ground floor up: each app's demo may point at what the one below made.
DEMO_APPS = ("home", "testimonials", "workshops", "newsletter", "inquiries")
DEMO_ADMIN = {"username": "admin", "password": "admin", "email": "admin@example.com"}


class Command(BaseCommand):
    help = (
        "Load the demo content of the fictional training company. Safe to run "
        "again: it creates what is missing and changes nothing that exists."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the site already has a home page.",
        )

    def handle(self, *args, if_empty: bool = False, **options):
        if if_empty and HomePage.objects.exists():
            self.stdout.write("The site has content already; demo content not loaded.")
        else:
            with transaction.atomic():
                for app in DEMO_APPS:
                    if find_spec(f"{app}.demo"):
                        import_module(f"{app}.demo").load(stdout=self.stdout)
            self.stdout.write(self.style.SUCCESS("Demo content is in place."))
        if settings.DEBUG:
            self._ensure_demo_admin()

    def _ensure_demo_admin(self) -> None:
        User = get_user_model()
        user = User.objects.filter(username=DEMO_ADMIN["username"]).first()
        if user is None:
            User.objects.create_superuser(**DEMO_ADMIN)
        elif not user.check_password(DEMO_ADMIN["password"]):
            return
        self.stdout.write(
            f"Sign in to {settings.BASE_URL}/admin/ as "
            f"{DEMO_ADMIN['username']!r} with password {DEMO_ADMIN['password']!r}."
        )
