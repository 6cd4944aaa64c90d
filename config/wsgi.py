import os

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()


def refuse_configuration_errors() -> None:
    """Raise on the errors `manage.py check` reports, which gunicorn never runs."""
    errors = [
        message
        for message in checks.run_checks()
        if message.is_serious() and not message.is_silenced()
    ]
    if errors:
        raise ImproperlyConfigured(
            "The site is misconfigured:\n" + "\n".join(str(error) for error in errors)
        )


# runserver runs the checks itself, and a local run may lack what production
# needs; a production process must not serve with, say, a claim lease that
# lets two workers send the same batch (newsletter.E004).
if not settings.DEBUG:
    refuse_configuration_errors()
