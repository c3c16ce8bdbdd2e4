"""The escalation table's indexes for "Mine" and for due call-backs, built without locking writes."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class AddIndexConcurrentlyOnPostgres(AddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL; a plain index on the embedded SQLite."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(self, app_label, schema_editor,
                                                     from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(self, app_label, schema_editor,
                                                      from_state, to_state)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("followups", "0014_contact_attempts_and_assignment"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name='escalation',
            index=models.Index(fields=['assigned_to'], name='escalation_assigned'),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name='escalation',
            index=models.Index(condition=models.Q(('attempt_reminded_at__isnull', True), ('next_attempt_at__isnull', False)), fields=['next_attempt_at'], name='escalation_attempt_due'),
        ),
    ]
