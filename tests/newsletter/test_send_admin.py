"""Staff send an issue: permissions, the recipient count, progress and controls."""

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django_tasks_db.models import DBTaskResult
from wagtail.models import GroupPagePermission

from newsletter import services
from newsletter.models import IssueSend, SendStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def make_staff(client, django_user_model, home_page):
    """A member of staff in the given groups, signed in; editors may edit pages."""

    def make(*groups: str, email: str = "staff@example.com"):
        user = django_user_model.objects.create_user(
            "staff", email, "password", first_name="Sam"
        )
        for name in groups:
            group = Group.objects.get(name=name)
            user.groups.add(group)
            if name == "Editors":
                GroupPagePermission.objects.get_or_create(
                    group=group,
                    page=home_page,
                    permission=Permission.objects.get(codename="change_page"),
                )
        client.force_login(user)
        return user

    return make


def test_editors_may_test_but_not_send(client, make_staff, issue):
    make_staff("Editors")

    edit = client.get(f"/admin/pages/{issue.pk}/edit/")
    assert edit.status_code == 200
    assert "Save draft and send a test to me" in edit.text
    assert "Send to a list" not in edit.text
    # Wagtail answers a refused admin view with a redirect and a message.
    denied = client.get(f"/admin/newsletter/sends/new/{issue.pk}/")
    assert (denied.status_code, denied.url) == (302, "/admin/")


def test_newsletter_senders_may_send_but_not_edit(client, make_staff, issue):
    make_staff("Newsletter senders")

    assert client.get(f"/admin/newsletter/sends/new/{issue.pk}/").status_code == 200
    assert client.get("/admin/newsletter/sends/").status_code == 200
    assert client.get(f"/admin/pages/{issue.pk}/edit/").status_code in (302, 403)


def test_the_send_test_button_saves_and_mails_the_editor(
    client, make_staff, issue, drain, django_capture_on_commit_callbacks
):
    make_staff("Editors", email="sam@example.com")
    data = {
        "title": "The first hour, revised",
        "slug": issue.slug,
        "issue_date": "2026-03-01",
        "email_subject": "",
        "preheader": "",
        "introduction": "Revised.",
        "body-count": "0",
        "action-newsletter-test": "1",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/pages/{issue.pk}/edit/", data, follow=True)
    assert "on its way to sam@example.com" in response.text
    drain()

    (message,) = mail.outbox
    assert message.to == ["sam@example.com"]
    assert message.subject == "[Test] The first hour, revised"
    issue.refresh_from_db()
    assert issue.title == "The first hour"  # saved as a draft, not published


def test_choose_a_list_see_the_count_confirm_and_watch_it_finish(
    client,
    make_staff,
    issue,
    make_readers,
    deep_dives,
    drain,
    django_capture_on_commit_callbacks,
    settings,
):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    make_staff("Newsletter senders")
    make_readers("a@example.com", "b@example.com", "c@example.com")
    url = f"/admin/newsletter/sends/new/{issue.pk}/"

    form = client.get(url)
    assert "Diversity Deep Dives (3 recipients)" in form.text

    choice = {"mailing_list": deep_dives.pk, "when": "now"}
    confirm = client.post(url, choice)
    assert 'data-recipient-count="3"' in confirm.text
    assert not IssueSend.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {**choice, "confirmed": "True"})
    send = IssueSend.objects.get()
    assert response.url == f"/admin/newsletter/sends/{send.pk}/"
    drain()

    send.refresh_from_db()
    assert send.status == SendStatus.FINISHED
    assert sum(len(message.to) for message in mail.outbox) == 3
    progress = client.get(f"/admin/newsletter/sends/{send.pk}/progress/").json()
    assert progress["status"] == "finished"
    assert progress["figures"]["sent"] == 3
    assert progress["figures"]["percent"] == 100
    detail = client.get(f"/admin/newsletter/sends/{send.pk}/")
    assert 'value="100"' in detail.text
    frozen = client.get(f"/admin/newsletter/sends/{send.pk}/email/")
    assert "Hello Sam," in frozen.text and "%recipient." not in frozen.text


def test_a_scheduled_send_is_deferred_to_its_time(
    client,
    make_staff,
    issue,
    make_readers,
    deep_dives,
    django_capture_on_commit_callbacks,
):
    make_staff("Newsletter senders")
    make_readers("a@example.com")
    data = {
        "mailing_list": deep_dives.pk,
        "when": "later",
        "scheduled_at": "2099-01-01 09:00",
        "confirmed": "True",
    }
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/newsletter/sends/new/{issue.pk}/", data)

    send = IssueSend.objects.get()
    assert send.status == SendStatus.SCHEDULED
    if settings_backend() == "django_tasks_db.DatabaseBackend":
        task = DBTaskResult.objects.get(task_path__endswith="issue_send_start")
        assert task.run_after == send.scheduled_at


def settings_backend() -> str:
    return django_settings.TASKS["default"]["BACKEND"]


def test_pause_resume_and_cancel_from_the_admin(
    client, make_staff, issue, make_readers, deep_dives
):
    make_staff("Newsletter senders")
    make_readers("a@example.com")
    send = services.issue_send_create(issue=issue, mailing_list=deep_dives)
    services.issue_send_start(send_id=send.pk)
    base = f"/admin/newsletter/sends/{send.pk}/"

    client.post(base + "pause/")
    send.refresh_from_db()
    assert send.status == SendStatus.PAUSED
    assert "Resume" in client.get(base).text

    client.post(base + "resume/")
    send.refresh_from_db()
    assert send.status == SendStatus.SENDING

    client.post(base + "cancel/")
    send.refresh_from_db()
    assert send.status == SendStatus.CANCELLED
    assert send.deliveries.get().state == "skipped"


def test_editors_cannot_pause_a_send(client, make_staff, issue, deep_dives):
    make_staff("Editors")
    send = services.issue_send_create(issue=issue, mailing_list=deep_dives)
    assert client.get(f"/admin/newsletter/sends/{send.pk}/").status_code == 200
    denied = client.post(f"/admin/newsletter/sends/{send.pk}/pause/")
    assert (denied.status_code, denied.url) == (302, "/admin/")
    send.refresh_from_db()
    assert send.status == SendStatus.SCHEDULED


def test_the_issue_editor_offers_sending_to_those_who_may(
    client, django_user_model, issue
):
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)

    edit = client.get(f"/admin/pages/{issue.pk}/edit/")

    assert f"/admin/newsletter/sends/new/{issue.pk}/" in edit.text
    assert "Save draft and send a test to me" in edit.text
