"""Background work goes through django_tasks with either backend."""

import django_rq
import pytest
import redis
from django.conf import settings as django_settings
from django_tasks import TaskResultStatus, default_task_backend
from wagtail.models import ReferenceIndex
from wagtail.tasks import update_reference_index_task

from tests.home.factories import ContentPageFactory


def redis_is_reachable() -> bool:
    try:
        return redis.Redis.from_url(django_settings.REDIS_URL).ping()
    except redis.ConnectionError:
        return False


@pytest.fixture(params=["database", "rq"])
def backend(request, settings):
    if request.param == "rq" and not redis_is_reachable():
        pytest.skip(f"Redis is not reachable at {settings.REDIS_URL}")
    settings.TASKS = {"default": settings.TASK_BACKENDS[request.param]}
    if request.param == "rq":
        django_rq.get_queue("default").empty()
    return request.param


def test_a_task_is_queued_then_run_by_the_worker(backend, home_page, run_tasks):
    """Wagtail's own reference-index task: what makes 'usage' counts in the admin."""
    linked = ContentPageFactory(parent=home_page, title="Linked")
    page = ContentPageFactory(
        parent=home_page,
        body=[("call_to_action", {"text": "Go", "page": linked, "url": ""})],
    )
    ReferenceIndex.objects.all().delete()

    result = update_reference_index_task.enqueue("home", "contentpage", str(page.pk))
    assert result.status == TaskResultStatus.READY
    assert not ReferenceIndex.get_references_to(linked).exists()

    run_tasks()

    assert default_task_backend.get_result(result.id).status == (
        TaskResultStatus.SUCCESSFUL
    )
    assert ReferenceIndex.get_references_to(linked).filter(object_id=str(page.pk))
