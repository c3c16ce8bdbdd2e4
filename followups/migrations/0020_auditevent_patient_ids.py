"""The patients an API read returned, in the one audit row of the request (nullable: no rewrite)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0019_checkinlink_token_hash_without_like_index"),
    ]

    operations = [
        migrations.AddField(model_name="auditevent", name="patient_ids",
                            field=models.JSONField(blank=True, null=True)),
    ]
