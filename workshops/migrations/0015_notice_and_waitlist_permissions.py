"""The Sales group sees the notice log and the waiting lists; Sales and Editors
set how long an offered seat is held. Both lists name people, so Editors never
see them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SALES = [
    ("workshops", "sessionnotice", "view_sessionnotice"),
    ("workshops", "waitlistentry", "view_waitlistentry"),
    ("workshops", "waitlistsettings", "change_waitlistsettings"),
]
EDITORS = [("workshops", "waitlistsettings", "change_waitlistsettings")]


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


def grant(apps, schema_editor):
    # Permissions are normally made after all migrations; these need them now.
    config = apps.get_app_config("workshops")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    for name, triples in (("Sales", SALES), ("Editors", EDITORS)):
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.add(*permissions(apps, triples))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, triples in (("Sales", SALES), ("Editors", EDITORS)):
        group = Group.objects.filter(name=name).first()
        if group is not None:
            group.permissions.remove(*permissions(apps, triples))


class Migration(migrations.Migration):
    dependencies = [("workshops", "0014_merge_20261202_0253")]

    operations = [migrations.RunPython(grant, revoke)]
