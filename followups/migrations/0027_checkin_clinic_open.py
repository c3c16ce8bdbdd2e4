"""A clinic's open check-ins (sent or failed), for its dashboard, built without locking writes."""

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("followups", "0026_checkin_due_order"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="checkin",
            index=models.Index(condition=models.Q(("status__in", ["sent", "failed"])),
                               fields=["clinic", "due_at"], name="checkin_clinic_open"),
        ),
    ]
