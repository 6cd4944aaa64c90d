import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.settings.base import BASE_DIR, env_bool, env_list


def test_booleans_accept_the_usual_spellings(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG", False) is True
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", True) is False
    monkeypatch.delenv("FLAG")
    assert env_bool("FLAG", True) is True


def test_a_misspelt_boolean_is_refused_not_guessed(monkeypatch):
    monkeypatch.setenv("FLAG", "ture")
    with pytest.raises(ImproperlyConfigured, match="FLAG must be true or false"):
        env_bool("FLAG", False)


def test_lists_are_comma_separated(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example, b.example,")
    assert env_list("HOSTS") == ["a.example", "b.example"]


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"TASKS_BACKEND": "celery"}, "TASKS_BACKEND must be one of"),
        ({"CACHE_URL": "memcached://x"}, "CACHE_URL must be locmem://"),
        ({"EMAIL_PORT": "twenty-five"}, "EMAIL_PORT must be a whole number"),
    ],
)
def test_bad_settings_stop_start_up_with_a_clear_message(variables, message):
    result = subprocess.run(
        [sys.executable, "-c", "import config.settings.dev"],
        cwd=BASE_DIR,
        env={**os.environ, **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_anymail_settings_come_from_anymail_variables():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from config.settings import dev; print(sorted(dev.ANYMAIL.items()))",
        ],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "ANYMAIL_MAILGUN_API_KEY": "key-123",
            "ANYMAIL_WEBHOOK_SECRET": "user:pass",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "('MAILGUN_API_KEY', 'key-123')" in result.stdout
    assert "('WEBHOOK_SECRET', 'user:pass')" in result.stdout
