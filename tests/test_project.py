"""Project-wide rules: migrations are complete, every page model has a factory."""

import io
import pkgutil
from importlib import import_module

import factory
import pytest
from django.core.management import call_command
from wagtail.models import Page, get_page_models

import tests


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", stdout=io.StringIO())


def test_every_page_model_has_a_factory():
    factories = set()
    for module in pkgutil.walk_packages(tests.__path__, "tests."):
        if module.name.endswith(".factories"):
            for value in vars(import_module(module.name)).values():
                if isinstance(value, type) and issubclass(value, factory.Factory):
                    factories.add(value._meta.model)
    ours = {model for model in get_page_models() if model is not Page}
    assert ours - factories == set()
