"""The provider's message id lives on each delivery record now (0009 moved it there)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("followups", "0009_deliveries_of_checkins_sent"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="checkin",
            name="checkin_provider_message",
        ),
        migrations.RemoveField(
            model_name="checkin",
            name="provider_message_id",
        ),
    ]
