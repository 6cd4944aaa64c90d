"""The Sales group sees invoice requests and seat codes and acts on them; nobody
else does: they name buyers and carry their addresses."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SALES = [
    ("invoicerequest", "view_invoicerequest"),
    ("invoicerequest", "change_invoicerequest"),
    ("seatcode", "view_seatcode"),
    ("seatcode", "change_seatcode"),
]


def permissions(apps):
    Permission = apps.get_model("auth", "Permission")
    return [
        Permission.objects.get(
            content_type__app_label="workshops",
            content_type__model=model,
            codename=codename,
        )
        for model, codename in SALES
    ]


def grant(apps, schema_editor):
    # Permissions are normally made after all migrations; these need them now.
    config = apps.get_app_config("workshops")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    group = apps.get_model("auth", "Group").objects.filter(name="Sales").first()
    if group is not None:
        group.permissions.add(*permissions(apps))


def revoke(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name="Sales").first()
    if group is not None:
        group.permissions.remove(*permissions(apps))


class Migration(migrations.Migration):
    dependencies = [("workshops", "0012_group_orders_invoices_seat_codes")]

    operations = [migrations.RunPython(grant, revoke)]
