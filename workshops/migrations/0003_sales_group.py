"""The Sales group sees orders and attendees; Editors manage ticket types only."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SALES = [
    ("wagtailadmin", "admin", "access_admin"),
    ("workshops", "order", "view_order"),
    ("workshops", "ticket", "view_ticket"),
    ("workshops", "ticket", "change_ticket"),
    ("workshops", "tickettype", "view_tickettype"),
]
EDITORS = [
    ("workshops", "tickettype", codename)
    for codename in (
        "add_tickettype",
        "change_tickettype",
        "delete_tickettype",
        "view_tickettype",
    )
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
    for app_label in ("wagtailadmin", "workshops"):
        config = apps.get_app_config(app_label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    sales, _ = Group.objects.get_or_create(name="Sales")
    sales.permissions.add(*permissions(apps, SALES))
    editors = Group.objects.filter(name="Editors").first()
    if editors is not None:
        editors.permissions.add(*permissions(apps, EDITORS))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Sales").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("workshops", "0002_ticket_types_orders_tickets"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
        ("wagtailcore", "0002_initial_data"),  # creates the Editors group
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
