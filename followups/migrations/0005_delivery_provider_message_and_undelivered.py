from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("followups", "0004_escalation_clusters_checked_by_the_sweep"),
    ]

    operations = [
        migrations.AddField(
            model_name="checkin",
            name="provider_message_id",
            field=models.CharField(blank=True, default="", editable=False, max_length=200),
        ),
        migrations.AddIndex(
            model_name="checkin",
            index=models.Index(condition=models.Q(("provider_message_id", ""), _negated=True),
                               fields=["provider_message_id"], name="checkin_provider_message"),
        ),
        migrations.AlterField(
            model_name="escalation",
            name="trigger",
            field=models.CharField(choices=[("response", "Answers"), ("no_response", "No response"),
                                            ("undelivered", "Could not reach")],
                                   max_length=12),
        ),
    ]
