from django.apps import AppConfig


class HomeConfig(AppConfig):
    name = "home"
    verbose_name = "Site and pages"

    def ready(self):
        from . import checks  # noqa: F401
