from unittest import mock

import pytest
from django.core.management import CommandError, call_command


def test_run_worker_starts_the_database_worker(settings):
    settings.TASKS = {"default": settings.TASK_BACKENDS["database"]}
    with mock.patch("home.management.commands.run_worker.call_command") as call:
        call_command("run_worker")
    call.assert_called_once_with("db_worker")


def test_run_worker_starts_an_rq_worker_with_the_tasks_job_class(settings):
    settings.TASKS = {"default": settings.TASK_BACKENDS["rq"]}
    with mock.patch("home.management.commands.run_worker.call_command") as call:
        call_command("run_worker")
    call.assert_called_once_with(
        "rqworker", "default", job_class="django_tasks_rq.Job", with_scheduler=True
    )


def test_run_worker_explains_that_the_immediate_backend_needs_none(settings):
    settings.TASKS = {"default": settings.TASK_BACKENDS["immediate"]}
    with pytest.raises(CommandError, match="needs no worker"):
        call_command("run_worker")
