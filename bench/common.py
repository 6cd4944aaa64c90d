"""What the benchmarks share: a throwaway database, a free port, the site's settings."""

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# DATABASE_URL must name a throwaway database: the benchmarks empty it first.
RESET_SQL = "DROP SCHEMA public CASCADE; CREATE SCHEMA public"
RESET_POSTGRES = (
    "from django.db import connection\n"
    "with connection.cursor() as cursor:\n"
    f"    cursor.execute({RESET_SQL!r})"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(**overrides: str) -> dict[str, str]:
    """The production settings, with what a benchmark on 127.0.0.1 needs."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "bench-" + "k" * 50,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "STRIPE_SECRET_KEY": "sk_test_bench",
        "STRIPE_WEBHOOK_SECRET": "whsec_bench",
        "ANYMAIL_WEBHOOK_SECRET": "bench:secret",
        **overrides,
    }


def manage(env: dict[str, str], *command: str) -> None:
    """Run a manage.py command of the site under `env`."""
    subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True)


def prepare_database(env: dict[str, str]) -> None:
    """A fresh database with the demo content and the benchmarks' extra pages.

    DATABASE_URL must be a throwaway database, and the cache is emptied too.
    """
    print("Preparing a database with the demo content ...", flush=True)
    if env["DATABASE_URL"].startswith("postgres"):
        manage(env, "shell", "-c", RESET_POSTGRES)
    manage(env, "shell", "-c", "from django.core.cache import cache; cache.clear()")
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "load_demo")
    manage(
        env,
        "shell",
        "-c",
        "from bench.seed import seed_pages, seed_schedule; "
        "seed_pages(); seed_schedule()",
    )
    manage(env, "db_worker", "--batch", "--no-reload", "--no-startup-delay")
