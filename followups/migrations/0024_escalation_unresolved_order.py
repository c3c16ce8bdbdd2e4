"""The unresolved escalations in the lists' order, built without locking writes."""

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("followups", "0023_dashboard_snapshot_of_the_network"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="escalation",
            index=models.Index(condition=models.Q(("status", "resolved"), _negated=True),
                               fields=["-level_rank", "created_at", "id"],
                               name="escalation_unresolved_order"),
        ),
    ]
