from django.apps import AppConfig


class NewsletterConfig(AppConfig):
    name = "newsletter"
    verbose_name = "Newsletter"

    def ready(self):
        # Importing registers the signal receivers and the system checks.
        from . import checks, receivers  # noqa: F401
