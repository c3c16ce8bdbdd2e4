"""The unresolved escalations by planned call-back, built without locking writes."""

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("followups", "0024_escalation_unresolved_order"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="escalation",
            index=models.Index(
                condition=models.Q(models.Q(("status", "resolved"), _negated=True),
                                   ("next_attempt_at__isnull", False)),
                fields=["next_attempt_at"], name="escalation_callback_planned"),
        ),
    ]
