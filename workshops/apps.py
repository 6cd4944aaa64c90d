from django.apps import AppConfig


class WorkshopsConfig(AppConfig):
    name = "workshops"
    verbose_name = "Workshops"

    def ready(self):
        # Importing the modules registers their system checks and signal
        # receivers; Django's app loading wants that done once the registry is
        # ready, as here.
        from . import checks, receivers  # noqa: F401
