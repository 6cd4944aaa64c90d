import newsletter.models.subscriptions
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("newsletter", "0004_deliveries_unique_only_while_holding_a_copy"),
    ]

    operations = [
        # People already subscribed keep an empty key, so the links in mail
        # they already have keep working; everyone new gets a key of their own.
        migrations.AddField(
            model_name="subscriber",
            name="link_key",
            field=models.CharField(
                blank=True,
                default="",
                editable=False,
                help_text="Part of every personal link; changing it revokes them all.",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="subscriber",
            name="link_key",
            field=models.CharField(
                blank=True,
                default=newsletter.models.subscriptions.new_link_key,
                editable=False,
                help_text="Part of every personal link; changing it revokes them all.",
                max_length=16,
            ),
        ),
    ]
