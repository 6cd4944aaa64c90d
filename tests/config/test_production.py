"""The production settings: refuse to start half-configured, pass check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_python(*args, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_"))
    }
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def manage(*args, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run_python("manage.py", *args, env=env)


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    return {
        "SECRET_KEY": "x7!Lq2@v9#Rk4$Wm8^Zp3&Tn6*Yb1(Hc5)Gf0_Jd-Se=Ua+Ox?Ni",
        "ALLOWED_HOSTS": "tidewell.example",
        "BASE_URL": "https://tidewell.example",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DEFAULT_FROM_EMAIL": "Tidewell <hello@tidewell.example>",
        "STATIC_ROOT": str(tmp_path / "static"),
        "STRIPE_SECRET_KEY": "sk_live_example",
        "STRIPE_WEBHOOK_SECRET": "whsec_example",
        "ANYMAIL_WEBHOOK_SECRET": "tracking:example-secret",
        "TRUSTED_PROXY_COUNT": "1",
    }


def test_production_refuses_to_start_without_its_variables(production_env):
    del production_env["SECRET_KEY"], production_env["BASE_URL"]
    result = manage("check", env=production_env)
    assert result.returncode != 0
    assert "Set these environment variables for production: SECRET_KEY, BASE_URL" in (
        result.stderr
    )


def test_production_refuses_debug(production_env):
    result = manage("check", env={**production_env, "DEBUG": "true"})
    assert result.returncode != 0
    assert "DEBUG must be off in production" in result.stderr


def start_web_process(env: dict[str, str]) -> subprocess.CompletedProcess:
    """Load the WSGI application as gunicorn does, which runs no system checks."""
    return run_python("-c", "import config.wsgi", env=env)


@pytest.mark.parametrize(
    ("variable", "reason"),
    [
        ("STRIPE_SECRET_KEY", "checkout runs in demo mode"),
        ("STRIPE_WEBHOOK_SECRET", "webhooks cannot be verified"),
        ("ANYMAIL_WEBHOOK_SECRET", "a forged complaint unsubscribes"),
    ],
)
def test_the_web_process_refuses_to_start_without_a_secret(
    production_env, variable, reason
):
    del production_env[variable]
    result = start_web_process(production_env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"Set these environment variables for production: {variable}" in (
        result.stderr
    )
    assert reason in result.stderr


def test_the_web_process_refuses_to_start_with_a_configuration_error(
    production_env,
):
    # A lease shorter than a batch's run lets a second worker send it again.
    result = start_web_process({**production_env, "NEWSLETTER_CLAIM_LEASE": "10"})
    assert result.returncode != 0
    assert "newsletter.E004" in result.stderr


def test_the_web_process_starts_when_configured(production_env):
    result = start_web_process(production_env)
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean(production_env):
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_static_files_are_compressed_with_hashed_names(production_env, tmp_path):
    result = manage("collectstatic", "--noinput", env=production_env)
    assert result.returncode == 0, result.stderr
    static = tmp_path / "static" / "css"
    hashed = [p.name for p in static.glob("site.*.css")]
    assert len(hashed) == 1, hashed
    assert (static / f"{hashed[0]}.gz").exists()
