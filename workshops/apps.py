from django.apps import AppConfig


class WorkshopsConfig(AppConfig):
    name = "workshops"
    verbose_name = "Workshops"

    def ready(self):
        # Importing the module registers its system checks; Django's app loading
        # wants that done once the registry is ready, as here.
        from . import checks  # noqa: F401
