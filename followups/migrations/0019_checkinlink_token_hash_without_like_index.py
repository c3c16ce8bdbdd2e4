"""The link's token hash: unique by a constraint, without the redundant ``_like`` index.

The new unique index is built concurrently and then attached as the
constraint (django-pg-zero-downtime-migrations does both), before the old
unique constraint and its ``_like`` index are dropped: the hash is unique
throughout.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("followups", "0018_clinic_and_open_level_indexes"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="checkinlink",
            constraint=models.UniqueConstraint(fields=["token_hash"],
                                               name="checkinlink_token_hash_unique"),
        ),
        migrations.AlterField(
            model_name="checkinlink",
            name="token_hash",
            field=models.CharField(max_length=64),
        ),
    ]
