"""Indexes for a clinic's lists and a patient's open escalation, built concurrently."""

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("followups", "0017_clinic_on_checkins_answers_escalations_backfill"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="checkin",
            index=models.Index(fields=["clinic", "due_at", "id"], name="checkin_clinic_due"),
        ),
        AddIndexConcurrently(
            model_name="checkinresponse",
            index=models.Index(fields=["clinic", "submitted_at"],
                               name="response_clinic_submitted"),
        ),
        AddIndexConcurrently(
            model_name="escalation",
            index=models.Index(fields=["clinic", "status", "-level_rank", "created_at"],
                               name="escalation_clinic_queue"),
        ),
        AddIndexConcurrently(
            model_name="escalation",
            index=models.Index(fields=["-level_rank", "created_at", "id"],
                               name="escalation_ordering"),
        ),
        AddIndexConcurrently(
            model_name="escalation",
            index=models.Index(condition=models.Q(("status", "resolved"), _negated=True),
                               fields=["patient", "-level_rank"],
                               name="escalation_patient_open"),
        ),
    ]
