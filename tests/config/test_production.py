"""The production settings: refuse to start half-configured, pass check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def manage(*args, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


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


def test_production_refuses_demo_checkout(production_env):
    del production_env["STRIPE_SECRET_KEY"]
    result = manage("check", env=production_env)
    assert result.returncode != 0
    assert "workshops.E001" in result.stderr


def test_production_refuses_unauthenticated_tracking_webhooks(production_env):
    del production_env["ANYMAIL_WEBHOOK_SECRET"]
    result = manage("check", env=production_env)
    assert result.returncode != 0
    assert "home.E001" in result.stderr


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
