"""Each check-in, answer and escalation names its clinic, so a clinic's lists start from it.

Nullable columns: adding them rewrites no table and takes its lock for an
instant. Filled for the existing rows by the next migration, in batches;
indexed by the one after, concurrently.
"""

import django.db.models.deletion
from django.db import migrations, models


def _clinic():
    return models.ForeignKey(blank=True, db_index=False, null=True,
                             on_delete=django.db.models.deletion.PROTECT, related_name="+",
                             to="patients.clinic")


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0015_escalation_assignment_indexes_concurrently"),
        ("patients", "0011_patient_ordering_and_name_search_indexes"),
    ]

    operations = [
        migrations.AddField(model_name="checkin", name="clinic", field=_clinic()),
        migrations.AddField(model_name="checkinresponse", name="clinic", field=_clinic()),
        migrations.AddField(model_name="escalation", name="clinic", field=_clinic()),
    ]
