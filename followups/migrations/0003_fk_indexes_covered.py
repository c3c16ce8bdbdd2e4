"""Drop foreign keys' own indexes that a unique index already starts with.

(session, day) serves a session's check-ins; (checkin, trigger) a
check-in's escalations. Only the indexes go. Django's AlterField would also drop and re-add the
foreign key, which re-checks every row of the table under a lock.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('followups', '0002_checkin_names_and_list_indexes'),
        ('patients', '0004_fk_indexes_covered'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='checkin',
                    name='session',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='checkins', to='patients.treatmentsession'),
                ),
                migrations.AlterField(
                    model_name='escalation',
                    name='checkin',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='escalations', to='followups.checkin'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "followups_checkin_session_id_5819609c"',
                    reverse_sql='CREATE INDEX "followups_checkin_session_id_5819609c" ON "followups_checkin" ("session_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "followups_escalation_checkin_id_87f22dec"',
                    reverse_sql='CREATE INDEX "followups_escalation_checkin_id_87f22dec" ON "followups_escalation" ("checkin_id")',
                ),
            ],
        ),
    ]
