"""Editors may send themselves a test; the Newsletter senders group sends to lists."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SENDERS = [
    ("wagtailadmin", "admin", "access_admin"),
    ("newsletter", "newsletterissuepage", "send_issue"),
    ("newsletter", "newsletterissuepage", "send_test_issue"),
    ("newsletter", "issuesend", "view_issuesend"),
    ("newsletter", "mailinglist", "view_mailinglist"),
]
EDITORS = [
    ("newsletter", "newsletterissuepage", "send_test_issue"),
    ("newsletter", "issuesend", "view_issuesend"),
]


def permissions(apps, triples):
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.get(
            content_type__app_label=app_label,
            content_type__model=model,
            codename=codename,
        )
        for app_label, model, codename in triples
    ]


def create_groups(apps, schema_editor):
    # Permissions are normally made after all migrations; these need them now.
    for app_label in ("wagtailadmin", "newsletter"):
        config = apps.get_app_config(app_label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    senders, _ = Group.objects.get_or_create(name="Newsletter senders")
    senders.permissions.add(*permissions(apps, SENDERS))
    editors = Group.objects.filter(name="Editors").first()
    if editors is not None:
        editors.permissions.add(*permissions(apps, EDITORS))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Newsletter senders").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0002_issues_and_sending"),
        ("wagtailadmin", "0003_admin_managed"),
        ("wagtailcore", "0002_initial_data"),  # creates the Editors group
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
