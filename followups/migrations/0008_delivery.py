"""A delivery record per message sent for a check-in, by channel (followups.models.Delivery)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("followups", "0007_comment_waiting"),
    ]

    operations = [
        migrations.CreateModel(
            name="Delivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("channel", models.CharField(max_length=20)),
                ("kind", models.CharField(choices=[("invitation", "Invitation"),
                                                   ("reminder", "Reminder")], max_length=10)),
                ("send_generation", models.PositiveSmallIntegerField()),
                ("status", models.CharField(choices=[("queued", "Queued"), ("sent", "Sent"),
                                                     ("delivered", "Delivered"),
                                                     ("failed", "Failed")], max_length=10)),
                ("at", models.DateTimeField()),
                ("error", models.CharField(blank=True, max_length=300)),
                ("provider_message_id", models.CharField(blank=True, default="",
                                                         max_length=200)),
                ("checkin", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                              related_name="deliveries",
                                              to="followups.checkin")),
            ],
            options={
                "verbose_name_plural": "deliveries",
                "ordering": ["at", "id"],
            },
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(condition=models.Q(("provider_message_id", ""), _negated=True),
                               fields=["provider_message_id"], name="delivery_provider_message"),
        ),
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["queued", "sent", "delivered", "failed"])),
                name="delivery_status_valid"),
        ),
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.CheckConstraint(
                condition=models.Q(("kind__in", ["invitation", "reminder"])),
                name="delivery_kind_valid"),
        ),
    ]
