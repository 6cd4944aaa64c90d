from django.apps import AppConfig


class HomeConfig(AppConfig):
    name = "home"
    verbose_name = "Site and pages"

    def ready(self):
        # Checks and receivers register themselves once the apps are loaded.
        from . import checks, receivers  # noqa: F401

        receivers.connect()
