"""The Sales group sees and annotates inquiries; nobody else but superusers."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SALES = [
    ("inquiries", "grouptrainingrequest", "view_grouptrainingrequest"),
    ("inquiries", "grouptrainingrequest", "change_grouptrainingrequest"),
    ("inquiries", "contactmessage", "view_contactmessage"),
    ("inquiries", "contactmessage", "change_contactmessage"),
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


def give_sales_inquiries(apps, schema_editor):
    # Permissions are normally made after all migrations; these need them now.
    config = apps.get_app_config("inquiries")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    # workshops' migration 0003 makes the group too, and gives it the admin:
    # whichever runs first creates it.
    sales, _ = apps.get_model("auth", "Group").objects.get_or_create(name="Sales")
    sales.permissions.add(*permissions(apps, SALES))


def take_them_back(apps, schema_editor):
    sales = apps.get_model("auth", "Group").objects.filter(name="Sales").first()
    if sales is not None:
        sales.permissions.remove(*permissions(apps, SALES))


class Migration(migrations.Migration):
    dependencies = [
        ("inquiries", "0001_initial"),
    ]

    operations = [migrations.RunPython(give_sales_inquiries, take_them_back)]
