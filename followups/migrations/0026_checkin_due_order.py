"""The check-ins' list order as one index (due time, then id), built and swapped without
locking writes."""

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently, RemoveIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("followups", "0025_escalation_callback_planned"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="checkin",
            index=models.Index(fields=["due_at", "id"], name="checkin_due_order"),
        ),
        RemoveIndexConcurrently(model_name="checkin", name="checkin_due"),
    ]
